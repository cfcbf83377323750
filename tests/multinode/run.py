#!/usr/bin/python3
"""h5batch on two nodes of a Slurm on this machine (make test-multinode).

slurm/local-cluster.sh start --nodes 2 makes node1 and node2: each a
network and UTS namespace of its own (its own hostname and address) on a
bridge, each with its own slurmd; the files are the same on both, as on a
parallel file system.  So Open MPI sees two hosts: MPI_Comm_split_type
gives two groups, and the values of workers on node2 travel over TCP
through the veth links, the only path between the namespaces.

The checks:
- the nodes are two hosts, each with its own address, and Open MPI is told
  to use the bridge's subnet only;
- integration cases whose bytes on the wire depend on the layout (contiguous,
  deflate, several files, a compound table, CF, tiles) run alone (no MPI, the
  reference) and on 2 nodes x 2 ranks: through sbatch -N 2 (srun in the
  batch script; sbatch-wait.sh) with worker_reads = off (node2's workers
  get every value from rank 0), through srun with worker_reads = all
  (every worker reads the files itself), and through Open MPI's mpirun
  inside an allocation (salloc, all); each result checked against the oracle
  (tests/integration) and all byte-identical once started/finished/ranks
  are blanked;
- worker_reads = all on a group-by key dataset across the nodes, and the
  fallback when the nodes' file checks differ (tests/integration's
  cli/worker-reads-all on 2 nodes);
- --dry-run and the JSON summary name both nodes and each worker's
  transport, and node2's veth link carries the values with worker_reads =
  off and not with all (its byte counters);
- jobs/demo.ini through sbatch -N 2 (srun, and the mpirun launcher) equals
  a 1-rank run;
- scontrol requeue mid-run: the job starts again and resumes from the
  checkpoint, with the same bytes;
- kill -9 of a rank on node2 ends the whole job (the time is printed, no
  assertion on it beyond a generous guard); resubmitting resumes and
  finishes with the same bytes;
- stop leaves no namespace, link or process behind.
"""

import argparse
import dataclasses
import json
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True
REPO = Path(__file__).resolve().parents[2]
sys.path[0:0] = [str(REPO / "tests/integration"), str(REPO / "tests/slurm")]

import run as integration  # noqa: E402  (tests/integration/run.py)
from cases import all_data_cases  # noqa: E402
from cli_cases import worker_reads_all  # noqa: E402
from featurecase import run_feature_case  # noqa: E402
from harness import Failure, Report, Tool, expect, expect_ok  # noqa: E402
from matrix import P2P_FAMILIES  # noqa: E402
from realdata import realdata_cases  # noqa: E402
from slurmjobs import (DEMO_DATA, DEMO_JOB, SINGLE, Env, check_done, check_log,  # noqa: E402
                       expect_in, read_log, run_on_cluster, same,
                       t_cluster_stop)
from tiles import tile_cases  # noqa: E402

PORT = 6837                 # slurmctld's; test-slurm's cluster uses 6817
TAG = f"h5b{PORT}"          # local-cluster.sh's names: bridge, namespaces, links
SUBNET = f"10.231.{PORT % 256}"
NODES, RANKS = 2, 4
SRUN, SBATCH, MPIRUN = "srun-nodes", "sbatch-nodes", "salloc-mpirun"
TIMEOUT_S = 120
# Cases whose WORK messages (values sent, or read requests) differ by
# layout: matrix.P2P_FAMILIES, one or two of each.
CASES = ("layout/contiguous", "layout/deflate-shuffle", "layout/chunks-not-dividing",
         "multi/twelve-files", "multi/mixed-byte-order-f4", "table/pandas-fields",
         "cf/packed-int16-scale-offset-fill-valid-range", "tiled/float32-40x1000x1000")
LONG_RUN_S = 20             # one uninterrupted run of the requeue and kill jobs
KILL_GUARD_S = 60           # a killed rank must end the job well within this
CHECKPOINT_EVERY = ["--set", "run.checkpoint_every=1"]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", default=str(REPO / "build/h5batch"), help="h5batch binary")
    p.add_argument("--gen", default=str(REPO / "build/h5batch-gen"), help="h5batch-gen binary")
    p.add_argument("-k", dest="filter", default="", help="only the checks whose name has this")
    p.add_argument("--keep", action="store_true", help="keep the work folder")
    p.add_argument("--all-cases", action="store_true",
                   help="every case of matrix.P2P_FAMILIES, off (sbatch) against all "
                        "(srun), instead of CASES; not in CI (about 10 minutes)")
    return p.parse_args()


