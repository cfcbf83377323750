#!/usr/bin/python3
"""The Slurm scripts against a real single-node Slurm (make test-slurm).

slurm/local-cluster.sh starts munged, slurmctld and slurmd in a folder of
this run's own; every check submits with sbatch and polls `scontrol show
job` (there is no slurmdbd, so no sacct) until the job ends, each under a
timeout after which the job is cancelled.  Results are compared byte for
byte with an mpirun run of the same job once the started/finished/ranks
attributes are blanked (tests/integration/verify.py).  The cluster is stopped
at the end whatever happened, also on SIGINT/SIGTERM.

The requeue check sizes its input from the demo's own speed so that one run
takes about a minute, submits with --time=1 --signal=B:USR1@25 (slurmctld
checks time limits every 30 s and sends the signal at the first check with
fewer than 25 + 30 s left: 5 to 35 s after the start), and needs the job log
to show the SIGUSR1 from Slurm, h5batch's checkpoint and the requeue, and
the job completion log to hold a requeued start that exited 75.
"""

import argparse
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.dont_write_bytecode = True
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests/integration"))

from harness import Failure, Report, Tool, expect, expect_ok  # noqa: E402
from verify import check_identical  # noqa: E402

CLUSTER = REPO / "slurm/local-cluster.sh"
SINGLE = REPO / "slurm/h5batch.sbatch"
ARRAY = REPO / "slurm/h5batch-array.sbatch"
DEMO_JOB = REPO / "jobs/demo.ini"
DEMO_DATA = REPO / "data/demo.h5"
ENDED = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "PREEMPTED",
         "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE"}
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
REQUEUE_TARGET_S = 60       # one uninterrupted run of the requeue job
REQUEUE_MIN_S = 45          # the signal comes 5 to 35 s after the start
MAX_COPIES = 600            # links to the demo data: free, an idle machine is fast
EXIT_RESUMABLE = 75


class Stopped(BaseException):
    """SIGINT/SIGTERM arrived: unwind so the cluster is stopped."""


def on_stop_signal(signum, _frame):
    raise Stopped(f"signal {signum}")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", default=str(REPO / "build/h5batch"), help="h5batch binary")
    p.add_argument("--gen", default=str(REPO / "build/h5batch-gen"), help="h5batch-gen binary")
    p.add_argument("--keep", action="store_true", help="keep the work folder")
    return p.parse_args()


