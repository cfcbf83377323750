#!/usr/bin/python3
"""Hostile-input corpus of h5batch: job files and HDF5 files made to lie.

Each directory under cases/ is one case, data only: an `expect` file of
"key: value" lines, in the format of tests/bad (exit, message, message-re,
args, jobfile, output, preexisting; see tests/bad/run.py), plus:
  jobgen:   the job file is made by jobgen.py's generator of this name
            (1 MB lines, 10^5 repeated keys, binary garbage...)
  argsgen:  extra arguments made by jobgen.py (too long to write here)
  input:    no job.ini: a standard job reads this file (a glob: one run
            per match, "[name]" in the check's label; @FILE@ stands for
            the file in message lines) ...
  dataset:  ... and this dataset (default /group/values)
  timeout:  seconds before the run is killed (default 30)
  mpi:      "always": the case runs under mpirun too (the others run
            alone only: the rank 0 code they reach is the same alone, and
            a refusal under mpirun -- every rank told to quit, none left
            running -- is what tests/bad checks on 3 ranks for every bad
            case); set on the controls, the cases that reach the workers
            (exit 1) and the output-safety cases
  xfail:    the case is known to fail today, for the reason given; it is
            run and reported as "xfail", and as a failure if it passes
            (then the line should go)
  mount:    @TMP@/mnt is a file system of its own for each run, mounted
            before it and unmounted after it, also when a check fails:
            "tmpfs SIZE" (mount -t tmpfs -o size=SIZE, e.g. "tmpfs 64k",
            too small for the results or a checkpoint) or "ro" (a
            read-only bind mount of the empty @TMP@/mnt-src; an existing
            output is put there before it turns read-only).  Needs root
            (CAP_SYS_ADMIN): where mount fails the case is skipped, saying
            so.  Nothing new may be left in @TMP@/mnt.
@TMP@ stands for the run's temp dir, where lies.py builds the HDF5
fixtures (under @TMP@/lies) at run time: the tree holds no binary file.
tests/bad's link fixtures are built there too (@TMP@/victim: in.h5 with a
symlink sym.h5 and a hard link hard.h5), and `unchanged:` (tests/bad)
checks the files a case must not change.

Every input runs without mpirun, and the cases marked mpi: always also
under mpirun -n 3 (--ranks).  Checked,
beyond what tests/bad checks (exit code, exactly one stderr line from
h5batch with the fragments, no output created and an existing one left
untouched, nothing new in the run and output directories, finished in
time, no process left running): the line holds no control character (a
hostile name must not reach the terminal raw), and stderr holds no
AddressSanitizer, LeakSanitizer or UBSan report (for a SANITIZE=1 build).
A case with exit 0 is a control (the unmodified file, a legal oddity): it
must succeed and write its output.
"""

import argparse
import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.dont_write_bytecode = True
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path[:0] = [str(HERE), str(REPO / "tests/integration"), str(REPO / "tests/bad")]

from harness import Failure, Report, Tool, expect, expect_clean, finish, parse_ranks  # noqa: E402
from harness import rank_label  # noqa: E402
from harness import tool_stderr_lines  # noqa: E402
from fixtures import build_links  # noqa: E402
from jobgen import make_args, make_job  # noqa: E402
from lies import build_lies  # noqa: E402


def load_bad_runner():
    """tests/bad/run.py as a module (its expect-file reader and checks)."""
    spec = importlib.util.spec_from_file_location("bad_run", REPO / "tests/bad/run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bad = load_bad_runner()

TIMEOUT_S = 30
SANITIZER_REPORT = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|"
                              r"SUMMARY: (Address|Undefined|Leak)Sanitizer")
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# What the Makefile exports for SANITIZE=1 builds, for runs outside make;
# LSAN_OPTIONS is always set, to tests/lsan.supp plus lsan-hdf5.supp.
SANITIZER_ENV = {
    "ASAN_OPTIONS": "fast_unwind_on_malloc=0:detect_leaks=1",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
    "OMPI_MCA_mca_base_component_disable_dlclose": "1",
}
LSAN_FILES = (REPO / "tests/lsan.supp", HERE / "lsan-hdf5.supp")
JOB_TEMPLATE = """[job]
name = hostile
[input]
files = {file}
dataset = {dataset}
[output]
file = {tmp}/out/result.h5
"""


def parse_args():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", default=str(REPO / "build/h5batch"), help="h5batch binary")
    p.add_argument("-k", dest="filter", default="", help="run only cases whose name contains this")
    p.add_argument("--ranks", default="0,3", type=parse_ranks,
                   help="rank counts; 0 = run without mpirun (default 0,3)")
    p.add_argument("--sanitized", action="store_true",
                   help="label the run as the SANITIZE=1 build (the checks are the same)")
    p.add_argument("--keep", action="store_true", help="keep the temp dir and print its path")
    return p.parse_args()