class Cluster(Env):
    """Env on the 2-node cluster: the tools that start ranks on it."""

    def __init__(self, args):
        super().__init__(args, prefix="h5batch-multinode-test-", port=PORT)
        # Open MPI's mpirun (salloc-mpirun) runs in this shell's namespace:
        # it too must use the bridge only.
        self.env.update(OMPI_MCA_btl_tcp_if_include=f"{SUBNET}.0/24",
                        OMPI_MCA_oob_tcp_if_include=f"{SUBNET}.0/24")
        binary = self.bin
        self.alone = Tool(binary, TIMEOUT_S)
        self.sbatch_off = Tool(binary, TIMEOUT_S, SBATCH, "sbatch -N 2, reads off",
                               ["--set", "run.worker_reads=off"])
        self.srun_all = Tool(binary, TIMEOUT_S, SRUN, "srun -N 2, reads all",
                             ["--set", "run.worker_reads=all"])
        self.mpirun = Tool(binary, TIMEOUT_S, MPIRUN, "salloc mpirun, reads all",
                           ["--set", "run.worker_reads=all"])
        self.srun = Tool(binary, TIMEOUT_S, SRUN)

    def netns_pids(self, node):
        """Pids of h5batch processes inside node's network namespace."""
        done = self.run(["ip", "netns", "pids", f"{TAG}n{node}"], 10, check=False)
        pids = [int(p) for p in done.stdout.split()]
        return [p for p in pids if comm(p) == "h5batch"]


def comm(pid):
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def ours(text):
    """Lines of `ip netns list` / `ip -o link` that name this cluster's links."""
    return [line for line in text.splitlines() if TAG in line]


# ---- checks ------------------------------------------------------------------

def t_cluster_start(e):
    done = e.cluster("start", "--nodes", str(NODES), check=False)
    expect(done.returncode == 0, f"start: exit {done.returncode}: {done.stdout.strip()[-400:]}")
    again = e.cluster("start", "--nodes", str(NODES))
    expect("already running" in again.stdout, f"second start: {again.stdout.strip()}")
    e.cluster("status")
    spaces = ours(e.run(["ip", "netns", "list"], 10).stdout)
    expect(len(spaces) == NODES + 1, f"namespaces {spaces}: expected {NODES} nodes + slurmctld")
    mpi = e.run(["srun", "--mpi=list"], 30)
    expect("pmix" in mpi.stdout, f"srun --mpi=list has no pmix: {mpi.stdout.strip()}")


def t_two_hosts(e):
    """Ranks 0-1 on node1, 2-3 on node2, each node its own address, and
    Open MPI held to the bridge's subnet in every task."""
    show = ("echo $SLURM_PROCID $(hostname) $OMPI_MCA_btl_tcp_if_include "
            "$(ip -4 -o addr show | awk '{print $2 \"=\" $4}' | sort | tr '\\n' ' ')")
    done = e.run(["srun", f"--nodes={NODES}", f"--ntasks={RANKS}", "sh", "-c", show], 60)
    rows = sorted(line.split() for line in done.stdout.splitlines() if line[:1].isdigit())
    expect(len(rows) == RANKS, f"srun printed {done.stdout!r}")
    for rank, host, include, *addrs in rows:
        node = int(rank) // 2 + 1
        expect(host == f"node{node}", f"rank {rank} on {host}, expected node{node}")
        expect(include == f"{SUBNET}.0/24", f"rank {rank}: btl_tcp_if_include {include!r}")
        want = ["eth0=" + f"{SUBNET}.{10 + node}/24", "lo=127.0.0.1/8"]
        expect(sorted(addrs) == want, f"rank {rank} on {host} has addresses {addrs}, "
                                      f"expected {want}")


def data_runs(e, every=False):
    """The tools and rank counts every integration case runs with (with
    --all-cases: off through sbatch and all through srun)."""
    if every:
        return [(e.sbatch_off, RANKS), (e.srun_all, RANKS)]
    return [(e.sbatch_off, RANKS), (e.srun_all, RANKS), (e.mpirun, RANKS)]


