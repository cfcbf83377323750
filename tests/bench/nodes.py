#!/usr/bin/python3
"""make bench-nodes: rank 0 reading against every worker reading, on two
nodes joined by a capped link.

Starts a 2-node Slurm of its own (slurm/local-cluster.sh start --nodes 2,
port 6857, folder under /tmp) and always stops it (also on SIGINT, SIGTERM,
SIGHUP).  Each node's link is capped with tc to RATE (default 1gbit): a
token bucket (tbf rate RATE burst 256kb latency 50ms) on the node's eth0
inside its namespace (what the node sends) and on the host's end of its
veth (what it receives), the model of one full-duplex 1 Gbit/s network
port per node.  The cap is checked: during every worker_reads = off run the
bytes into node2 divided by the run's seconds must stay under the cap.

The input is a contiguous float64 file of BENCH_NODES_GIB GiB (default 1),
generated once into data/bench/ like make bench's and read once into the
page cache.  Both nodes share this machine's kernel and so its page cache:
the files are the "parallel file system", and it delivers at memory speed
to every node; only MPI traffic crosses the capped links.  REPS rounds
(default 5), the two settings alternating within a round, each:

  srun --mpi=pmix -N 2 -n 4 h5batch -q --format json
       --set run.worker_reads=off|all job.ini       (ops = moments)

off: rank 0 (node1) reads everything and sends each worker its values;
node2's two workers get theirs over the capped link.  all: every worker
opens the file and reads the partitions rank 0 assigns it.

Printed: medians of the whole process (srun included) and of the JSON
summary's elapsed_s, the bytes into node2 per run, the ratio off/all, and
the load average at start and end (the machine may be shared).  Every
result file must be byte-identical to the others (tests/integration's
check_identical; started/finished and the like blanked): exit 1 if not.
No timing is asserted.
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True
REPO = Path(__file__).resolve().parents[2]
sys.path[0:0] = [str(REPO / "tests/integration"), str(REPO / "tests/slurm"),
                 str(REPO / "tests/bench")]

import bench  # noqa: E402  (tests/bench/bench.py: the data)
from harness import Failure  # noqa: E402
from slurmjobs import Env, Stopped, on_stop_signal  # noqa: E402
from verify import check_identical  # noqa: E402

PORT = 6857                 # test-slurm 6817, test-multinode 6837
TAG = f"h5b{PORT}"          # local-cluster.sh's names
SUBNET = f"10.231.{PORT % 256}"
NODES, RANKS = 2, 4
MODES = ("off", "all")
RUN_TIMEOUT_S = 900
TBF = ["burst", "256kb", "latency", "50ms"]
UNITS = {"kbit": 1e3 / 8, "mbit": 1e6 / 8, "gbit": 1e9 / 8}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", default=str(REPO / "build/h5batch"))
    p.add_argument("--gen", default=str(REPO / "build/h5batch-gen"))
    p.add_argument("--gib", type=float, default=float(os.environ.get("BENCH_NODES_GIB", 1)))
    p.add_argument("--reps", type=int, default=int(os.environ.get("BENCH_NODES_REPS", 5)))
    p.add_argument("--rate", default="1gbit", help="tc rate per node and direction")
    p.add_argument("--out", default=str(REPO / "results/bench-nodes.json"))
    p.add_argument("--keep", action="store_true", help="keep the work folder")
    return p.parse_args()


def rate_bytes(rate):
    """tc's rate ("1gbit") in bytes per second."""
    for unit, scale in UNITS.items():
        if rate.endswith(unit):
            return float(rate[:-len(unit)]) * scale
    sys.exit(f"bench-nodes: --rate {rate!r}: give kbit, mbit or gbit")


def loadavg():
    return Path("/proc/loadavg").read_text().split()[0]


def veth_into(node):
    """Bytes the host has sent into node's namespace (its veth end's tx)."""
    return int(Path(f"/sys/class/net/{TAG}v{node}/statistics/tx_bytes").read_text())


