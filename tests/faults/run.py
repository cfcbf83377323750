#!/usr/bin/python3
"""Fault tests of h5batch: signals, killed ranks, checkpoints and --resume.

Each case interrupts a real run (SIGTERM or SIGUSR1 to rank 0, SIGUSR1 to
mpirun, SIGKILL of a worker or of rank 0) at a point drawn from a fixed
seed, then runs `h5batch --resume` on another number of ranks and checks
that the results file is byte-identical (time and rank attributes aside) to
that of an uninterrupted run.  The point is counted from the run's first
checkpoint, a mark that the run is under way: a sleep counted from the
process's start could land before main (see README, Signals).  Two cases
signal earlier on purpose: as soon as rank 0's handler is in place (before
the run starts: exit 75), and right after the spawn (exit 75, or the
default action while the dynamic loader is still at work).  Also: a
corrupt, foreign or stale checkpoint is refused with exit 2, --resume
without a checkpoint starts from the beginning, and no process is left
running.  Closes with `N passed, N failed`.
"""

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.dont_write_bytecode = True
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests/integration"))

import h5py                                                    # noqa: E402
import numpy as np                                             # noqa: E402
from harness import Failure, Report, expect                    # noqa: E402
from verify import check_identical                            # noqa: E402

# Every partition's reduction waits 3 ms (progress.h's test hook), on a
# worker or on rank 0 when it helps: 1220 partitions then take at least
# 1220 * 3 ms / 4 ranks = 0.9 s however fast the machine, longer than the
# first checkpoint (0.1 s) plus the largest offset (0.6 s), so a signal or
# kill lands mid-run rather than after the end.  (At 1 ms, 4 ranks could
# end 0.3 s after the first checkpoint, and did.)
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1",
           OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", H5BATCH_TEST_PAUSE_MS="3")
TIMEOUT_S = 120
END_WITHIN_S = 15       # a killed job must be over this soon


def parse_args():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", default=str(REPO / "build/h5batch"))
    p.add_argument("-k", dest="filter", default="",
                   help="run only cases whose name holds one of these comma-separated parts")
    p.add_argument("--keep", action="store_true")
    return p.parse_args()


def make_data(tmp):
    """The data: 10M x 4 lognormal values with NaNs, 1220 partitions of 256K;
    w and w2, weights of the 4 cells for the weights cases; grid and w8
    for the records cases."""
    rng = np.random.default_rng(7)
    x = rng.lognormal(0.0, 1.0, size=(10_000_000, 4))
    x[rng.random(x.shape) < 0.001] = np.nan
    with h5py.File(tmp / "in.h5", "w") as f:
        f.create_dataset("series", data=x, chunks=(16384, 4))
        f["w"] = np.array([0.5, 1.0, 2.0, 0.25])
        f["w2"] = np.array([1.0, 1.0, 2.0, 0.25])
        # grid: 200k records of 8 cells in chunks of 64 records (the
        # records cases: partitions are whole chunks), w8 its weights
        f.create_dataset("grid", data=rng.normal(280, 5, (200_000, 8)), chunks=(64, 8))
        f["w8"] = np.linspace(0.25, 2.0, 8)
        # month: a key per record of grid (the climatology cases)
        f["month"] = (np.arange(200_000) % 12 + 1).astype(np.int32)


QUANTILES = "ops = count mean std min max quantiles\nquantiles = 0.01, 0.5, 0.99"
# A weighted run: the weighted operator's state travels in RESULTs and
# checkpoints (quantiles are not weighted, so only the moments' ops).
WEIGHTED = "axis = all\nweights = /w\nops = count sum mean var std min max"
# axis = records: a summary per record travels and is appended in order;
# the 200k records of /grid in 1563 partitions of 8K (16 MB of summaries at
# the end; /series's chunks of 16384 records would make 80 MB of them).
RECORDS = "axis = records\nweights = /w8\nops = count sum mean var std min max"
RECORDS_SETS = ("input.partition_size=8K", "input.dataset=/grid")
# group_by on a field: per-key partials of every cell travel and are
# checkpointed (keyed.h); /grid's records by their /month key.
CLIM = "group_by = /month\nops = count sum mean var std min max"
# ... and in partitions of 2K: fewer than 64 records, so split in 2 tiles
# of 4 cells, each carrying the keys.
CLIM_TILES_SETS = ("input.partition_size=2K", "input.dataset=/grid")


def write_job(tmp, reduce=QUANTILES, name="faults"):
    """The job a suite runs (its text is stored in the results): the
    quantiles one, or the weighted one."""
    job = tmp / f"{name}.ini"
    job.write_text(f"""[job]
name = faults
[input]
files = {tmp}/in.h5
dataset = /series
partition_size = 256K
[reduce]
{reduce}
[run]
checkpoint_every = 0.1
[output]
file = {tmp}/out.h5
""")
    return job


