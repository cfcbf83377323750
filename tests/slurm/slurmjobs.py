"""Submitting to the Slurm of slurm/local-cluster.sh, for the runners of
make test-slurm (tests/slurm/run.py) and make test-multinode
(tests/multinode/run.py).

Env owns a work folder and the environment every command gets (SLURM_CONF
of the cluster in the folder, no SLURM_* of an enclosing job), starts and
stops the cluster, submits with sbatch and polls `scontrol show job` (there
is no slurmdbd, so no sacct) until a job ends, under a timeout after which
the job is cancelled.
"""

import os
import re
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import shutil

from harness import Failure, Tool, expect, expect_ok
from verify import check_identical

REPO = Path(__file__).resolve().parents[2]
CLUSTER = REPO / "slurm/local-cluster.sh"
ENDED = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "PREEMPTED",
         "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE"}
EXIT_RESUMABLE = 75
SINGLE = REPO / "slurm/h5batch.sbatch"
ARRAY = REPO / "slurm/h5batch-array.sbatch"
DEMO_JOB = REPO / "jobs/demo.ini"
DEMO_DATA = REPO / "data/demo.h5"
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class Stopped(BaseException):
    """SIGINT/SIGTERM arrived: unwind so the cluster is stopped."""


def on_stop_signal(signum, _frame):
    raise Stopped(f"signal {signum}")


class Env:
    """The work folder, the environment every command gets, and helpers."""

    def __init__(self, args, prefix="h5batch-slurm-test-", port=None):
        self.work = Path(tempfile.mkdtemp(prefix=prefix))
        self.bin = Path(args.bin).resolve()
        self.gen = Path(args.gen).resolve()
        self.cluster_dir = self.work / "cluster"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
        self.env.update(H5BATCH_SLURM_DIR=str(self.cluster_dir), H5BATCH=str(self.bin),
                        SLURM_CONF=str(self.cluster_dir / "etc/slurm.conf"))
        if port is not None:
            self.env["H5BATCH_SLURM_PORT"] = str(port)
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

    def cluster(self, action, *options, timeout=90, check=True):
        return self.run([CLUSTER, action, *options], timeout, check=check)

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


def check_log(text, who, out, ranks=2, nodes=1):
    """Header (naming who, the ranks and nodes), footer and no terminal
    control codes."""
    lines = [l for l in text.splitlines() if "h5batch.sbatch:" in l]
    expect(lines, "no h5batch.sbatch lines in the log")
    head = "\n".join(lines[:4])
    for fragment in (who, f"ranks: {ranks} on {nodes} node(s)", "bytes in", "launcher:"):
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


def t_cluster_stop(e):
    """stop ends every daemon it started, and status then says so."""
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


def run_on_cluster(e, report, keep, checks):
    """The end of both Slurm runners: run checks() (which returns whether
    its last check, the cluster's stop, passed), and whatever happened stop
    the cluster (also on SIGINT, SIGTERM and SIGHUP), end what is left of
    ours, print the closing lines and keep or remove the work folder.
    Returns the exit code."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_stop_signal)
    print(f"work folder {e.work}", flush=True)
    stopped = False
    try:
        stopped = checks()
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
    if keep or rc:
        print(f"work folder kept: {e.work}", flush=True)
    else:
        shutil.rmtree(e.work, ignore_errors=True)
    return rc