def case_names(every):
    """CASES, or with --all-cases every data and feature case of
    matrix.P2P_FAMILIES (the families whose messages differ by layout)."""
    if not every:
        return CASES
    names = [c.name for c in all_data_cases() + realdata_cases() + tile_cases()]
    return [n for n in names if n.startswith(P2P_FAMILIES)]


def run_cases(e, report, chosen, every=False):
    """Each case alone (the reference, no MPI) and on 2 nodes."""
    data = {c.name: c for c in all_data_cases()}
    features = {c.name: c for c in realdata_cases() + tile_cases()}
    tmp = e.work / "cases"
    for name in case_names(every):
        if not chosen(name):
            continue
        if name in data:
            integration.run_data_case(e.alone, Tool(e.gen, TIMEOUT_S), [0], data[name], tmp, report,
                                      data_runs(e, every))
        else:
            # Its extra checks (rank 0's RSS, the dry run's tiles) are
            # tests/integration's, on one node.
            case = dataclasses.replace(features[name], extra=[])
            run_feature_case(e.alone, [0], case, tmp, report, data_runs(e, every))


def t_worker_reads_all(e):
    """tests/integration's cli/worker-reads-all on 2 nodes: a group-by key
    dataset read by every worker, the same bytes as off, and the fallback
    when every node's file check differs."""
    case_dir = e.work / "worker-reads-all"
    case_dir.mkdir()
    worker_reads_all(e.srun, RANKS, case_dir)


def veth_bytes(e, node):
    """Bytes sent into node's namespace through its veth (the host end's tx)."""
    stats = Path(f"/sys/class/net/{TAG}v{node}/statistics/tx_bytes")
    return int(stats.read_text())


def summary_run(e, tool, case_dir, reads):
    """A JSON run on 2 nodes with worker_reads = reads; returns the summary
    and the bytes node2's link carried into it meanwhile."""
    before = veth_bytes(e, 2)
    name = f"{tool.mpi}-{reads}"
    run = tool.run(RANKS, ["--format", "json", "--set", f"run.worker_reads={reads}",
                           "-o", f"results/{name}.h5", "job.ini"], case_dir,
                   case_dir / ".log" / name)
    expect_ok(run)
    return json.loads(run.stdout), veth_bytes(e, 2) - before


def t_dry_run_and_summary(e):
    """--dry-run names both nodes and node2's transport; the JSON summary
    gives each worker's host and transport (srun, sbatch and mpirun);
    node2's link carries the values
    when rank 0 sends them, and not when the workers read the files."""
    case_dir = e.work / "summary"
    (case_dir / "data").mkdir(parents=True)
    (case_dir / "results").mkdir()
    data = case_dir / "data/v.h5"
    e.run([e.gen, "-o", data, "-d", "/v", "-t", "f64", "-s", "1000000x4", "-c", "8192x4",
           "-z", "1", "--shuffle", "--seed", "5", "-q"], 120)
    (case_dir / "job.ini").write_text("[input]\nfiles = data/v.h5\ndataset = /v\n"
                                      "partition_size = 1M\n[output]\nfile = results/out.h5\n")
    dry = e.srun.run(RANKS, ["--dry-run", "--set", "run.worker_reads=all", "job.ini"], case_dir)
    expect_ok(dry)
    for line in ("nodes: 2 (node1: ranks 0-1; node2: ranks 2-3)",
                 "  node2: transport: point to point; worker reads: yes, from the files"):
        expect(line in dry.stdout, f"--dry-run has no line {line!r}: {dry.stdout!r}")
    partition = 1 << 20
    outs = {}
    for tool, reads, source in ((e.srun, "off", "rank0"), (e.srun, "all", "file"),
                                (Tool(e.bin, TIMEOUT_S, SBATCH), "off", "rank0"),
                                (Tool(e.bin, TIMEOUT_S, MPIRUN), "off", "rank0")):
        doc, carried = summary_run(e, tool, case_dir, reads)
        outs[f"{tool.mpi}-{reads}"] = case_dir / f"results/{tool.mpi}-{reads}.h5"
        nodes = [(n["host"], n["ranks"]) for n in doc["nodes"]]
        expect(nodes == [("node1", [0, 1]), ("node2", [2, 3])], f"summary nodes {nodes}")
        workers = {w["rank"]: (w["host"], w["transport"], w["reads"])
                   for w in doc["timing"]["workers"]}
        want = {1: ("node1", "shared_memory", source), 2: ("node2", "messages", source),
                3: ("node2", "messages", source)}
        expect(workers == want, f"worker_reads={reads}: workers {workers}, expected {want}")
        print(f"        {tool.mpi}, worker_reads={reads}: node2's link carried {carried} "
              "bytes in", flush=True)
        if reads == "off":      # node2's two workers start with prefetch partitions each
            expect(carried >= 2 * partition, f"only {carried} bytes went to node2")
        else:
            expect(carried < partition, f"{carried} bytes went to node2 though it reads")
    same(outs, e)