class Case:
    """One case directory; inputs() gives one Input per run it makes."""

    def __init__(self, case_dir, tmp):
        self.name = case_dir.name
        self.dir = case_dir
        self.tmp = tmp
        self.spec = bad.read_expect(case_dir / "expect", tmp)
        self.exits = [int(code) for code in bad.first(self.spec, "exit", "").split()]
        self.args = shlex.split(bad.first(self.spec, "args", ""))
        if "argsgen" in self.spec:
            self.args += make_args(bad.first(self.spec, "argsgen"), tmp)
        self.output = Path(bad.first(self.spec, "output", f"{tmp}/out/result.h5"))
        self.preexisting = bad.first(self.spec, "preexisting", "yes") != "no"
        self.timeout = float(bad.first(self.spec, "timeout", TIMEOUT_S))
        self.xfail = bad.first(self.spec, "xfail")
        self.mpi_always = bad.first(self.spec, "mpi", "") == "always"
        self.control = self.exits == [0]
        self.unchanged = [Path(p) for p in self.spec.get("unchanged", [])]
        self.mount = Mount(tmp, bad.first(self.spec, "mount"))

    def inputs(self):
        """[(label, job bytes or None, job args, message spec)]."""
        if "input" in self.spec:
            pattern = bad.first(self.spec, "input")
            files = sorted(Path("/").glob(pattern.lstrip("/")))
            expect(files, f"input {pattern} matches no fixture")
            dataset = bad.first(self.spec, "dataset", "/group/values")
            return [(f"[{f.name}]" if len(files) > 1 else "",
                     JOB_TEMPLATE.format(file=f, dataset=dataset, tmp=self.tmp).encode(),
                     self.message_spec(str(f))) for f in files]
        if "jobgen" in self.spec:
            job = make_job(bad.first(self.spec, "jobgen"), self.tmp)
        elif "jobfile" in self.spec:
            job = None
        else:
            job = (self.dir / "job.ini").read_bytes().replace(b"@TMP@", str(self.tmp).encode())
        return [("", job, self.message_spec(""))]

    def message_spec(self, file):
        return {key: [v.replace("@FILE@", file) for v in self.spec.get(key, [])]
                for key in ("message", "message-re")}

    def job_args(self, job):
        if job is None:
            path = bad.first(self.spec, "jobfile")
            return [path] if path else []
        return [str(self.tmp / "run" / "job.ini")]


class MessageSpec:
    """What bad.check_message reads: an object with .spec."""

    def __init__(self, spec):
        self.spec = spec


class Mount:
    """The `mount:` of a case at tmp/mnt: attach() mounts it (writable),
    seal() makes a bind mount read-only, detach() unmounts it.  A case
    without `mount:` makes every step a no-op."""

    def __init__(self, tmp, spec):
        self.dir = tmp / "mnt"
        self.src = tmp / "mnt-src"
        self.kind, *self.args = (spec or "").split() or [""]
        self.mounted = False
        expect(self.kind in ("", "tmpfs", "ro") and
               len(self.args) == (self.kind == "tmpfs"), f"mount: {spec!r} is not "
               "'tmpfs SIZE' or 'ro'")

    def attach(self):
        if not self.kind:
            return
        for d in (self.dir, self.src):
            shutil.rmtree(d, ignore_errors=True)
            d.mkdir()
        if self.kind == "tmpfs":
            mount("-t", "tmpfs", "-o", f"size={self.args[0]}", "tmpfs", self.dir)
        else:
            mount("--bind", self.src, self.dir)
        self.mounted = True

    def seal(self):
        if self.kind == "ro":
            mount("-o", "remount,bind,ro", self.dir)

    def detach(self):
        if self.mounted and subprocess.run(["umount", self.dir]).returncode != 0:
            subprocess.run(["umount", "-l", self.dir])  # busy: detach it lazily
        self.mounted = False

    def dirs(self):
        return (self.dir,) if self.kind else ()


def mount(*args):
    proc = subprocess.run(["mount", *map(str, args)], capture_output=True, text=True)
    expect(proc.returncode == 0, f"mount {' '.join(map(str, args))}: {proc.stderr.strip()}")


def can_mount(tmp):
    """Whether this process may mount a tmpfs (root with CAP_SYS_ADMIN)."""
    probe = Mount(tmp, "tmpfs 4k")
    try:
        probe.attach()
    except Failure:
        return False
    probe.detach()
    return True


def modes_of(case, args):
    """The --ranks modes case runs in: the first alone, unless the case
    says mpi: always."""
    if not case.mpi_always:
        return args.ranks[:1]
    return args.ranks


