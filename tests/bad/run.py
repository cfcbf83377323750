#!/usr/bin/python3
"""Bad-input tests of h5batch: every case must fail cleanly.

Each directory under cases/ is one case: an optional job.ini and an `expect`
file of "key: value" lines:
  exit:        accepted exit code(s), space separated
  message:     text that must appear in the error line (case-insensitive;
               repeatable, all must appear)
  message-re:  regular expression that must match it (case-insensitive)
  args:        extra command-line arguments, before the job file
  jobfile:     job file path to pass instead of the case's job.ini (empty:
               none at all)
  output:      the output path the case must not create (default
               @TMP@/out/result.h5)
  preexisting: no = skip the "existing output left untouched" variant
  unchanged:   a file that must be byte-identical after the run (an input
               the job names as its output, say; repeatable)
  env:         NAME=VALUE added to h5batch's environment (repeatable): a
               fake SLURM_MEM_PER_NODE, or a test hook such as
               H5BATCH_TEST_SHM_FREE (memlimits.h)
  ranks:       the rank counts this case runs with, of those asked (e.g.
               "3" for a case about the shared-memory window, which a run
               without mpirun does not have)
@TMP@ in job.ini and expect stands for the run's temp dir, where the HDF5
fixtures are built with h5py at run time.

Every case runs without mpirun and under mpirun -n 3 (--ranks) with no
output file, and once more in the first mode with an existing one (only
rank 0 writes, and only at the end, whatever the ranks).  Checked: the exit code; exactly
one non-empty stderr line from h5batch, holding the fragments (mpirun's own
notices, which it frames in lines of dashes or prefixes with "[host:pid]",
are not h5batch's and are left out); no output file created, an existing one
left byte-identical; finished within 30 s; no process left running.
"""

import argparse
import re
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

sys.dont_write_bytecode = True
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests/integration"))

from fixtures import build_fixtures                                   # noqa: E402
from harness import (Report, Tool, expect, expect_clean, finish, parse_ranks,  # noqa: E402
                     rank_label, tool_stderr_lines)

TIMEOUT_S = 30
EXISTING = b"precious results of an earlier run\n" + bytes(range(256))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", default=str(REPO / "build/h5batch"), help="h5batch binary")
    p.add_argument("-k", dest="filter", default="", help="run only cases whose name contains this")
    p.add_argument("--ranks", default="0,3", type=parse_ranks,
                   help="rank counts; 0 = run without mpirun (default 0,3)")
    p.add_argument("--keep", action="store_true", help="keep the temp dir and print its path")
    return p.parse_args()


def read_expect(path, tmp):
    """The expect file as {key: [values]}, @TMP@ substituted."""
    spec = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, _, value = line.partition(":")
        spec.setdefault(key.strip(), []).append(value.strip().replace("@TMP@", str(tmp)))
    return spec


def first(spec, key, default=None):
    return spec[key][0] if key in spec else default


class Case:
    """One case directory, resolved against the run's temp dir."""

    def __init__(self, case_dir, tmp):
        self.name = case_dir.name
        self.dir = case_dir
        self.spec = read_expect(case_dir / "expect", tmp)
        self.exits = [int(code) for code in first(self.spec, "exit", "").split()]
        self.args = shlex.split(first(self.spec, "args", ""))
        self.output = Path(first(self.spec, "output", f"{tmp}/out/result.h5"))
        self.preexisting = first(self.spec, "preexisting", "yes") != "no"
        self.unchanged = [Path(p) for p in self.spec.get("unchanged", [])]
        self.env = dict(e.split("=", 1) for e in self.spec.get("env", []))
        self.ranks = ([int(r) for r in first(self.spec, "ranks").split()]
                      if "ranks" in self.spec else None)
        self.run_dir = tmp / "run"
        if "jobfile" in self.spec:
            self.job_text = None
            self.job_args = [first(self.spec, "jobfile")] if first(self.spec, "jobfile") else []
        else:
            self.job_text = (case_dir / "job.ini").read_text().replace("@TMP@", str(tmp))
            self.job_args = [str(self.run_dir / "job.ini")]


def reset(case, tmp, existing):
    """Fresh run dir (job.ini only) and out dir; the existing output if asked."""
    for d in (case.run_dir, tmp / "out"):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir()
    if case.job_text is not None:
        (case.run_dir / "job.ini").write_text(case.job_text)
    if existing:
        case.output.write_bytes(EXISTING)


def listing(d):
    return sorted(p.name for p in d.iterdir())


def snapshot(paths):
    """{path: bytes} of the files a case must leave unchanged."""
    return {p: p.read_bytes() for p in paths}


def expect_unchanged(saved):
    for path, data in saved.items():
        expect(path.exists() and path.read_bytes() == data, f"{path} was changed")


def check_case(tool, case, ranks, existing, tmp):
    reset(case, tmp, existing)
    before = {d: listing(d) for d in (case.run_dir, tmp / "out")}
    saved = snapshot(case.unchanged)
    log = tmp / "logs" / case.name / f"{rank_label(ranks)}-{existing}".replace(" ", "")
    run = tool.run(ranks, case.args + case.job_args, case.run_dir, log,
                   extra_env=case.env)
    expect_unchanged(saved)
    expect_clean(run)
    expect(run.rc in case.exits,
           f"exit {run.describe()}; expected {' or '.join(map(str, case.exits))}")
    check_message(case, tool_stderr_lines(run.stderr))
    if existing:
        expect(case.output.read_bytes() == EXISTING, f"existing {case.output} was changed")
    else:
        expect(not case.output.exists(), f"{case.output} was created")
    for d, names in before.items():
        expect(listing(d) == names, f"{d} now holds {listing(d)}, before {names}")


def check_message(case, lines):
    expect(len(lines) == 1, f"expected one stderr line from h5batch, got {len(lines)}: "
                            f"{' | '.join(lines)[:300]!r}")
    line = lines[0]
    for fragment in case.spec.get("message", []):
        expect(fragment.lower() in line.lower(), f"message lacks {fragment!r}: {line!r}")
    for pattern in case.spec.get("message-re", []):
        expect(re.search(pattern, line, re.IGNORECASE), f"message lacks /{pattern}/: {line!r}")


def main():
    args = parse_args()
    tool = Tool(Path(args.bin).resolve(), TIMEOUT_S)
    tmp = Path(tempfile.mkdtemp(prefix="h5batch-bad-"))
    print(f"# h5batch bad inputs: bin={tool.binary} ranks={args.ranks} tmp={tmp}", flush=True)
    build_fixtures(tmp)
    report = Report()
    for case_dir in sorted((HERE / "cases").iterdir()):
        if args.filter not in case_dir.name:
            continue
        case = Case(case_dir, tmp)
        modes = [r for r in args.ranks if case.ranks is None or r in case.ranks]
        for ranks in modes:
            # An existing output is tried once per case, in its first mode:
            # only rank 0 writes, and only at the end, whatever the ranks.
            first = ranks == modes[0]
            for existing in ((False, True) if case.preexisting and first else (False,)):
                variant = "existing output" if existing else "no output"
                report.check(f"{case.name} [{rank_label(ranks)}, {variant}]",
                             check_case, tool, case, ranks, existing, tmp)
    return finish(report, tmp, args.keep)


if __name__ == "__main__":
    sys.exit(main())
