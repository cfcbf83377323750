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
import sys
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests/integration"))

from harness import Failure, Report, expect  # noqa: E402
from slurmjobs import (ARRAY, DEMO_JOB, EXIT_RESUMABLE, REPO, SINGLE, Env,  # noqa: E402
                       big_job, check_done, check_log, expect_in, read_log, run_on_cluster,
                       same, t_cluster_stop)

REQUEUE_TARGET_S = 60       # one uninterrupted run of the requeue job
REQUEUE_MIN_S = 45          # the signal comes 5 to 35 s after the start
MAX_COPIES = 600            # links to the demo data: free, an idle machine is fast


def parse_args():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", default=str(REPO / "build/h5batch"), help="h5batch binary")
    p.add_argument("--gen", default=str(REPO / "build/h5batch-gen"), help="h5batch-gen binary")
    p.add_argument("--keep", action="store_true", help="keep the work folder")
    return p.parse_args()


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


def main():
    args = parse_args()
    report = Report()
    e = Env(args)

    def checks():
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
        return report.check("cluster stops", t_cluster_stop, e)
    return run_on_cluster(e, report, args.keep, checks)


if __name__ == "__main__":
    sys.exit(main())