class Env:
    """The work folder, the environment every command gets, and helpers."""

    def __init__(self, args):
        self.work = Path(tempfile.mkdtemp(prefix="h5batch-slurm-test-"))
        self.bin = Path(args.bin).resolve()
        self.gen = Path(args.gen).resolve()
        self.cluster_dir = self.work / "cluster"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
        self.env.update(H5BATCH_SLURM_DIR=str(self.cluster_dir), H5BATCH=str(self.bin),
                        SLURM_CONF=str(self.cluster_dir / "etc/slurm.conf"))
        self.mpirun = Tool(self.bin, 300)
        self.demo_s = None          # seconds of the first reference run (the demo)
        for sub in ("results", "ref", "logs", "jobs", "data", "array"):
            (self.work / sub).mkdir()

    def run(self, argv, timeout, cwd=None, env=None, check=True):
        """Run argv; return its CompletedProcess (stdout and stderr merged)."""
        try:
            done = subprocess.run([str(a) for a in argv], cwd=cwd or self.work,
                                  env=dict(self.env, **(env or {})), timeout=timeout,
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
        except subprocess.TimeoutExpired:
            raise Failure(f"timed out after {timeout}s: {' '.join(map(str, argv))}")
        if check and done.returncode != 0:
            raise Failure(f"exit {done.returncode}: {' '.join(map(str, argv))}: "
                          f"{done.stdout.strip()[-400:]}")
        return done

    def cluster(self, action, timeout=90, check=True):
        return self.run([CLUSTER, action], timeout, check=check)

    def sbatch(self, argv, cwd=None, env=None):
        """Submit; return the job id."""
        done = self.run(["sbatch", "--parsable"] + argv, 30, cwd=cwd, env=env)
        return done.stdout.strip().splitlines()[-1].split(";")[0]

    def jobs(self, jobid):
        """scontrol's records for jobid (an array id gives one per task)."""
        done = self.run(["scontrol", "-o", "show", "job", jobid], 20, check=False)
        records = []
        for line in done.stdout.splitlines():
            fields = dict(re.findall(r"(\w+)=(\S*)", line))
            if "JobState" in fields:
                records.append(fields)
        return records

    def wait(self, jobid, timeout, count=1):
        """Wait until jobid's count records have all ended; return them."""
        deadline = time.monotonic() + timeout
        records = []
        while time.monotonic() < deadline:
            records = self.jobs(jobid)
            if len(records) >= count and all(r["JobState"] in ENDED for r in records):
                return records
            time.sleep(1)
        self.run(["scancel", jobid], 20, check=False)
        states = ", ".join(f"{r.get('JobId')}:{r['JobState']}" for r in records) or "no record"
        raise Failure(f"job {jobid} not done after {timeout}s ({states}); cancelled")

    def mpirun_ref(self, name, job, *opts, cwd=None):
        """Run job under mpirun -n 2 into ref/NAME.h5; return that path and
        the run's own time (h5batch's "done in" line, startup left out)."""
        out = self.work / "ref" / f"{name}.h5"
        run = self.mpirun.run(2, ["-o", out, *opts, job], cwd or self.work,
                              self.work / "logs" / f"mpirun-{name}")
        expect_ok(run)
        done = re.search(r"done in ([0-9.]+) s", run.stderr)
        seconds = float(done.group(1)) if done else run.elapsed
        self.demo_s = self.demo_s or seconds
        return out, seconds


def read_log(path):
    expect(path.is_file(), f"no job log {path}")
    return path.read_text(errors="replace")


def expect_in(text, fragment, what):
    expect(fragment in text, f"{what}: no line with {fragment!r}; log ends: "
           f"{' | '.join(text.strip().splitlines()[-4:])[-500:]}")


def check_log(text, who, out):
    """Header (naming who), footer and no terminal control codes."""
    lines = [l for l in text.splitlines() if "h5batch.sbatch:" in l]
    expect(lines, "no h5batch.sbatch lines in the log")
    head = "\n".join(lines[:4])
    for fragment in (who, "ranks: 2 on 1 node(s)", "bytes in", "launcher:"):
        expect_in(head, fragment, "log header")
    expect(f"outcome: success; results in {out}" in lines[-1],
           f"last line is not the outcome: {lines[-1]!r}")
    bad = [l for l in text.splitlines() if CONTROL.search(l)]
    if bad:
        raise Failure(f"control characters in the log: {bad[0]!r}")


def check_done(rec, restarts=None):
    expect(rec["JobState"] == "COMPLETED" and rec["ExitCode"] == "0:0",
           f"job {rec['JobId']}: {rec['JobState']}, exit {rec['ExitCode']}, reason {rec.get('Reason')}")
    if restarts is not None:
        expect(rec["Restarts"] == str(restarts),
               f"job {rec['JobId']}: Restarts={rec['Restarts']}, expected {restarts}")


def same(paths, e):
    check_identical(paths, e.work)


# ---- checks ------------------------------------------------------------------

def t_cluster_start(e):
    done = e.cluster("start", check=False)
    if done.returncode == 3:
        raise Failure("a Slurm not started by local-cluster.sh runs on this machine: "
                      + done.stdout.strip())
    expect(done.returncode == 0, f"start: exit {done.returncode}: {done.stdout.strip()[-400:]}")
    again = e.cluster("start")
    expect("already running" in again.stdout, f"second start: {again.stdout.strip()}")
    e.cluster("status")
    mpi = e.run(["srun", "--mpi=list"], 30)
    expect("pmix" in mpi.stdout, f"srun --mpi=list has no pmix: {mpi.stdout.strip()}")


def t_demo(e, launcher):
    """jobs/demo.ini through sbatch equals an mpirun run of it."""
    name = f"demo-{launcher}"
    out = e.work / "results" / f"{name}.h5"
    log = e.work / "logs" / f"{name}.log"
    jobid = e.sbatch(["-n", "2", "--time=10", f"--output={log}", f"--chdir={REPO}",
                      SINGLE, DEMO_JOB, "-o", out], env={"H5BATCH_LAUNCHER": launcher})
    rec = e.wait(jobid, 180)[0]
    text = read_log(log)
    check_done(rec, restarts=0)
    check_log(text, f"job {jobid} (", out)
    expect_in(text, f"launcher: {launcher}", "launcher")
    expect_in(text, "256000000 bytes in 245 partitions", "input size")
    expect(not Path(f"{out}.ckpt").exists(), "checkpoint left after success")
    ref = e.work / "ref" / "demo.h5"
    if not ref.exists():
        e.mpirun_ref("demo", DEMO_JOB, cwd=REPO)
    same({"mpirun": ref, "sbatch": out}, e)


def t_bad_job(e):
    """A job-file error fails the job at the dry run, without a requeue."""
    job = e.work / "jobs" / "bad.ini"
    job.write_text("[input]\nfiles = data/none-*.h5\ndataset = /x\n"
                   "[output]\nfile = results/bad.h5\n")
    log = e.work / "logs" / "bad.log"
    rec = e.wait(e.sbatch(["-n", "2", "--time=10", f"--output={log}", SINGLE, job]), 60)[0]
    text = read_log(log)
    expect(rec["JobState"] == "FAILED" and rec["ExitCode"] == "2:0" and rec["Restarts"] == "0",
           f"{rec['JobState']} exit {rec['ExitCode']} restarts {rec['Restarts']}")
    expect_in(text, "h5batch: error:", "h5batch's message")
    expect_in(text, "outcome: failed (exit 2), not requeued", "outcome")


def t_runtime_failure(e):
    """A failure while running (exit 1) fails the job, without a requeue."""
    log = e.work / "logs" / "fail.log"
    out = e.work / "results" / "fail.h5"
    rec = e.wait(e.sbatch(["-n", "2", "--time=10", f"--output={log}", f"--chdir={REPO}",
                           SINGLE, DEMO_JOB, "-o", out],
                          env={"H5BATCH_TEST_FAIL_PARTITION": "3"}), 90)[0]
    text = read_log(log)
    expect(rec["JobState"] == "FAILED" and rec["ExitCode"] == "1:0" and rec["Restarts"] == "0",
           f"{rec['JobState']} exit {rec['ExitCode']} restarts {rec['Restarts']}")
    expect_in(text, "outcome: h5batch failed (exit 1); not requeued", "outcome")
    expect(not out.exists(), "a results file after a failure")


def big_job(e, copies):
    """A job over `copies` links to the demo data, and its mpirun reference;
    returns the job, the reference and the reference's wall time."""
    big = e.work / "data" / "big"
    shutil.rmtree(big, ignore_errors=True)
    big.mkdir()
    for i in range(copies):
        (big / f"part-{i:03d}.h5").symlink_to(DEMO_DATA)
    job = e.work / "jobs" / "big.ini"
    job.write_text(f"[job]\nname = big\n[input]\nfiles = {big}/*.h5\n"
                   "dataset = /sensors/temperature\n[output]\nfile = results/big.h5\n")
    ref, seconds = e.mpirun_ref("big", job)
    return job, ref, seconds


def t_requeue(e):
    """Too short a time limit: SIGUSR1 from Slurm, checkpoint, requeue, resume."""
    copies = max(4, min(MAX_COPIES, math.ceil(REQUEUE_TARGET_S / (e.demo_s or 5.0))))
    job, ref, ref_s = big_job(e, copies)
    for _ in range(3):              # the machine got faster: size it again
        if ref_s >= REQUEUE_MIN_S or copies >= MAX_COPIES:
            break
        print(f"        {copies} x 256 MB took {ref_s:.0f} s under mpirun; again", flush=True)
        copies = min(MAX_COPIES, math.ceil(copies * REQUEUE_TARGET_S / max(ref_s, 1.0)))
        job, ref, ref_s = big_job(e, copies)
    expect(ref_s >= REQUEUE_MIN_S, f"{copies} copies took only {ref_s:.0f} s under mpirun")
    log = e.work / "logs" / "requeue.log"
    jobid = e.sbatch(["-n", "2", "--time=1", "--signal=B:USR1@25", f"--output={log}",
                      SINGLE, job], env={"H5BATCH_MAX_REQUEUES": "10"})
    rec = e.wait(jobid, 420)[0]
    text = read_log(log)
    print(f"        requeue job: {copies} x 256 MB, {ref_s:.0f} s under mpirun; "
          f"restarts {rec.get('Restarts')}", flush=True)
    check_done(rec)
    expect(int(rec["Restarts"]) >= 1, f"Restarts={rec['Restarts']}: never requeued")
    for fragment in ("received SIGUSR1 from Slurm", "h5batch: interrupted by signal 10",
                     "requeueing job", "start 2 (requeued 1 ", "resuming from checkpoint"):
        expect_in(text, fragment, "requeue log")
    check_log(text, f"job {jobid} (", "results/big.h5")
    comp = (e.cluster_dir / "log/jobcomp.log").read_text()
    mine = [l for l in comp.splitlines() if l.startswith(f"JobId={jobid} ")]
    expect(any(f"DerivedExitCode={EXIT_RESUMABLE}:0" in l and "JobState=PENDING" in l
               for l in mine), f"no requeued start with exit 75 in jobcomp.log: {mine}")
    expect(not (e.work / "results/big.h5.ckpt").exists(), "checkpoint left after success")
    same({"mpirun": ref, "sbatch after requeue": e.work / "results/big.h5"}, e)


def array_jobs(e):
    """Three small job files of different types and shapes."""
    specs = [("a-f64", ["-t", "f64", "-s", "300000x8", "-c", "8192x8"]),
             ("b-i32", ["-t", "i32", "-s", "2000000", "-D", "wide"]),
             ("c-f32", ["-t", "f32be", "-s", "100000x4x3", "-c", "4096x4x3", "-z", "1",
                        "--shuffle", "--nan-frac", "0.01"])]
    jobs = []
    for i, (name, gen) in enumerate(specs):
        data = e.work / "data" / f"{name}.h5"
        e.run([e.gen, "-o", data, "-d", "/v", "--seed", str(i + 7), "-q", *gen], 120)
        job = e.work / "array" / f"{name}.ini"
        job.write_text(f"[input]\nfiles = data/{name}.h5\ndataset = /v\n"
                       f"[output]\nfile = results/{name}.h5\n")
        jobs.append((name, job, e.mpirun_ref(name, job)[0]))
    return jobs


def t_array(e, jobs, listed):
    """One task per job file, each its own log and results."""
    if listed:
        spec = e.work / "jobs" / "list.txt"
        spec.write_text("# reversed\n" + "".join(f"array/{n}.ini\n" for n, _, _ in reversed(jobs)))
        order = list(reversed(jobs))
        outdir = e.work / "outdir"
        outdir.mkdir()
        extra = {"H5BATCH_ARRAY_OUTDIR": str(outdir)}
    else:
        spec, order, outdir, extra = "array/*.ini", jobs, e.work / "results", {}
    arrayid = e.sbatch(["--array=0-2", "-n", "2", "--time=10", ARRAY, spec], env=extra)
    records = e.wait(arrayid, 180, count=3)
    for rec in records:
        check_done(rec, restarts=0)
    for task, (name, _, ref) in enumerate(order):
        log = e.work / f"h5batch-{arrayid}_{task}.log"
        text = read_log(log)
        out = f"{outdir}/{name}.h5" if listed else f"results/{name}.h5"
        expect_in(text, f"job file array/{name}.ini", f"task {task}")
        check_log(text, f"array task {arrayid}_{task},", out)
        same({"mpirun": ref, f"array task {task}": e.work / out}, e)


def t_cluster_stop(e):
    pids = [p.read_text().strip() for p in (e.cluster_dir / "run").glob("*.pid")]
    e.cluster("stop", timeout=120)
    alive = [p for p in pids if Path(f"/proc/{p}").exists()]
    expect(not alive, f"still running after stop: {alive}")
    status = e.cluster("status", check=False)
    expect(status.returncode == 1, f"status after stop: exit {status.returncode}")


def kill_leftovers(work):
    """End processes whose command line names the work folder (an mpirun
    reference cut short by a signal); Slurm's own are gone with the cluster."""
    mine = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if str(work).encode() in (proc / "cmdline").read_bytes():
                mine.append(int(proc.name))
        except OSError:
            continue
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in mine:
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        if mine and sig == signal.SIGTERM:
            time.sleep(3)
    return mine


def main():
    args = parse_args()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_stop_signal)
    report = Report()
    e = Env(args)
    print(f"work folder {e.work}", flush=True)
    stopped = False
    try:
        if not report.check("cluster starts (and a second start is a no-op)",
                            t_cluster_start, e):
            raise Failure("no cluster")
        report.check("demo job via sbatch (srun --mpi=pmix) equals mpirun", t_demo, e, "srun")
        report.check("demo job via sbatch (mpirun launcher) equals mpirun", t_demo, e, "mpirun")
        report.check("bad job file: fails at the dry run, not requeued", t_bad_job, e)
        report.check("runtime failure: exit 1, not requeued", t_runtime_failure, e)
        report.check("time limit: SIGUSR1, checkpoint, requeue, resume, same results",
                     t_requeue, e)
        jobs = []
        if report.check("array: job files and mpirun references", lambda: jobs.extend(array_jobs(e))):
            report.check("array of three (glob)", t_array, e, jobs, False)
            report.check("array of three (list file, H5BATCH_ARRAY_OUTDIR)", t_array, e, jobs, True)
        stopped = report.check("cluster stops", t_cluster_stop, e)
    except Failure as exc:
        print(f"stopping early: {exc}", flush=True)
    except Stopped as exc:
        report.fail("run", f"stopped by {exc}")
    finally:
        if not stopped:
            try:
                e.cluster("stop", timeout=120, check=False)
            except Failure as exc:
                report.fail("cluster stops", exc)
        left = kill_leftovers(e.work)
        if left:
            report.fail("nothing left running", f"killed {left}")
    rc = report.close()
    if args.keep or rc:
        print(f"work folder kept: {e.work}", flush=True)
    else:
        shutil.rmtree(e.work, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
