#!/usr/bin/python3
"""Memory tests of h5batch (issue 15): the plan is checked before anything
is allocated, on the machine's real limits and on safe stand-ins for them.

Safe on a shared machine: nothing here allocates much.  Limits come from
`prlimit --as`, a fake SLURM_MEM_PER_NODE / SLURM_MEM_PER_CPU in the
environment, a small [run] memory_limit, and H5BATCH_TEST_SHM_FREE (the
test hook for the free space of /dev/shm, memlimits.h); the machine's
cgroups are never touched.  The datasets are of real sizes (2 GiB) but
their chunks were never written, so the files are a few KiB.

Expected figures are computed here from the layout the code documents
(README, Memory): a partition buffer is the partition plus a 72-byte WORK
header; rank 0 alone reads into two of them (read-ahead), each worker
posts `prefetch`, and rank 0's shared window holds nworkers * prefetch + 1
of them, each rounded up to 64 bytes (rank0_reduces = off here).  What
the process holds at start and the tiny operator states fit in MARGIN.

Cases:
  issue-15        mpirun -n 2, partition_size = 1G, prefetch = 64, the
                  machine's own limits: exit 2 within 10 s, one line naming
                  prefetch and partition_size (skipped on a machine that
                  could hold 64 GiB per rank and 66 GiB of /dev/shm)
  limit-under-*   memory_limit = the buffers + MARGIN: --dry-run accepts
  limit-over-*    memory_limit = the buffers - 1: refused, exit 2 (and
                  --dry-run still prints the plan)
  prlimit-as      prlimit --as below two 256 MiB buffers: refused naming
                  RLIMIT_AS
  slurm-per-cpu   SLURM_MEM_PER_CPU below them: refused naming it
  window-fails    MPI_Win_allocate_shared fails (Open MPI's osc/pt2pt, which
                  cannot make a shared window): the job ends within 10 s,
                  exit 1, the reason on stderr, no process left behind
  twin-fallback   rank 0 alone on a 64 x 1024 x 1024 field, partitions of
                  8 records: with room, its second thread reads and reduces
                  (two more partials of 16 MiB, README read_ahead); with a
                  memory_limit 16 MiB below that plan, the run is not
                  refused but reads ahead only
  keyed-count     group_by = /key on a field of 4 million records of 2
                  cells: counting the distinct keys before the plan reads
                  the key dataset in pieces, so rank 0's peak RSS stays
                  under 48 MiB (it held the file's whole key column, 32
                  MiB, beside the process: about 70 MiB)
  json            a real run with --format json under mpirun -n 2: the
                  summary's memory object holds an estimate and a peak RSS
                  for rank 0 and the worker
Each refusal: exit 2, one stderr line from h5batch, no output file, no
process left behind.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np

sys.dont_write_bytecode = True
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests/integration"))

from harness import (Report, Skip, Tool, expect, expect_clean, finish,  # noqa: E402
                     launcher, run_tool, tool_stderr_lines)

TIMEOUT_S = 30
HEADER = 72                 # WIRE_WORK_HEADER
MIB = 1 << 20
GIB = 1 << 30
MARGIN = 64 * MIB           # start-up resident set and operator states
PART = 256 * MIB

JOB = """[job]
name = mem
[input]
files = {tmp}/sparse.h5
dataset = /values
partition_size = {part}
[reduce]
ops = count mean
[run]
prefetch = {prefetch}
rank0_reduces = off
{extra}
[output]
file = {tmp}/out/result.h5
"""


def build(tmp):
    with h5py.File(tmp / "sparse.h5", "w") as f:
        f.create_dataset("values", shape=(2**28,), dtype="f8", chunks=(2**20,))
    with h5py.File(tmp / "field.h5", "w") as f:
        f.create_dataset("values", shape=(64, 1024, 1024), dtype="f8",
                         chunks=(1, 1024, 1024))
    with h5py.File(tmp / "small.h5", "w") as f:
        f.create_dataset("values", data=np.random.default_rng(15).normal(size=(100000, 4)))
    (tmp / "out").mkdir()


def write_job(tmp, name, part="256M", prefetch=2, extra="", dataset_file="sparse.h5"):
    text = JOB.format(tmp=tmp, part=part, prefetch=prefetch, extra=extra)
    text = text.replace("sparse.h5", dataset_file)
    path = tmp / f"{name}.ini"
    path.write_text(text)
    return path


def run(tool, tmp, name, ranks, args, env=None, wrap=()):
    argv = list(wrap) + launcher(ranks) + [str(tool.binary)] + [str(a) for a in args]
    return run_tool(argv, tmp, tool.timeout, tmp / "logs" / name, env)


def expect_refused(run_, tmp, *fragments, within=TIMEOUT_S):
    expect_clean(run_)
    expect(run_.rc == 2, f"exit {run_.describe()}; expected 2")
    expect(run_.elapsed < within, f"took {run_.elapsed:.1f} s, more than {within} s")
    lines = tool_stderr_lines(run_.stderr)
    expect(len(lines) == 1, f"expected one stderr line from h5batch, got {lines!r}")
    for f in fragments:
        expect(f.lower() in lines[0].lower(), f"message lacks {f!r}: {lines[0]!r}")
    expect(not (tmp / "out/result.h5").exists(), "an output file was written")


def machine_could_hold_issue_case():
    avail = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            avail = int(line.split()[1]) * 1024
    st = os.statvfs("/dev/shm")
    return avail / 2 >= 65 * GIB and st.f_bavail * st.f_frsize >= 67 * GIB


def case_issue_15(tool, tmp):
    if machine_could_hold_issue_case():
        raise Skip("this machine could hold 64 GiB per rank and a 66 GiB window")
    job = write_job(tmp, "issue", part="1G", prefetch=64)
    expect_refused(run(tool, tmp, "issue-15", 2, [job]), tmp, "prefetch",
                   "partition_size", within=10)


def buffers(ranks, prefetch):
    """The largest buffer figure of any rank, as README/Memory lays out."""
    slot = PART + HEADER
    if ranks == 0:
        return 2 * slot                             # rank 0 alone, read-ahead
    nworkers = ranks - 1
    window = (nworkers * prefetch + 1) * ((slot + 63) // 64 * 64)
    return max(window, prefetch * slot)


def case_limit(tool, tmp, ranks, over):
    need = buffers(ranks, 2)
    limit = need - 1 if over else need + MARGIN
    job = write_job(tmp, f"limit-{ranks}-{over}", extra=f"memory_limit = {limit}")
    r = run(tool, tmp, f"limit-{'over' if over else 'under'}-{ranks}", ranks,
            [job, "--dry-run"])
    expect("memory (peak, allocated" in r.stdout, "--dry-run printed no memory plan")
    if over:
        expect_refused(r, tmp, "memory_limit", "partition_size")
    else:
        expect_clean(r)
        expect(r.rc == 0, f"exit {r.describe()}; a limit of {limit} bytes should hold "
                          f"{need} bytes of buffers: {r.stderr[-300:]!r}")


def case_prlimit_as(tool, tmp):
    if not shutil.which("prlimit"):
        raise Skip("no prlimit")
    # 500 MiB of address space: room for the process itself, not for two
    # 256 MiB partitions.
    job = write_job(tmp, "prlimit")
    r = run(tool, tmp, "prlimit-as", 0, [job], wrap=["prlimit", f"--as={500 * MIB}", "--"])
    expect_refused(r, tmp, "RLIMIT_AS", "partition_size")


def case_slurm_per_cpu(tool, tmp):
    job = write_job(tmp, "slurm")
    r = run(tool, tmp, "slurm-per-cpu", 0, [job], env={"SLURM_MEM_PER_CPU": "400"})
    expect_refused(r, tmp, "SLURM_MEM_PER_CPU", "partition_size")


def case_window_fails(tool, tmp):
    job = write_job(tmp, "winfail", part="1M", dataset_file="small.h5")
    r = run(tool, tmp, "window-fails", 3, [job], env={"OMPI_MCA_osc": "pt2pt"})
    expect_clean(r)
    expect(r.rc == 1, f"exit {r.describe()}; expected 1")
    expect(r.elapsed < 10, f"took {r.elapsed:.1f} s")
    expect("shared partition pool" in r.stderr, f"no reason given: {r.stderr[-300:]!r}")
    expect(not (tmp / "out/result.h5").exists(), "an output file was written")


def rank0_plan(r):
    """(total MiB, reading line) of rank 0 from a --dry-run."""
    line = [ln for ln in r.stdout.splitlines() if ln.strip().startswith("rank 0: ")]
    reading = [ln for ln in r.stdout.splitlines() if ln.startswith("reading: ")]
    expect(len(line) == 1 and len(reading) == 1, f"no plan of rank 0: {r.stdout!r}")
    mib = line[0].split()[2]
    expect(line[0].split()[3] == "MiB", f"rank 0's plan not in MiB: {line[0]!r}")
    return float(mib), reading[0]


def case_twin_fallback(tool, tmp):
    job = write_job(tmp, "twin", part="64M", dataset_file="field.h5")
    r = run(tool, tmp, "twin-room", 0, [job, "--dry-run"])
    expect_clean(r)
    expect(r.rc == 0, f"exit {r.describe()}: {r.stderr[-300:]!r}")
    total, reading = rank0_plan(r)
    expect("two threads" in reading, f"with room: {reading!r}")
    limit = int((total - 16) * MIB)
    r = run(tool, tmp, "twin-tight", 0,
            [job, "--dry-run", "--set", f"run.memory_limit={limit}"])
    expect_clean(r)
    expect(r.rc == 0, f"exit {r.describe()} with memory_limit {limit}: "
                      f"{r.stderr[-300:]!r}")
    tight, reading = rank0_plan(r)
    expect("ahead of the reduction" in reading and tight <= total - 30,
           f"memory_limit {limit}: {reading!r}, {tight} MiB against {total}")


def case_keyed_count(tool, tmp):
    n = 4_000_000
    with h5py.File(tmp / "keyed.h5", "w") as f:
        f.create_dataset("field", data=np.ones((n, 2)))
        f.create_dataset("key", data=(np.arange(n, dtype="i8") // 7) % 12)
    job = write_job(tmp, "keyed", part="1M", dataset_file="keyed.h5")
    text = job.read_text().replace("dataset = /values", "dataset = /field")
    job.write_text(text.replace("[reduce]", "[reduce]\ngroup_by = /key"))
    r = run(tool, tmp, "keyed-count", 0, [job, "--format", "json", "-q"])
    (tmp / "keyed.h5").unlink()
    expect_clean(r)
    expect(r.rc == 0, f"exit {r.describe()}: {r.stderr[-300:]!r}")
    doc = json.loads(r.stdout)
    rss = doc["memory"]["peak_rss_bytes"]["rank0"]
    expect(rss < 48 * MIB, f"rank 0's peak RSS {rss / MIB:.1f} MiB counting 12 keys "
                           f"of {n} records")
    (tmp / "out/result.h5").unlink()


def case_json(tool, tmp):
    job = write_job(tmp, "json", part="1M", dataset_file="small.h5")
    r = run(tool, tmp, "json", 2, [job, "--format", "json", "-q"])
    expect_clean(r)
    expect(r.rc == 0, f"exit {r.describe()}: {r.stderr[-300:]!r}")
    mem = json.loads(r.stdout)["memory"]
    est, rss = mem["estimate_bytes"], mem["peak_rss_bytes"]
    expect(est["rank0"] > 0 and est["worker"] > 0, f"no estimate: {mem}")
    expect(rss["rank0"] > 0, f"no peak RSS for rank 0: {mem}")
    expect(len(rss["workers"]) == 1 and rss["workers"][0] > 0,
           f"no peak RSS for the worker: {mem}")
    (tmp / "out/result.h5").unlink()


def case_own_peak(tool, tmp):
    """peak_rss_bytes is h5batch's own peak, not its parent's: started by
    exec from a process that touched 1 GiB (Linux's ru_maxrss keeps the
    larger peak across exec; VmHWM does not)."""
    job = write_job(tmp, "own-peak", part="1M", dataset_file="small.h5")
    code = ("import os, sys\n"
            "b = bytearray(1 << 30)\n"
            "for i in range(0, len(b), 4096):\n"
            "    b[i] = 1\n"
            "os.execv(sys.argv[1], sys.argv[1:])\n")
    r = run_tool(["/usr/bin/python3", "-c", code, str(tool.binary), str(job),
                  "--format", "json", "-q"], tmp, tool.timeout, tmp / "logs" / "own-peak",
                 None)
    expect_clean(r)
    expect(r.rc == 0, f"exit {r.describe()}: {r.stderr[-300:]!r}")
    rss = json.loads(r.stdout)["memory"]["peak_rss_bytes"]["rank0"]
    expect(0 < rss < 256 << 20, f"rank 0's peak RSS {rss} bytes: its parent's 1 GiB?")
    (tmp / "out/result.h5").unlink()


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", default=str(REPO / "build/h5batch"))
    p.add_argument("-k", dest="filter", default="")
    p.add_argument("--keep", action="store_true")
    args = p.parse_args()
    tool = Tool(Path(args.bin).resolve(), TIMEOUT_S)
    tmp = Path(tempfile.mkdtemp(prefix="h5batch-memory-"))
    print(f"# h5batch memory: bin={tool.binary} tmp={tmp}", flush=True)
    build(tmp)
    cases = [("issue-15", case_issue_15)]
    for ranks in (0, 3):
        for over in (False, True):
            name = f"limit-{'over' if over else 'under'}-{'direct' if ranks == 0 else ranks}"
            cases.append((name, lambda t, d, r=ranks, o=over: case_limit(t, d, r, o)))
    cases += [("prlimit-as", case_prlimit_as), ("slurm-per-cpu", case_slurm_per_cpu),
              ("window-fails", case_window_fails), ("twin-fallback", case_twin_fallback),
              ("keyed-count", case_keyed_count),
              ("json", case_json),
              ("own-peak", case_own_peak)]
    report = Report()
    for name, func in cases:
        if args.filter in name:
            (tmp / "out/result.h5").unlink(missing_ok=True)
            report.check(name, func, tool, tmp)
    return finish(report, tmp, args.keep)


if __name__ == "__main__":
    sys.exit(main())
