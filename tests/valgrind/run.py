#!/usr/bin/python3
"""h5batch under valgrind memcheck: no invalid access, no leak of ours.

A few real runs, each rank under
  valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=
           definite,indirect,possible --suppressions=tests/valgrind/mpi.supp
on 3 ranks (mpirun -n 3 valgrind ... h5batch) and on 1 (no mpirun): a
chunked, deflated 3-D float32 field with NaNs reduced with every operator
(the histogram's range found by a first pass, so two passes), a field
reduced in tiles, a bad input (exit 2 on every rank) and a failure
injected on a worker (exit 1).  Checked for every rank: valgrind's
"ERROR SUMMARY: 0 errors" (errors include leaks of the kinds above), the
exit code, the results written (count + nan_count = records) or not.

mpi.supp holds Open MPI's, PMIx's, hwloc's and libevent's own one-time
allocations; before anything runs, this script checks that none of its
frames can match h5batch's code (no fun: naming a function of src/, no
obj: matching the binary), so nothing of ours is ever suppressed.  Open
MPI 4.1 unloads its components at MPI_Finalize, so their frames show as
"???": the suppressions match on the named frames around them (PMPI_Init,
ompi_mpi_finalize, event_base_loop, the component loader).
Closes with "N passed, N failed".
"""

import argparse
import fnmatch
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.dont_write_bytecode = True
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests/integration"))

import h5py  # noqa: E402
import numpy as np  # noqa: E402
from harness import Failure, Report, Tool, expect, expect_clean, finish, rank_label  # noqa: E402

SUPP = HERE / "mpi.supp"
TIMEOUT_S = 600
VALGRIND_RC = 97
VALGRIND = ["--tool=memcheck", "--leak-check=full",
            "--show-leak-kinds=definite,indirect,possible",
            "--errors-for-leak-kinds=definite,indirect,possible",
            f"--error-exitcode={VALGRIND_RC}", "--num-callers=40",
            "--child-silent-after-fork=yes", f"--suppressions={SUPP}"]
ERROR_SUMMARY = re.compile(r"ERROR SUMMARY: (\d+) errors")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", default=str(REPO / "build/h5batch"), help="h5batch binary")
    p.add_argument("--gen", default=str(REPO / "build/h5batch-gen"), help="h5batch-gen binary")
    p.add_argument("--valgrind", default=shutil.which("valgrind") or "/usr/bin/valgrind")
    p.add_argument("--gen-suppressions", action="store_true",
                   help="also write suppressions for every error into the logs")
    p.add_argument("--keep", action="store_true", help="keep the temp dir and print its path")
    return p.parse_args()


# ---- the suppressions file must not reach our code ------------------------

def our_functions():
    """Names of the functions defined in src/*.c (and main)."""
    names = {"main"}
    for path in (REPO / "src").glob("*.c"):
        for m in re.finditer(r"^[A-Za-z_][\w \t\*]*?\b([A-Za-z_]\w*)\s*\([^;{]*\)\s*\{",
                             path.read_text(), re.M):
            names.add(m.group(1))
    return names


def check_suppressions(binary):
    """No suppression frame may match a function or object of h5batch."""
    funcs = our_functions()
    bad = []
    for line in SUPP.read_text().splitlines():
        line = line.strip()
        if line.startswith("fun:"):
            pattern = line[4:]
            hits = [f for f in funcs if fnmatch.fnmatchcase(f, pattern)]
            if hits:
                bad.append(f"{line} matches {', '.join(sorted(hits)[:5])}")
        elif line.startswith("obj:"):
            pattern = line[4:]
            for path in (str(binary), str(REPO / "src" / "x.c")):
                if fnmatch.fnmatchcase(path, pattern):
                    bad.append(f"{line} matches {path}")
        elif line.startswith("src:"):
            bad.append(f"{line}: no source-file frames")
    expect(not bad, "suppressions reach h5batch's own code: " + "; ".join(bad))
    expect(len(funcs) > 50, f"found only {len(funcs)} functions in src/: the scan is broken")


# ---- data and jobs -----------------------------------------------------

FIELD = dict(path="field.h5", dataset="/field/temp", records=2000)
TILED = dict(path="tiled.h5", dataset="/tiled/values", records=200)


def make_data(tmp, gen):
    """A chunked, deflated, shuffled float32 field with 1% NaN (h5batch-gen)
    and a float64 field whose records (64 x 64) are too big for a
    partition, so it is reduced in tiles (h5py)."""
    subprocess.run([str(gen), "-o", str(tmp / FIELD["path"]), "-d", FIELD["dataset"],
                    "-t", "f32", "-s", "2000x8x6", "-c", "100x8x6", "-z", "1",
                    "--shuffle", "--nan-frac", "0.01", "--seed", "7", "-q"],
                   check=True, timeout=120)
    data = np.random.default_rng(8).normal(size=(TILED["records"], 64, 64))
    with h5py.File(tmp / TILED["path"], "w") as f:
        f.create_dataset(TILED["dataset"], data=data, chunks=(8, 16, 64),
                         compression="gzip")