def cap_links(e, rate):
    """tbf on both ends of every node's veth; returns tc's own listing."""
    shown = []
    for k in range(1, NODES + 1):
        ns, host_end = f"{TAG}n{k}", f"{TAG}v{k}"
        e.run(["ip", "netns", "exec", ns, "tc", "qdisc", "replace", "dev", "eth0",
               "root", "tbf", "rate", rate, *TBF], 10)
        e.run(["tc", "qdisc", "replace", "dev", host_end, "root", "tbf", "rate", rate,
               *TBF], 10)
        shown.append(e.run(["ip", "netns", "exec", ns, "tc", "qdisc", "show", "dev",
                            "eth0"], 10).stdout.strip())
        shown.append(e.run(["tc", "qdisc", "show", "dev", host_end], 10).stdout.strip())
    for line in shown:
        if "tbf" not in line:
            raise Failure(f"no tbf qdisc: {line!r}")
    return shown


# A receiver in node2 that counts what arrives until EOF, and a sender in
# node1 that writes PROBE_MB as fast as it can: node1 -> node2 at link speed.
RECV = ("import socket,sys\ns=socket.socket();s.setsockopt(socket.SOL_SOCKET,"
        "socket.SO_REUSEADDR,1)\ns.bind(('', 5201));s.listen(1);print('up',flush=True)\n"
        "c,_=s.accept();n=0\nwhile True:\n b=c.recv(1<<20)\n if not b: break\n n+=len(b)\n"
        "print(n,flush=True)")
SEND = ("import socket,sys,time\nc=socket.create_connection((sys.argv[1],5201))\n"
        "b=bytes(1<<20);t=time.perf_counter()\nfor _ in range(int(sys.argv[2])): c.sendall(b)\n"
        "c.shutdown(socket.SHUT_WR);c.recv(1);print(time.perf_counter()-t)")
PROBE_MB = 100


def link_rate(e):
    """Bytes per second from node1 to node2 over TCP (PROBE_MB MiB)."""
    recv = subprocess.Popen(["ip", "netns", "exec", f"{TAG}n2", sys.executable, "-c", RECV],
                            stdout=subprocess.PIPE, text=True)
    try:
        recv.stdout.readline()
        sent = e.run(["ip", "netns", "exec", f"{TAG}n1", sys.executable, "-c", SEND,
                      f"{SUBNET}.12", str(PROBE_MB)], 120)
        got = recv.stdout.readline().strip()
    finally:
        recv.kill()
        recv.wait()
    if got != str(PROBE_MB << 20):
        raise Failure(f"link probe: node2 got {got} bytes of {PROBE_MB << 20}")
    return int(got) / float(sent.stdout.split()[-1])


def run_once(e, job, mode, out):
    """One srun; returns (whole seconds, elapsed_s, bytes into node2)."""
    argv = ["srun", "--mpi=pmix", f"--nodes={NODES}", f"--ntasks={RANKS}", e.bin, "-q",
            "--format", "json", "--set", f"run.worker_reads={mode}", "-o", out, job]
    before = veth_into(2)
    t = time.perf_counter()
    done = subprocess.run([str(a) for a in argv], cwd=e.work, env=e.env, text=True,
                          stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=RUN_TIMEOUT_S)
    whole = time.perf_counter() - t
    carried = veth_into(2) - before
    if done.returncode != 0:
        raise Failure(f"worker_reads={mode}: exit {done.returncode}: "
                      f"{done.stderr.strip()[-600:]}")
    doc = json.loads(done.stdout)
    hosts = sorted({n["host"] for n in doc["nodes"]})
    if hosts != ["node1", "node2"]:
        raise Failure(f"worker_reads={mode}: ran on {hosts}, expected node1 and node2")
    return whole, float(doc["elapsed_s"]), carried