def reference(e, name, job, cwd):
    """A 1-rank run (no MPI) of job into ref/NAME.h5; returns it and its time."""
    out = e.work / "ref" / f"{name}.h5"
    run = e.alone.run(0, ["-o", out, job], cwd, e.work / "logs" / f"ref-{name}")
    expect_ok(run)
    done = re.search(r"done in ([0-9.]+) s", run.stderr)
    return out, float(done.group(1)) if done else run.elapsed


def submit(e, name, job, *opts, launcher="srun", cwd=None, time_limit="10"):
    """sbatch -N 2 -n 4 h5batch.sbatch; returns the job id, log and output."""
    out = e.work / "results" / f"{name}.h5"
    log = e.work / "logs" / f"{name}.log"
    jobid = e.sbatch([f"--nodes={NODES}", f"--ntasks={RANKS}", f"--time={time_limit}",
                      f"--output={log}", f"--chdir={cwd or e.work}", SINGLE, job,
                      "-o", out, *opts], env={"H5BATCH_LAUNCHER": launcher})
    return jobid, log, out


def t_demo(e, launcher):
    """jobs/demo.ini through sbatch -N 2 -n 4 equals a 1-rank run."""
    ref = e.work / "ref/demo.h5"
    if not ref.exists():
        e.demo_s = reference(e, "demo", DEMO_JOB, REPO)[1]
    jobid, log, out = submit(e, f"demo-{launcher}", DEMO_JOB, launcher=launcher, cwd=REPO)
    rec = e.wait(jobid, 180)[0]
    text = read_log(log)
    check_done(rec, restarts=0)
    check_log(text, f"job {jobid} (", out, ranks=RANKS, nodes=NODES)
    expect_in(text, "node(s): node[1-2] (node1,node2)", "node list")
    expect_in(text, f"launcher: {launcher}", "launcher")
    same({"1 rank": ref, f"sbatch -N 2 ({launcher})": out}, e)


class Long:
    """A job over links to the demo data that runs about LONG_RUN_S alone."""

    def __init__(self, e):
        big = e.work / "data/big"
        big.mkdir(parents=True)
        # A first guess from the demo's own time (one copy), when it ran.
        copies = math.ceil(LONG_RUN_S / e.demo_s) if e.demo_s else 8
        copies, self.seconds = min(200, max(4, copies)), 0.0
        for _ in range(3):
            for i in range(copies):
                link = big / f"part-{i:03d}.h5"
                if not link.exists():
                    link.symlink_to(DEMO_DATA)
            self.job = e.work / "jobs/big.ini"
            self.job.write_text(f"[job]\nname = big\n[input]\nfiles = {big}/*.h5\n"
                                "dataset = /sensors/temperature\n"
                                "[output]\nfile = results/big.h5\n")
            self.ref, self.seconds = reference(e, "big", self.job, e.work)
            if self.seconds >= LONG_RUN_S / 2:
                break
            copies = min(200, int(copies * LONG_RUN_S / max(self.seconds, 0.5)) + 1)
        self.copies = copies
        print(f"        long job: {copies} x 256 MB, {self.seconds:.1f} s on 1 rank", flush=True)


def wait_for(what, cond, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.2)
    raise Failure(f"no {what} after {timeout} s")