def launch(binary, ranks, args):
    argv = ([] if ranks == 0 else ["mpirun", "-n", str(ranks), "--oversubscribe"])
    argv += [str(binary), "-q"] + [str(a) for a in args]
    return subprocess.Popen(argv, env=ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def finish(proc, timeout=TIMEOUT_S):
    """Wait for proc (killing its session on timeout); (rc, stderr)."""
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise Failure(f"did not end within {timeout} s")
    return proc.returncode, err


def ranks_of(job, session=None):
    """{rank: pid} of the h5batch processes running job (from their
    environment); only those of one session (a launch's pid) if given, so
    that the ranks of an earlier run still exiting do not count."""
    found = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().split(b"\0")
            env = (d / "environ").read_bytes().split(b"\0")
            sid = os.getsid(int(d.name))
        except OSError:
            continue
        if not cmd or not cmd[0].endswith(b"h5batch") or str(job).encode() not in cmd:
            continue
        if session is not None and sid != session:
            continue
        rank = 0
        for kv in env:
            if kv.startswith(b"OMPI_COMM_WORLD_RANK="):
                rank = int(kv.split(b"=", 1)[1])
        found[rank] = int(d.name)
    return found


def wait_for_ranks(job, n, session, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        found = ranks_of(job, session)
        if len(found) >= n:
            return found
        time.sleep(0.05)
    raise Failure(f"ranks of {job.name} did not start")


def handler_installed(pid):
    """Whether pid catches SIGTERM (SigCgt in /proc/PID/status)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("SigCgt:"):
                return int(line.split()[1], 16) >> (signal.SIGTERM - 1) & 1
    except OSError:
        pass
    return 0


def wait_for_handler(pid, proc, timeout=20):
    """Wait until pid catches SIGTERM: the earliest point of a run at which
    a signal is a stop request rather than the end of the process."""
    end = time.time() + timeout
    while not handler_installed(pid):
        if proc.poll() is not None or time.time() > end:
            raise Failure("rank 0 never installed its SIGTERM handler")
        time.sleep(0.0005)


def expect_nothing_left(job):
    end = time.time() + 5
    while ranks_of(job) and time.time() < end:
        time.sleep(0.1)
    expect(not ranks_of(job), f"processes left running: {ranks_of(job)}")


class Suite:
    def __init__(self, binary, tmp, sets=(), reduce=QUANTILES, name="faults"):
        """sets: --set values every run of the suite gets (exact sums);
        reduce, name: the [reduce] section and name of its job file."""
        self.bin = Path(binary)
        self.tmp = tmp
        self.rng = random.Random(20261128)
        self.sets = [a for v in sets for a in ("--set", v)]
        self.job = write_job(tmp, reduce, name)
        self.out = tmp / "out.h5"
        self.ckpt = tmp / "out.h5.ckpt"
        self.reference = tmp / f"reference{len(sets)}-{name}.h5"
        rc, err = finish(launch(self.bin, 2, self.sets + ["-o", self.reference, self.job]))
        if rc != 0:
            raise SystemExit(f"reference run failed: rc={rc} {err}")

    def clean(self):
        for f in (self.out, self.ckpt):
            f.unlink(missing_ok=True)

    def interrupt(self, ranks, how, when="running"):
        """Start the job, interrupt it `how` at `when`: "running" (a random
        0-0.6 s after the first checkpoint), "started" (as soon as rank 0
        catches SIGTERM) or "spawned" (at once, solo only); (rc, stderr)
        after."""
        self.clean()
        job = self.job
        proc = launch(self.bin, ranks, self.sets + [job])
        pids = {0: proc.pid}
        if when != "spawned":
            pids = wait_for_ranks(job, max(ranks, 1), proc.pid)
        if when == "started":
            wait_for_handler(pids[0], proc)
        elif when == "running":
            self.wait_for_checkpoint(proc)
            time.sleep(self.rng.uniform(0.0, 0.6))
        start = time.time()
        if how == "kill-worker":
            os.kill(pids[self.rng.randrange(1, ranks)], signal.SIGKILL)
        elif how == "kill-rank0":
            os.kill(pids[0], signal.SIGKILL)
        elif how == "usr1-mpirun":
            os.kill(proc.pid, signal.SIGUSR1)
        else:
            os.kill(pids[0], getattr(signal, how))
        rc, err = finish(proc)
        expect(time.time() - start < END_WITHIN_S,
               f"job took {time.time() - start:.1f} s to end after {how}")
        expect_nothing_left(job)
        expect(not self.out.exists(), "output written by an interrupted run")
        return rc, err

    def wait_for_checkpoint(self, proc, timeout=30):
        """Wait for the first checkpoint: the run is under way (a signal
        then stops it mid-run), and a killed rank leaves something to
        resume from."""
        end = time.time() + timeout
        while not self.ckpt.exists() and proc.poll() is None:
            if time.time() > end:
                raise Failure("no checkpoint written")
            time.sleep(0.02)

    def resume(self, ranks, from_scratch=False):
        """--resume, checked against the uninterrupted run; from_scratch:
        there is no checkpoint and it must say it starts over."""
        expect(self.ckpt.exists() != from_scratch,
               "checkpoint left" if from_scratch else
               "no checkpoint left to resume from")
        rc, err = finish(launch(self.bin, ranks, self.sets + ["--resume", self.job]))
        expect(rc == 0, f"--resume rc={rc}: {err.strip()[-300:]}")
        expect(("starting from the beginning" in err) == from_scratch,
               f"--resume stderr: {err.strip()[-300:]}")
        expect(not self.ckpt.exists(), "checkpoint not removed after success")
        scratch = self.tmp / "scratch"
        scratch.mkdir(exist_ok=True)
        check_identical({"uninterrupted": self.reference, "resumed": self.out},
                        scratch)

    def signal_case(self, ranks, how, again, when="running"):
        rc, err = self.interrupt(ranks, how, when)
        expect(rc == 75, f"rc={rc}, expected 75: {err.strip()[-300:]}")
        expect("interrupted" in err and "--resume" in err, f"stderr: {err.strip()[-300:]}")
        # A signal sent as soon as the handler is in place lands before the
        # first partition or a few partitions in: a run alone, with no MPI
        # to start, can reduce some before the signal arrives.  Either way:
        # 75, a checkpoint (of nothing or of those), the same results.
        self.resume(again)

    def spawn_case(self, again):
        """SIGTERM right after the spawn: 75 if the handler was in place,
        else the default action of a signal the dynamic loader's window
        cannot catch (README, Signals) -- nothing written, and --resume
        starts from the beginning.  Any other end fails."""
        rc, err = self.interrupt(0, "SIGTERM", "spawned")
        expect(rc in (75, -signal.SIGTERM), f"rc={rc}: {err.strip()[-300:]}")
        if rc != 75:
            expect(not err.strip(), f"stderr of a killed process: {err.strip()[-300:]}")
        self.resume(again, from_scratch=rc != 75)

    def no_checkpoint_case(self, again):
        self.clean()
        self.resume(again, from_scratch=True)

    def kill_case(self, ranks, how, again):
        rc, _ = self.interrupt(ranks, how)
        expect(rc != 0, "a killed run exited 0")
        self.resume(again)

    def refused_case(self, spoil, fragment):
        rc, _ = self.interrupt(0, "SIGTERM")
        expect(rc == 75, f"rc={rc}")
        extra = spoil(self.ckpt)
        rc, err = finish(launch(self.bin, 0, self.sets + ["--resume"] + extra + [self.job]))
        expect(rc == 2, f"rc={rc}, expected 2")
        expect(fragment in err, f"'{fragment}' not in: {err.strip()}")
        expect(not self.out.exists(), "output written")


def flip_byte(ckpt):
    data = bytearray(ckpt.read_bytes())
    data[len(data) // 2] ^= 0x40
    ckpt.write_bytes(bytes(data))
    return []


def truncate(ckpt):
    ckpt.write_bytes(ckpt.read_bytes()[:100])
    return []


def other_job(ckpt):
    return ["--set", "reduce.ops=count mean"]


def exact_no(ckpt):
    return ["--set", "reduce.exact=no"]


def exact_cases(s):
    """The same with [reduce] exact = yes: the exact accumulators travel in
    RESULTs and checkpoints, and a resume with exact = no is refused."""
    yield "exact-sigterm-rank0-of-3-resume-2", lambda: s.signal_case(3, "SIGTERM", 2)
    yield "exact-kill-worker-of-2-resume-solo", lambda: s.kill_case(2, "kill-worker", 0)
    yield "exact-resume-with-exact-no-refused", lambda: s.refused_case(exact_no, "another job")


def other_weights(ckpt):
    return ["--set", "reduce.weights=/w2"]


def records_cases(s):
    """axis = records: the per-record summaries, concatenated in record
    order, survive a checkpoint and a resume on another rank count."""
    yield "records-sigterm-rank0-of-3-resume-2", lambda: s.signal_case(3, "SIGTERM", 2)
    yield "records-kill-worker-of-2-resume-solo", lambda: s.kill_case(2, "kill-worker", 0)


def clim_cases(s):
    """group_by on a field: per-key, per-cell partials survive a
    checkpoint and a resume on another rank count, byte-identical."""
    yield "clim-sigterm-rank0-of-3-resume-2", lambda: s.signal_case(3, "SIGTERM", 2)
    yield "clim-kill-worker-of-2-resume-solo", lambda: s.kill_case(2, "kill-worker", 0)


def clim_tiles_cases(s):
    """The same with the records split in tiles: one accumulator per tile."""
    yield "clim-tiles-sigterm-solo-resume-3", lambda: s.signal_case(0, "SIGTERM", 3)


def weights_cases(s):
    """[reduce] weights: resumed on other rank counts, byte-identical; a
    resume with other weights is refused."""
    yield "weights-sigterm-rank0-of-3-resume-2", lambda: s.signal_case(3, "SIGTERM", 2)
    yield "weights-kill-worker-of-2-resume-solo", lambda: s.kill_case(2, "kill-worker", 0)
    yield "weights-resume-with-other-weights-refused", \
        lambda: s.refused_case(other_weights, "another job")


def cases(s):
    yield "sigterm-solo-resume-3", lambda: s.signal_case(0, "SIGTERM", 3)
    yield "sigterm-rank0-of-3-resume-2", lambda: s.signal_case(3, "SIGTERM", 2)
    yield "sigusr1-rank0-of-4-resume-1", lambda: s.signal_case(4, "SIGUSR1", 1)
    yield "sigusr1-mpirun-of-2-resume-4", lambda: s.signal_case(2, "usr1-mpirun", 4)
    yield "sigint-rank0-of-2-resume-solo", lambda: s.signal_case(2, "SIGINT", 0)
    yield "sigterm-solo-at-start-resume-2", \
        lambda: s.signal_case(0, "SIGTERM", 2, "started")
    yield "sigterm-rank0-of-3-at-start-resume-solo", \
        lambda: s.signal_case(3, "SIGTERM", 0, "started")
    yield "sigterm-solo-at-spawn-resume-3", lambda: s.spawn_case(3)
    yield "resume-without-checkpoint-of-2", lambda: s.no_checkpoint_case(2)
    for ranks, again in [(2, 3), (3, 2), (4, 2), (3, 4)]:
        yield f"kill-worker-of-{ranks}-resume-{again}", \
            lambda r=ranks, a=again: s.kill_case(r, "kill-worker", a)
    yield "kill-rank0-of-3-resume-2", lambda: s.kill_case(3, "kill-rank0", 2)
    yield "corrupt-checkpoint-refused", lambda: s.refused_case(flip_byte, "checksum")
    yield "truncated-checkpoint-refused", lambda: s.refused_case(truncate, "checkpoint")
    yield "other-job-checkpoint-refused", lambda: s.refused_case(other_job, "another job")


def main():
    args = parse_args()
    report = Report()
    with tempfile.TemporaryDirectory(prefix="h5batch-faults-") as d:
        tmp = Path(d)
        if args.keep:
            tmp = Path(tempfile.mkdtemp(prefix="h5batch-faults-keep-"))
            print(f"# keeping {tmp}")
        make_data(tmp)
        suite = Suite(args.bin, tmp)
        for name, case in cases(suite):
            if any(part in name for part in args.filter.split(",")):
                report.check(name, case)
        if any(part in "exact" or "exact" in part for part in args.filter.split(",")):
            suite = Suite(args.bin, tmp, ["reduce.exact=yes"])
            for name, case in exact_cases(suite):
                if any(part in name for part in args.filter.split(",")):
                    report.check(name, case)
        if any(part in "weights" or "weights" in part for part in args.filter.split(",")):
            suite = Suite(args.bin, tmp, (), WEIGHTED, "faults-weighted")
            for name, case in weights_cases(suite):
                if any(part in name for part in args.filter.split(",")):
                    report.check(name, case)
        if any(part in "records" or "records" in part for part in args.filter.split(",")):
            suite = Suite(args.bin, tmp, RECORDS_SETS, RECORDS, "faults-records")
            for name, case in records_cases(suite):
                if any(part in name for part in args.filter.split(",")):
                    report.check(name, case)
        if any(part in "clim" or "clim" in part for part in args.filter.split(",")):
            suite = Suite(args.bin, tmp, RECORDS_SETS, CLIM, "faults-clim")
            for name, case in clim_cases(suite):
                if any(part in name for part in args.filter.split(",")):
                    report.check(name, case)
            suite = Suite(args.bin, tmp, CLIM_TILES_SETS, CLIM, "faults-clim-tiles")
            for name, case in clim_tiles_cases(suite):
                if any(part in name for part in args.filter.split(",")):
                    report.check(name, case)
    sys.exit(report.close())


if __name__ == "__main__":
    main()