def measure(e, a):
    cap = rate_bytes(a.rate)
    n = max(bench.CHUNK_ROWS, int(a.gib * bench.GIB) // 8)
    path = bench.ensure_data(str(e.gen), str(REPO / "data/bench"), f"f64-{n}-contig",
                             ["-s", str(n)])
    nbytes, _ = bench.dataset_bytes(path)
    job = e.work / "job.ini"
    job.write_text(f"[job]\nname = bench-nodes\n[input]\nfiles = {path}\ndataset = /data\n"
                   f"[reduce]\nops = {bench.MOMENTS}\n[output]\nfile = out.h5\n")
    done = e.cluster("start", "--nodes", str(NODES), timeout=180, check=False)
    if done.returncode != 0:
        raise Failure(f"cluster start: exit {done.returncode}: {done.stdout.strip()[-400:]}")
    free = link_rate(e)
    for line in cap_links(e, a.rate):
        print(f"tc: {line}", flush=True)
    capped = link_rate(e)
    print(f"node1 -> node2 over TCP: {free / 1e6:.0f} MB/s uncapped, {capped / 1e6:.0f} MB/s "
          f"capped (cap {cap / 1e6:.0f} MB/s)", flush=True)
    if capped > 1.1 * cap:
        raise Failure(f"the capped link carried {capped / 1e6:.0f} MB/s: tc is not in effect")
    print(f"page cache: read {nbytes / bench.GIB:.2f} GiB in {bench.warm(path):.1f} s",
          flush=True)
    load0 = loadavg()
    samples = {m: [] for m in MODES}
    outs = {}
    for rep in range(a.reps):
        for mode in (MODES if rep % 2 == 0 else MODES[::-1]):
            out = e.work / "results" / f"{mode}-{rep}.h5"
            whole, elapsed, carried = run_once(e, job, mode, out)
            samples[mode].append((whole, elapsed, carried))
            outs[f"{mode} round {rep}"] = out
            print(f"round {rep} worker_reads={mode:3}: {whole:6.2f} s whole, "
                  f"{elapsed:6.2f} s elapsed_s, {carried / 1e6:8.1f} MB into node2 "
                  f"({carried / elapsed / 1e6:6.1f} MB/s)", flush=True)
            if mode == "off" and carried / elapsed > 1.1 * cap:
                raise Failure(f"node2's link carried {carried / elapsed / 1e6:.1f} MB/s, "
                              f"over the cap of {cap / 1e6:.0f} MB/s: tc is not in effect")
    load1 = loadavg()
    check_identical(outs, e.work)
    print(f"results: all {len(outs)} byte-identical (check_identical)", flush=True)
    report(a, nbytes, cap, samples, load0, load1)


def report(a, nbytes, cap, samples, load0, load1):
    med = {m: [statistics.median(s[i] for s in samples[m]) for i in range(3)]
           for m in MODES}
    print(f"\n2 nodes x 2 ranks, links capped at {a.rate} ({cap / 1e6:.0f} MB/s) per node "
          f"and direction; {nbytes / bench.GIB:.2f} GiB float64 contiguous, page cache; "
          f"moments; medians of {a.reps}; load average {load0} at start, {load1} at end")
    print(f"{'worker_reads':14}{'whole s':>10}{'elapsed_s':>11}{'MB into node2':>15}"
          f"{'GB/s (elapsed)':>16}")
    for m in MODES:
        whole, elapsed, carried = med[m]
        print(f"{m:14}{whole:10.2f}{elapsed:11.2f}{carried / 1e6:15.1f}"
              f"{nbytes / elapsed / 1e9:16.2f}")
    print(f"{'ratio off/all':14}{med['off'][0] / med['all'][0]:10.2f}"
          f"{med['off'][1] / med['all'][1]:11.2f}")
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump({"rate": a.rate, "bytes": nbytes, "reps": a.reps, "load": [load0, load1],
                   "samples": samples, "medians": med}, f, indent=1)
    print(f"written {a.out}")


def main():
    a = parse_args()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_stop_signal)
    e = Env(a, prefix="h5batch-bench-nodes-", port=PORT)
    e.env.update(OMPI_MCA_btl_tcp_if_include=f"{SUBNET}.0/24",
                 OMPI_MCA_oob_tcp_if_include=f"{SUBNET}.0/24")
    rc = 1
    try:
        measure(e, a)
        rc = 0
    except (Failure, Stopped) as exc:
        print(f"bench-nodes: {exc}", file=sys.stderr, flush=True)
    finally:
        # Stopping deletes the namespaces and with them the veths and qdiscs.
        stop = e.cluster("stop", timeout=120, check=False)
        if stop.returncode != 0:
            print(f"bench-nodes: stop: {stop.stdout.strip()[-400:]}", file=sys.stderr)
            rc = 1
        if a.keep or rc:
            print(f"work folder kept: {e.work}", flush=True)
        else:
            shutil.rmtree(e.work, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