def t_requeue(e, long):
    """scontrol requeue while h5batch runs on both nodes: the job starts
    again, resumes from the checkpoint and gives the same bytes."""
    jobid, log, out = submit(e, "requeue", long.job, *CHECKPOINT_EVERY)
    ckpt = Path(f"{out}.ckpt")
    wait_for("checkpoint", ckpt.exists, 120)
    expect(e.netns_pids(2), "no rank on node2 while the job runs")
    e.run(["scontrol", "requeue", jobid], 20)
    rec = e.wait(jobid, 300)[0]
    text = read_log(log)
    check_done(rec)
    expect(int(rec["Restarts"]) >= 1, f"Restarts={rec['Restarts']}: never requeued")
    for fragment in ("start 2 (requeued 1 ", "resuming from checkpoint"):
        expect_in(text, fragment, "requeue log")
    check_log(text, f"job {jobid} (", out, ranks=RANKS, nodes=NODES)
    expect(not ckpt.exists(), "checkpoint left after success")
    same({"1 rank": long.ref, "sbatch -N 2 after requeue": out}, e)


def t_kill_rank(e, long):
    """kill -9 of a rank on node2 ends the job on both nodes; submitting
    again resumes and finishes with the same bytes."""
    jobid, log, out = submit(e, "kill", long.job, *CHECKPOINT_EVERY)
    ckpt = Path(f"{out}.ckpt")
    wait_for("checkpoint", ckpt.exists, 120)
    victims = e.netns_pids(2)
    expect(victims, "no rank on node2 while the job runs")
    killed = time.monotonic()
    subprocess.run(["kill", "-9", str(victims[-1])], check=False)
    e.wait(jobid, KILL_GUARD_S)

    def gone():
        return not e.netns_pids(1) and not e.netns_pids(2)
    wait_for("end of every rank", gone, KILL_GUARD_S)
    ended = time.monotonic() - killed
    rec = e.jobs(jobid)[0]
    print(f"        kill -9 of rank pid {victims[-1]} on node2: job {rec['JobState']} "
          f"(exit {rec['ExitCode']}) and every rank gone {ended:.1f} s later", flush=True)
    expect(rec["JobState"] == "FAILED", f"job {rec['JobState']} after a rank was killed")
    expect_in(read_log(log), "not requeued", "log of the killed job")
    expect(ckpt.exists(), "no checkpoint kept after the kill")
    jobid, log, out = submit(e, "kill", long.job, *CHECKPOINT_EVERY)
    rec = e.wait(jobid, 300)[0]
    check_done(rec, restarts=0)
    expect_in(read_log(log), "resuming from checkpoint", "log of the second submission")
    same({"1 rank": long.ref, "sbatch -N 2 after kill -9 and resume": out}, e)


def t_stop_all(e):
    """tests/slurm's stop check, then nothing of the nodes' namespaces left."""
    t_cluster_stop(e)
    left = ours(e.run(["ip", "netns", "list"], 10).stdout)
    left += ours(e.run(["ip", "-o", "link"], 10).stdout)
    expect(not left, f"left after stop: {left}")


def main():
    args = parse_args()
    report = Report()
    e = Cluster(args)
    # harness.run_tool passes os.environ on to every run: the cluster's.
    os.environ.clear()
    os.environ.update(e.env)

    def chosen(name):
        return args.filter in name

    def checks():
        if not report.check("cluster starts with 2 nodes (a second start is a no-op)",
                            t_cluster_start, e):
            raise Failure("no cluster")
        report.check("two hosts: node1 and node2, each its own address", t_two_hosts, e)
        run_cases(e, report, chosen, args.all_cases)
        if chosen("worker-reads-all"):
            report.check("cli/worker-reads-all on 2 nodes", t_worker_reads_all, e)
        if chosen("summary"):
            report.check("dry run, summary and node2's link on 2 nodes",
                         t_dry_run_and_summary, e)
        for launcher in ("srun", "mpirun"):
            if chosen("demo"):
                report.check(f"demo via sbatch -N 2 ({launcher} launcher) equals 1 rank",
                             t_demo, e, launcher)
        longs = []
        if chosen("requeue") or chosen("kill"):
            report.check("long job and its 1-rank reference", lambda: longs.append(Long(e)))
        if longs and chosen("requeue"):
            report.check("scontrol requeue mid-run on 2 nodes: resume, same bytes",
                         t_requeue, e, longs[0])
        if longs and chosen("kill"):
            report.check("kill -9 of a rank on node2 ends the job; resume, same bytes",
                         t_kill_rank, e, longs[0])
        return report.check("cluster stops: no namespace, link or process left",
                            t_stop_all, e)
    return run_on_cluster(e, report, args.keep, checks)


if __name__ == "__main__":
    sys.exit(main())