def write_job(tmp, name, src, extra=""):
    job = tmp / f"{name}.ini"
    job.write_text(f"""[job]
name = {name}
[input]
files = {tmp / src['path']}
dataset = {src['dataset']}
partition_size = {src.get('partition', '32K')}
[reduce]
ops = count sum mean var std min max histogram quantiles
histogram_bins = 16
quantiles = 0.1, 0.5, 0.9
{extra}
[output]
file = {tmp / 'out' / name}.h5
""")
    return job


RUNS = [
    # name, ranks, source, extra job lines, env, expected exit, output expected
    ("field-3-ranks", 3, FIELD, "", {}, 0, True),
    ("field-1-rank", 0, FIELD, "", {}, 0, True),
    ("tiles-3-ranks", 3, dict(TILED, partition="64K"), "", {}, 0, True),
    ("bad-dataset-3-ranks", 3, dict(FIELD, dataset="/field/nope"), "", {}, 2, False),
    ("worker-fails-3-ranks", 3, FIELD, "", {"H5BATCH_TEST_FAIL_PARTITION": "3"}, 1, False),
]


def check_results(path, records):
    with h5py.File(path, "r") as f:
        (group,) = list(f)
        total = f[group]["count"][...] + f[group]["nan_count"][...]
        expect(np.all(total == records),
               f"{path}: count + nan_count is {np.unique(total)}, expected {records}")


def check_logs(logs):
    """Every rank's log ends with ERROR SUMMARY: 0 errors."""
    expect(logs, "no valgrind log written")
    for log in logs:
        text = log.read_text(errors="replace")
        m = ERROR_SUMMARY.search(text)
        expect(m, f"{log.name}: no ERROR SUMMARY (valgrind died?)")
        if int(m.group(1)):
            raise Failure(f"{log.name}: {m.group(0)}; first: {first_error(text)}")


def first_error(text):
    lines = [re.sub(r"^==\d+== ", "", l) for l in text.splitlines() if l.startswith("==")]
    for i, line in enumerate(lines):
        if re.match(r"(Invalid|Conditional|Use of|Syscall|Mismatched|Source and|"
                    r"[\d,]+ (\([\d,]+ direct.*\) )?bytes in)", line):
            return " | ".join(lines[i:i + 8])
    return "(see the log)"


def run_one(tool, args, tmp, name, ranks, src, extra, env, exit_code, output):
    job = write_job(tmp, name, src, extra)
    logdir = tmp / "logs" / name
    logdir.mkdir(parents=True)
    out = tmp / "out" / f"{name}.h5"
    vg = VALGRIND + [f"--log-file={logdir}/vg.%p.log"]
    if args.gen_suppressions:
        vg.append("--gen-suppressions=all")
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        start = time.monotonic()
        run = tool.run(ranks, vg + [str(Path(args.bin).resolve()), "-q", str(job)], tmp,
                       logdir)
        took = time.monotonic() - start
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    expect_clean(run)
    check_logs(sorted(logdir.glob("vg.*.log")))
    expect(run.rc == exit_code, f"exit {run.describe()}; expected {exit_code}")
    if output:
        expect(out.exists(), f"{out} not written")
        check_results(out, src["records"])
    else:
        expect(not out.exists(), f"{out} written by a failed run")
    print(f"# {name}: {took:.1f} s, {len(list(logdir.glob('vg.*.log')))} ranks checked",
          flush=True)


def main():
    args = parse_args()
    binary = Path(args.bin).resolve()
    report = Report()
    if not binary.is_file():
        report.fail("h5batch", f"binary not found: {binary}")
        return report.close()
    if not report.check("suppressions reach no h5batch frame", check_suppressions, binary):
        return report.close()
    tool = Tool(Path(args.valgrind), TIMEOUT_S)
    tmp = Path(tempfile.mkdtemp(prefix="h5batch-valgrind-"))
    (tmp / "out").mkdir()
    print(f"# h5batch under valgrind: bin={binary} tmp={tmp}", flush=True)
    start = time.monotonic()
    make_data(tmp, args.gen)
    for name, ranks, src, extra, env, code, output in RUNS:
        report.check(f"{name} [{rank_label(ranks)}]", run_one, tool, args, tmp, name,
                     ranks, src, extra, env, code, output)
    print(f"# valgrind runs took {time.monotonic() - start:.0f} s", flush=True)
    return finish(report, tmp, args.keep)


if __name__ == "__main__":
    sys.exit(main())