def reset(case, job, existing):
    tmp = case.tmp
    for d in (tmp / "run", tmp / "out"):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir()
    if job is not None:
        (tmp / "run" / "job.ini").write_bytes(job)
    case.mount.attach()
    if existing:
        case.output.write_bytes(bad.EXISTING)
    case.mount.seal()


def check_run(tool, case, job, messages, ranks, existing):
    try:
        check_mounted_run(tool, case, job, messages, ranks, existing)
    finally:
        case.mount.detach()


def check_mounted_run(tool, case, job, messages, ranks, existing):
    tmp = case.tmp
    reset(case, job, existing)
    dirs = (tmp / "run", tmp / "out") + case.mount.dirs()
    before = {d: bad.listing(d) for d in dirs}
    saved = bad.snapshot(case.unchanged)
    log = tmp / "logs" / case.name / f"{rank_label(ranks)}-{existing}".replace(" ", "")
    tool.timeout = case.timeout
    run = tool.run(ranks, case.args + case.job_args(job), tmp / "run", log)
    bad.expect_unchanged(saved)
    expect(not SANITIZER_REPORT.search(run.stderr),
           f"sanitizer report: {sanitizer_excerpt(run.stderr)}")
    expect_clean(run)
    expect(run.rc in case.exits,
           f"exit {run.describe()}; expected {' or '.join(map(str, case.exits))}")
    if case.control:
        expect(case.output.exists(), f"{case.output} was not written")
        return
    lines = tool_stderr_lines(run.stderr)
    bad.check_message(MessageSpec(messages), lines)
    expect(not CONTROL_CHARS.search(lines[0]),
           f"message holds raw control characters: {lines[0][:200]!r}")
    if existing:
        expect(case.output.read_bytes() == bad.EXISTING, f"existing {case.output} was changed")
    else:
        expect(not case.output.exists(), f"{case.output} was created")
    for d, names in before.items():
        expect(bad.listing(d) == names, f"{d} now holds {bad.listing(d)}, before {names}")


def sanitizer_excerpt(stderr):
    lines = stderr.splitlines()
    for i, line in enumerate(lines):
        if SANITIZER_REPORT.search(line):
            return " | ".join(lines[i:i + 6])[:600]
    return ""


def run_checks(report, name, func, *args, xfail=None):
    """report.check, except that an xfail case reports xfail when it fails
    and fails when it passes."""
    if not xfail:
        report.check(name, func, *args)
        return
    try:
        func(*args)
    except Failure as exc:
        report.skip(name, f"xfail ({xfail}): {str(exc)[:300]}")
        return
    except Exception as exc:  # a harness bug must still show as one line
        report.fail(name, f"harness error: {type(exc).__name__}: {exc}")
        return
    report.fail(name, f"passes now: remove its xfail line ({xfail})")


def main():
    args = parse_args()
    for key, value in SANITIZER_ENV.items():
        os.environ.setdefault(key, value)
    tool = Tool(Path(args.bin).resolve(), TIMEOUT_S)
    tmp = Path(tempfile.mkdtemp(prefix="h5batch-hostile-"))
    supp = tmp / "lsan.supp"
    supp.write_text("".join(f.read_text() for f in LSAN_FILES))
    os.environ["LSAN_OPTIONS"] = f"suppressions={supp}:print_suppressions=0"
    label = " (sanitized)" if args.sanitized else ""
    print(f"# h5batch hostile inputs{label}: bin={tool.binary} ranks={args.ranks} tmp={tmp}",
          flush=True)
    build_lies(tmp)
    build_links(tmp, np.arange(1200.0).reshape(100, 3, 4))
    (tmp / "empty.ini").write_bytes(b"")
    mounts = can_mount(tmp)
    report = Report()
    for case_dir in sorted((HERE / "cases").iterdir()):
        if args.filter not in case_dir.name:
            continue
        try:
            case = Case(case_dir, tmp)
            inputs = case.inputs()
        except (Failure, KeyError, OSError) as exc:
            report.fail(f"{case_dir.name} [setup]", exc)
            continue
        if case.mount.kind and not mounts:
            report.skip(case.name, "needs mount (root with CAP_SYS_ADMIN), which "
                        "fails here")
            continue
        for k, (tag, job, messages) in enumerate(inputs):
            for ranks in modes_of(case, args):
                # An existing output is tried once per case, without mpirun.
                variants = (False, True) if (case.preexisting and not case.control
                                             and ranks == args.ranks[0] and k == 0) else (False,)
                for existing in variants:
                    variant = "existing output" if existing else "no output"
                    name = f"{case.name}{tag} [{rank_label(ranks)}, {variant}]"
                    run_checks(report, name, check_run, tool, case, job, messages, ranks,
                               existing, xfail=case.xfail)
    return finish(report, tmp, args.keep)


if __name__ == "__main__":
    sys.exit(main())
