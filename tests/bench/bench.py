#!/usr/bin/python3
"""bench.py -- `make bench`: h5batch against the bare read and the peers.

For each case (a dataset generated once by h5batch-gen into data/bench/
and reused), the page cache is warmed (cat FILE > /dev/null) right before
the case and again before every round, since this machine evicts idle
pages; then the tools run side by side, one round after another, REPS
rounds, each round starting one tool later so no tool always runs first.
Before each round the script waits (at most --max-wait, default 10 s) for
other processes to use less than --quiet-cores (0.5) cores.  The tools:

  bare       tests/bench/bare_read.c: a sequential H5Dread loop, 1 MiB
             hyperslabs of whole records, chunk cache 0 (the reference)
  h5b-1      h5batch on 1 rank (no mpirun, as a user runs it), moments;
             a second thread reads ahead (read_ahead = auto, 2 CPUs here)
  h5b-1-seq  the same with read_ahead = off: one thread reads and reduces
             in turn
  h5b-2      mpirun -n 2 h5batch, moments (count mean std min max); on
             contiguous data the worker reads its partitions from the file
             itself (worker_reads = auto), else rank 0's shared pool
  h5b-2-r0read  the same with worker_reads = off: rank 0 reads every
             partition into the shared pool (contiguous cases only)
  h5b-2-p2p  the same with shared_memory = off and worker_reads = off:
             every partition is sent point to point, as to a worker on
             another node
  h5b-1-exact, h5b-2-exact  h5b-1 and h5b-2 with [reduce] exact = yes
             (exact sums, README "Exact sums"; contiguous cases only)
  h5b-2-hq   mpirun -n 2 h5batch, moments + 64-bin histogram with an
             explicit range (no second pass) + quantiles
  h5b-3      mpirun -n 3 h5batch, moments (deflate case only): the two
             workers inflate the chunks
  h5b-3-r0dec  the same with worker_decode = off: rank 0 decodes
  numpy      tests/bench/peer_numpy.py: h5py + numpy, 8 MiB slices read
             with read_direct into one buffer, moments combined per slice
  numpy-simple  the same with x = ds[a:b] and x.mean/x.var/x.min/x.max
  dask       tests/bench/peer_dask.py, if dask is importable

Each sample records the wall time of the whole command and the tool's own
time (bare: first to last read; h5batch: elapsed_s of --format json, first
read to results written; peers: file open to last statistic), peak RSS of
every process (GNU time %M, each MPI rank wrapped separately), the CPU
seconds of all its processes (busy-polling MPI ranks included), and how many
cores other processes kept busy meanwhile (/proc/stat minus our children),
since the machine is shared.  Medians and ratios to the bare read of the
same case and run are printed and written, with every sample and the
machine, to results/bench.json.

Whole processes (after the cases; --no-whole skips them, --no-main runs
only them): on the contiguous case at each of --whole-gb's sizes
(default 0.25, 2 and 8 GiB), what a user waits from Enter to the
prompt, launcher and MPI_Init included, each command run as typed (no
/usr/bin/time or wrapper per rank): h5batch --version; h5batch on 1 rank
without a launcher; mpirun -n 2 and -n 3 with Open MPI's default pml
(H5BATCH_PML=keep) and with h5batch's choice (ob1 on one node,
src/mpienv.h); the numpy and dask peers (with OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE unset).  Then two more tables: 1,000 files of 1 MiB
against one file of 1,000 MiB (the cost of opening and checking each
file; no launcher and mpirun -n 2), and the per-cell mean and std of a
packed netCDF-4 field (96 x 180 x 360 int16, scale/offset, _FillValue)
against `cdo -b F64 timmean` (Debian's cdo), whose means are compared.  Beside the whole time: the tool's own time
(h5batch: elapsed_s) and rank 0's H5BATCH_STARTUP_TIMES spans (process
start to main, MPI_Init, MPI_Finalize); OMPI_MCA_pml is removed from their
environment.

Size: BENCH_SIZE_GB (GiB, default 2) scales every case; the deflate case is
a quarter of it (deflate decoding on one core runs at ~0.2 GB/s).  REPS
(default 5) rounds.  --sweep adds partition_size and prefetch sweeps on the
contiguous case; --rss-scale compares peak RSS with 1 GiB and 8 GiB inputs
(the 8 GiB file is deleted afterwards).  Quick run:

  make bench BENCH_SIZE_GB=0.25 REPS=3
"""
import argparse
import json
import math
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
HERE = os.path.join(ROOT, "tests", "bench")
PY = "/usr/bin/python3"
MPIRUN = ["mpirun", "--oversubscribe", "-q"]
MOMENTS = "count mean std min max"
HQ = MOMENTS + " histogram quantiles"
GIB = 1 << 30
CHUNK_ROWS = 131072                 # 1 MiB of float64


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def sh(cmd):
    """Output of a shell command, or '' if it fails."""
    try:
        return subprocess.run(cmd, shell=True, capture_output=True,
                              text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


# ---- data -----------------------------------------------------------------

def case_specs(size_gib):
    """name -> (file stem, generator arguments, description)."""
    n = max(CHUNK_ROWS, int(size_gib * GIB) // 8)
    nz = max(CHUNK_ROWS, n // 4)
    return {
        "contig": ("f64-%d-contig" % n, ["-s", str(n)],
                   "float64 1-D contiguous"),
        "chunked": ("f64-%d-chunk1M" % n, ["-s", str(n), "-c",
                                           str(CHUNK_ROWS)],
                    "float64 1-D chunked, 1 MiB chunks"),
        "cols16": ("f64-%dx16-contig" % (n // 16),
                   ["-s", "%dx16" % (n // 16)],
                   "float64 2-D, 16 columns, contiguous (axis 0: 16 cells)"),
        "deflate": ("f64-%d-chunk1M-shuf-z1" % nz,
                    ["-s", str(nz), "-c", str(CHUNK_ROWS), "-z", "1",
                     "--shuffle"],
                    "float64 1-D, 1 MiB chunks, shuffle+deflate(1), "
                    "a quarter of the size"),
    }


def ensure_data(gen, datadir, stem, args):
    """Generate datadir/stem.h5 unless a finished copy exists (a .ok marker
    with the same generator arguments is written only after success)."""
    path = os.path.join(datadir, stem + ".h5")
    mark = path + ".ok"
    want = " ".join(["-t", "f64", "-D", "normal", "--seed", "1"] + args)
    if os.path.exists(path) and os.path.exists(mark):
        with open(mark) as f:
            if f.read().strip() == want:
                return path
    os.makedirs(datadir, exist_ok=True)
    need = int(float(args[1].split("x")[0]) * 8 *
               (16 if "x" in args[1] else 1))
    free = shutil.disk_usage(datadir).free
    if free < need + 2 * GIB:
        sys.exit("bench: %s needs %.1f GiB, only %.1f GiB free"
                 % (path, need / GIB, free / GIB))
    log("bench: generating %s (%s)" % (path, want))
    t = time.perf_counter()
    subprocess.run([gen, "-q", "-o", path, "-d", "/data"] + want.split(),
                   check=True)
    log("bench:   %.1f s" % (time.perf_counter() - t))
    with open(mark, "w") as f:
        f.write(want + "\n")
    return path


def dataset_bytes(path):
    import h5py
    with h5py.File(path, "r") as f:
        ds = f["/data"]
        return int(ds.size) * ds.dtype.itemsize, int(ds.shape[0])


def warm(path):
    """cat the file to /dev/null; seconds taken (long = it was evicted)."""
    t = time.perf_counter()
    with open(path, "rb") as f, open(os.devnull, "wb") as null:
        shutil.copyfileobj(f, null, 16 << 20)
    return time.perf_counter() - t


# ---- tools ----------------------------------------------------------------

def write_job(dirname, name, path, ops, extra=""):
    job = os.path.join(dirname, name + ".ini")
    with open(job, "w") as f:
        f.write("[job]\nname = %s\n[input]\nfiles = %s\ndataset = /data\n"
                "[reduce]\nops = %s\n%s[output]\nfile = %s\n"
                % (name, path, ops, extra,
                   os.path.join(dirname, name + ".out.h5")))
    return job


class Tool:
    """One command of the benchmark; kind says how to read its output."""

    def __init__(self, name, kind, argv, ranks=1, mpi_extra=()):
        self.name, self.kind, self.argv, self.ranks = name, kind, argv, ranks
        self.mpi_extra = list(mpi_extra)

    def command(self, rssdir):
        if self.ranks > 1 or self.kind == "mpi1":
            wrap = ('exec /usr/bin/time -f %%M -o %s/rss.'
                    '"$OMPI_COMM_WORLD_RANK" "$@"' % rssdir)
            return MPIRUN + self.mpi_extra + ["-n", str(self.ranks), "sh",
                                              "-c", wrap,
                             "sh"] + self.argv
        return ["/usr/bin/time", "-f", "%M", "-o", rssdir + "/rss.0"] + \
            self.argv


def h5batch_tool(name, binary, job, ranks, sets=(), mpi_extra=()):
    argv = [binary, "-q", "--format", "json"]
    for s in sets:
        argv += ["--set", s]
    return Tool(name, "h5batch", argv + [job], ranks, mpi_extra)


def cpu_jiffies():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v[:8]) - idle


def run_tool(tool, expect_bytes):
    """Run tool once; a sample dict."""
    rssdir = tempfile.mkdtemp(prefix="h5bench-")
    try:
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        j0 = cpu_jiffies()
        t = time.perf_counter()
        p = subprocess.run(tool.command(rssdir), capture_output=True,
                           text=True, timeout=1800)
        wall = time.perf_counter() - t
        j1 = cpu_jiffies()
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        if p.returncode != 0:
            sys.exit("bench: %s failed (%d): %s\n%s" % (
                tool.name, p.returncode, " ".join(tool.command(rssdir)),
                p.stderr[-2000:]))
        rss = []
        for r in range(tool.ranks):
            with open(os.path.join(rssdir, "rss.%d" % r)) as f:
                rss.append(int(f.read().split()[-1]))
    finally:
        shutil.rmtree(rssdir, ignore_errors=True)
    ours = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    hz = os.sysconf("SC_CLK_TCK")
    other = max(0.0, (j1 - j0) / hz - ours) / wall
    out = json.loads(p.stdout.strip().splitlines()[-1])
    inner = out["elapsed_s"] if tool.kind == "h5batch" else out["seconds"]
    if out["bytes"] != expect_bytes:
        sys.exit("bench: %s reduced %s bytes, expected %d"
                 % (tool.name, out["bytes"], expect_bytes))
    return {"tool": tool.name, "wall_s": wall, "inner_s": inner,
            "rss_kib": rss, "cpu_s": ours, "other_cores": other,
            "output": out}


def stats_of(out, kind):
    """(mean, max) lists from a tool's JSON output, for a cross-check."""
    if kind == "h5batch":
        g = next(iter(out["results"].values()))
        return g["mean"], g["max"]
    return out["mean"], out["max"]


def flat(v):
    return v if isinstance(v, list) else [v]


def agree(a, b):
    return all(math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12)
               for x, y in zip(flat(a), flat(b)))


def others_busy(secs=1.0):
    """Cores kept busy by other processes over secs (we sleep meanwhile)."""
    j0 = cpu_jiffies()
    time.sleep(secs)
    return (cpu_jiffies() - j0) / os.sysconf("SC_CLK_TCK") / secs


def wait_quiet(a):
    """Wait up to a.max_wait seconds for other processes to use fewer than
    a.quiet_cores cores; (seconds waited, cores busy at the end)."""
    t = time.perf_counter()
    busy = others_busy()
    while busy >= a.quiet_cores and time.perf_counter() - t < a.max_wait:
        busy = others_busy(2.0)
    return time.perf_counter() - t, busy


def run_rounds(a, tools, path, nbytes, reps, label):
    """REPS rounds of every tool, rotated; samples by tool, and per round
    the wait for a quiet machine and the page-cache warm-up."""
    samples = {t.name: [] for t in tools}
    warms = []
    for r in range(reps):
        waited, busy = wait_quiet(a) if a.max_wait > 0 else (0.0, None)
        warms.append({"wait_s": waited, "others_cores": busy,
                      "warm_s": warm(path)})
        if waited > 0.5:
            log("bench: waited %.0f s for a quieter machine (others now "
                "%.1f cores)" % (waited, busy))
        order = tools[r % len(tools):] + tools[:r % len(tools)]
        for t in order:
            s = run_tool(t, nbytes)
            s["round"] = r
            samples[t.name].append(s)
            log("bench: %-8s %-12s round %d: wall %.3f s, own %.3f s, "
                "rss %s MiB, others %.1f cores" % (
                    label, t.name, r, s["wall_s"], s["inner_s"],
                    "/".join("%.0f" % (k / 1024) for k in s["rss_kib"]),
                    s["other_cores"]))
    return samples, warms


def summarize(samples, nbytes, ref):
    """Medians per tool and ratios (bare time / tool time: >1 = faster)."""
    summ = {}
    for name, ss in samples.items():
        wall = statistics.median(s["wall_s"] for s in ss)
        inner = statistics.median(s["inner_s"] for s in ss)
        nr = len(ss[0]["rss_kib"])
        summ[name] = {
            "n": len(ss), "wall_s": wall, "inner_s": inner,
            "wall_min_s": min(s["wall_s"] for s in ss),
            "inner_min_s": min(s["inner_s"] for s in ss),
            "gbps_inner": nbytes / inner / 1e9,
            "gbps_wall": nbytes / wall / 1e9,
            "rss_mib": [max(s["rss_kib"][i] for s in ss) / 1024
                        for i in range(nr)],
            "cpu_s": statistics.median(s["cpu_s"] for s in ss),
            "other_cores": statistics.median(s["other_cores"] for s in ss),
        }
    if ref in summ:
        for v in summ.values():
            v["x_bare_inner"] = summ[ref]["inner_s"] / v["inner_s"]
            v["x_bare_wall"] = summ[ref]["wall_s"] / v["wall_s"]
    return summ


def print_table(rows, title):
    head = ("case", "tool", "own s", "GB/s", "x bare", "wall s", "GB/s",
            "x bare", "CPU s", "RSS MiB/rank", "others")
    print("\n" + title)
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join(" --- " for _ in head) + "|")
    for case, name, v in rows:
        print("| %s | %s | %.3f | %.2f | %s | %.3f | %.2f | %s | %.2f | %s "
              "| %.1f |"
              % (case, name, v["inner_s"], v["gbps_inner"],
                 "%.2f" % v["x_bare_inner"] if "x_bare_inner" in v else "-",
                 v["wall_s"], v["gbps_wall"],
                 "%.2f" % v["x_bare_wall"] if "x_bare_wall" in v else "-",
                 v["cpu_s"], " / ".join("%.0f" % m for m in v["rss_mib"]),
                 v["other_cores"]))
    sys.stdout.flush()


# ---- the parts of a run -----------------------------------------------------

def have_dask():
    return subprocess.run([PY, "-c", "import dask.array"],
                          capture_output=True).returncode == 0


def main_cases(a, jobdir, report):
    specs = case_specs(a.size_gb)
    dask = have_dask()
    report["dask"] = "installed" if dask else "not installed: skipped"
    rows = []
    for case in a.cases:
        stem, args, desc = specs[case]
        path = ensure_data(a.gen, a.data, stem, args)
        nbytes, nrec = dataset_bytes(path)
        hist = "histogram_bins = 64\nhistogram_range = -6, 6\n"
        mom = write_job(jobdir, case + "-moments", path, MOMENTS)
        hq = write_job(jobdir, case + "-hq", path, HQ, hist)
        tools = [Tool("bare", "bare", [a.bare, path, "/data"]),
                 h5batch_tool("h5b-1", a.bin, mom, 1),
                 h5batch_tool("h5b-1-seq", a.bin, mom, 1,
                              ["run.read_ahead=off"]),
                 h5batch_tool("h5b-2", a.bin, mom, 2),
                 h5batch_tool("h5b-2-p2p", a.bin, mom, 2,
                              ["run.shared_memory=off",
                               "run.worker_reads=off"]),
                 h5batch_tool("h5b-2-hq", a.bin, hq, 2)]
        if case in ("contig", "cols16"):
            tools.insert(4, h5batch_tool("h5b-2-r0read", a.bin, mom, 2,
                                         ["run.worker_reads=off"]))
            tools += [h5batch_tool("h5b-1-exact", a.bin, mom, 1,
                                   ["reduce.exact=yes"]),
                      h5batch_tool("h5b-2-exact", a.bin, mom, 2,
                                   ["reduce.exact=yes"])]
        if case == "deflate":
            tools.append(h5batch_tool("h5b-3", a.bin, mom, 3))
            tools.append(h5batch_tool("h5b-3-r0dec", a.bin, mom, 3,
                                      ["run.worker_decode=off"]))
        tools.append(Tool("numpy", "peer",
                          [PY, os.path.join(HERE, "peer_numpy.py"), path,
                           "/data"]))
        tools.append(Tool("numpy-simple", "peer",
                          [PY, os.path.join(HERE, "peer_numpy.py"),
                           "--simple", path, "/data"]))
        if dask:
            tools.append(Tool("dask", "peer",
                              [PY, os.path.join(HERE, "peer_dask.py"), path,
                               "/data"]))
        log("bench: case %s: %s, %.2f GiB" % (case, path, nbytes / GIB))
        first_warm = warm(path)
        load0 = os.getloadavg()
        samples, warms = run_rounds(a, tools, path, nbytes, a.reps, case)
        summ = summarize(samples, nbytes, "bare")
        ref = samples["numpy"][0]["output"]
        checks = {n: all(agree(x, y) for x, y in zip(
            stats_of(ss[0]["output"], "h5batch"), stats_of(ref, "peer")))
            for n, ss in samples.items() if n.startswith("h5b")}
        if not all(checks.values()):
            log("bench: WARNING: h5batch and numpy disagree: %s" % checks)
        for s in (s for ss in samples.values() for s in ss):
            s.pop("output")
        report["cases"][case] = {
            "file": os.path.relpath(path, ROOT), "desc": desc,
            "bytes": nbytes, "records": nrec,
            "tools": {t.name: " ".join(t.command("RSSDIR")) for t in tools},
            "first_warm_s": first_warm, "rounds": warms,
            "loadavg_before": load0, "loadavg_after": os.getloadavg(),
            "agree_with_numpy": checks, "samples": samples,
            "summary": summ}
        rows += [(case, n, v) for n, v in summ.items()]
        write_report(a.out, report)
    print_table(rows, "h5batch benchmark: medians of %d rounds, own time "
                "(tool's timer) and wall time; x bare = bare time / tool "
                "time (higher is faster)" % a.reps)


def sweep(a, jobdir, report):
    """2 ranks on the contiguous case: partition_size and prefetch; the bare
    read with the same block sizes."""
    stem, args, _ = case_specs(a.size_gb)["contig"]
    path = ensure_data(a.gen, a.data, stem, args)
    nbytes, _ = dataset_bytes(path)
    mom = write_job(jobdir, "sweep-moments", path, MOMENTS)
    tools = [Tool("bare", "bare", [a.bare, path, "/data"])]
    for ps in ("256K", "4M", "16M"):
        tools.append(Tool("bare-" + ps, "bare",
                          [a.bare, "--block",
                           str(int(ps[:-1]) << (10 if ps[-1] == "K" else 20)),
                           path, "/data"]))
    for ps in ("256K", "1M", "4M", "16M"):
        tools.append(h5batch_tool("h5b-2 ps=%s" % ps, a.bin, mom, 2,
                                  ["input.partition_size=" + ps]))
    for pf in ("1", "4"):
        tools.append(h5batch_tool("h5b-2 pf=%s" % pf, a.bin, mom, 2,
                                  ["run.prefetch=" + pf]))
    tools.append(h5batch_tool("h5b-2 yield", a.bin, mom, 2, mpi_extra=[
        "--mca", "mpi_yield_when_idle", "1"]))
    for ps in ("256K", "4M", "16M"):
        tools.append(h5batch_tool("h5b-1 ps=%s" % ps, a.bin, mom, 1,
                                  ["input.partition_size=" + ps]))
    tools.append(h5batch_tool("h5b-1 ps=1M", a.bin, mom, 1))
    log("bench: sweep on %s" % path)
    warm(path)
    samples, warms = run_rounds(a, tools, path, nbytes, a.reps, "sweep")
    summ = summarize(samples, nbytes, "bare")
    for s in (s for ss in samples.values() for s in ss):
        s.pop("output")
    report["sweep"] = {"file": os.path.relpath(path, ROOT), "bytes": nbytes,
                       "note": "h5b-2 rows: prefetch 2 unless pf=; pf rows: "
                               "partition_size 1M; yield: mpirun --mca "
                               "mpi_yield_when_idle 1",
                       "rounds": warms, "samples": samples,
                       "summary": summ}
    write_report(a.out, report)
    print_table([("contig", n, v) for n, v in summ.items()],
                "partition_size / prefetch sweep (2 ranks unless h5b-1), "
                "contiguous float64")


def rss_scale(a, jobdir, report):
    """Peak RSS per rank with 1 GiB and 8 GiB inputs (--rss-gib); the
    larger file is deleted afterwards unless --keep-8g."""
    out = {}
    rows = []
    big_path = None
    sizes = a.rss_gib
    for gib in sizes:
        n = int(gib * GIB) // 8
        stem, args = "f64-%d-contig" % n, ["-s", str(n)]
        free = shutil.disk_usage(a.data).free if os.path.isdir(a.data) else \
            shutil.disk_usage(ROOT).free
        path = os.path.join(a.data, stem + ".h5")
        if not os.path.exists(path) and free < n * 8 + 10 * GIB:
            log("bench: skipping the %g GiB input: %.1f GiB free" %
                (gib, free / GIB))
            out["%gGiB" % gib] = "skipped: %.1f GiB free" % (free / GIB)
            continue
        path = ensure_data(a.gen, a.data, stem, args)
        if gib == sizes[-1]:
            big_path = path
        nbytes, _ = dataset_bytes(path)
        mom = write_job(jobdir, "rss-%gg" % gib, path, MOMENTS)
        hq = write_job(jobdir, "rss-%gg-hq" % gib, path, HQ,
                       "histogram_bins = 64\nhistogram_range = -6, 6\n")
        tools = [Tool("bare", "bare", [a.bare, path, "/data"]),
                 h5batch_tool("h5b-1", a.bin, mom, 1),
                 h5batch_tool("h5b-2", a.bin, mom, 2),
                 h5batch_tool("h5b-2-hq", a.bin, hq, 2)]
        warm(path)
        reps = max(1, min(a.reps, 2))
        samples, _ = run_rounds(a, tools, path, nbytes, reps, "%gGiB" % gib)
        summ = summarize(samples, nbytes, "bare")
        for s in (s for ss in samples.values() for s in ss):
            s.pop("output")
        out["%gGiB" % gib] = {"file": os.path.relpath(path, ROOT),
                              "samples": samples, "summary": summ}
        rows += [("%g GiB" % gib, k, v) for k, v in summ.items()]
    if big_path and not a.keep_8g:
        os.unlink(big_path)
        os.unlink(big_path + ".ok")
        log("bench: deleted %s" % big_path)
    lo, hi = ("%gGiB" % g for g in (sizes[0], sizes[-1]))
    if isinstance(out.get(lo), dict) and isinstance(out.get(hi), dict):
        growth = {}
        for k, v in out[hi]["summary"].items():
            small = out[lo]["summary"][k]["rss_mib"]
            growth[k] = [b / s for b, s in zip(v["rss_mib"], small)]
        out["rss_ratio"] = {"of": [hi, lo], "per_rank": growth}
        print("\npeak RSS %s / %s, per rank: " % (hi, lo) + ", ".join(
            "%s %s" % (k, "/".join("%.3f" % x for x in g))
            for k, g in growth.items()))
    report["rss_scale"] = out
    write_report(a.out, report)
    print_table(rows, "peak RSS with %s and %s contiguous float64 inputs "
                "(max over rounds)" % (lo, hi))


# ---- whole processes ----------------------------------------------------------

def parse_startup(stderr):
    """The H5BATCH_STARTUP_TIMES line's fields as floats (None for '-' or
    '?'), or {} when there is none."""
    for line in stderr.splitlines():
        if line.startswith("h5batch: startup: "):
            out = {}
            for kv in line[len("h5batch: startup: "):].split():
                k, _, v = kv.partition("=")
                try:
                    out[k] = float(v)
                except ValueError:
                    out[k] = None
            return out
    return {}


def whole_tools(a, job, path):
    """name -> (argv, extra environment): the commands a user types, run as
    they are (no /usr/bin/time, no wrapper per rank)."""
    h5b = [a.bin, "-q", "--format", "json", job]
    keep = {"H5BATCH_PML": "keep"}
    tools = {
        "h5batch --version": ([a.bin, "--version"], {}),
        "h5b-1 no launcher": (h5b, {}),
        "mpirun -n 2, default pml": (MPIRUN + ["-n", "2"] + h5b, keep),
        "mpirun -n 2, h5batch's pml": (MPIRUN + ["-n", "2"] + h5b, {}),
        "mpirun -n 3, default pml": (MPIRUN + ["-n", "3"] + h5b, keep),
        "mpirun -n 3, h5batch's pml": (MPIRUN + ["-n", "3"] + h5b, {}),
        # The machine's OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are for other
        # work; numpy alone runs without them.
        "numpy + h5py": (["env", "-u", "OPENBLAS_CORETYPE", "-u",
                          "OPENBLAS_L2_SIZE", PY,
                          os.path.join(HERE, "peer_numpy.py"), path,
                          "/data"], {}),
    }
    if have_dask():
        tools["dask"] = (["env", "-u", "OPENBLAS_CORETYPE", "-u",
                          "OPENBLAS_L2_SIZE", PY,
                          os.path.join(HERE, "peer_dask.py"), path, "/data"],
                         {})
    return tools


def run_whole(argv, extra):
    """Run argv once as a whole process; (wall s, stdout, stderr)."""
    env = dict(os.environ, H5BATCH_STARTUP_TIMES="1", **extra)
    env.pop("OMPI_MCA_pml", None)
    t = time.perf_counter()
    p = subprocess.run(argv, capture_output=True, text=True, env=env,
                       timeout=600)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit("bench: %s failed (%d): %s" % (" ".join(argv),
                                                p.returncode,
                                                p.stderr[-2000:]))
    return wall, p.stdout, p.stderr


def whole_sample(name, argv, extra, nbytes):
    """One whole run; with nbytes, its JSON must say it reduced that many."""
    wall, out, err = run_whole(argv, extra)
    s = {"tool": name, "wall_s": wall, "startup": parse_startup(err)}
    last = out.strip().splitlines()[-1] if out.strip() else ""
    if "--version" not in argv and last.startswith("{"):
        res = json.loads(last)
        if nbytes is not None and res["bytes"] != nbytes:
            sys.exit("bench: %s reduced %s bytes, expected %d"
                     % (name, res["bytes"], nbytes))
        s["inner_s"] = res.get("elapsed_s", res.get("seconds"))
    return s


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def whole_rounds(a, tools, nbytes, warm_paths, label):
    """REPS rotated rounds of whole processes; medians per tool (wall,
    own, rank 0's start-up spans) and the load averages seen."""
    samples = {n: [] for n, _ in tools}
    load = [os.getloadavg()]
    for r in range(a.reps):
        if a.max_wait > 0:
            wait_quiet(a)
        for path in warm_paths:
            warm(path)
        for name, (argv, extra) in tools[r % len(tools):] + \
                tools[:r % len(tools)]:
            s = whole_sample(name, argv, extra, nbytes)
            s["round"] = r
            samples[name].append(s)
            log("bench: %-8s %-28s round %d: wall %.3f s, own %s s, "
                "MPI_Init %s s" % (label, name, r, s["wall_s"],
                                   s.get("inner_s"), s["startup"].get("init")))
        load.append(os.getloadavg())
    summ = {}
    for name, ss in samples.items():
        summ[name] = {k: med(s["startup"].get(k) for s in ss)
                      for k in ("to_main", "init", "run", "finalize")}
        summ[name]["wall_s"] = med(s["wall_s"] for s in ss)
        summ[name]["inner_s"] = med(s.get("inner_s") for s in ss)
    return samples, summ, load


def tool_strings(tools):
    return {n: " ".join("%s=%s" % kv for kv in e.items()) +
            (" " if e else "") + " ".join(argv) for n, (argv, e) in tools}


def whole_process(a, jobdir, report, size_gb):
    """Whole processes, launcher and MPI_Init included, on the contiguous
    case of size_gb GiB: medians of REPS rotated rounds, beside each tool's
    own time and rank 0's H5BATCH_STARTUP_TIMES spans."""
    stem, args, _ = case_specs(size_gb)["contig"]
    path = ensure_data(a.gen, a.data, stem, args)
    nbytes, _ = dataset_bytes(path)
    job = write_job(jobdir, "whole-moments", path, MOMENTS)
    tools = list(whole_tools(a, job, path).items())
    samples, summ, load = whole_rounds(a, tools, nbytes, [path],
                                       "%gG" % size_gb)
    peer = summ["numpy + h5py"]["wall_s"]
    for v in summ.values():
        v["x_numpy_wall"] = peer / v["wall_s"]
    report.setdefault("whole_process", {})["%g" % size_gb] = {
        "file": os.path.relpath(path, ROOT), "bytes": nbytes,
        "tools": tool_strings(tools),
        "loadavg": load, "samples": samples, "summary": summ}
    write_report(a.out, report)
    print_whole(summ, nbytes, a.reps, load)


def print_whole(summ, nbytes, reps, load):
    def f(v):
        return "-" if v is None else "%.3f" % v
    print("\nwhole processes, launcher included (%.3g GiB float64 contiguous, "
          "page cache; medians of %d rounds; load average %.1f-%.1f)"
          % (nbytes / GIB, reps, min(l[0] for l in load),
             max(l[0] for l in load)))
    head = ("command", "whole s", "own s", "whole - own", "x numpy (whole)",
            "to main", "MPI_Init", "MPI_Finalize")
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join(" --- " for _ in head) + "|")
    for name, v in summ.items():
        gap = v["wall_s"] - v["inner_s"] if v["inner_s"] is not None \
            else None
        print("| %s | %s | %s | %s | %.2f | %s | %s | %s |"
              % (name, f(v["wall_s"]), f(v["inner_s"]), f(gap),
                 v["x_numpy_wall"], f(v["to_main"]), f(v["init"]),
                 f(v["finalize"])))
    sys.stdout.flush()


def print_plain(summ, title, ratio):
    """A whole-process table without the MPI spans, and its ratio line."""
    def f(v):
        return "-" if v is None else "%.3f" % v
    print("\n" + title)
    print("| command | whole s | own s |")
    print("| --- | --- | --- |")
    for name, v in summ.items():
        print("| %s | %s | %s |" % (name, f(v["wall_s"]), f(v["inner_s"])))
    print(ratio)
    sys.stdout.flush()


def many_files(a, jobdir, report, nfiles=1000):
    """The per-file cost: nfiles files of 1 MiB against one file of as many
    bytes, whole processes (no launcher, and mpirun -n 2), moments."""
    d = os.path.join(a.data, "files%d" % nfiles)
    mark = os.path.join(d, ".ok")
    one = os.path.join(d, "one.h5")
    if not os.path.exists(mark):
        os.makedirs(d, exist_ok=True)
        log("bench: generating %d files of 1 MiB and one of %d MiB in %s"
            % (nfiles, nfiles, d))
        for i in range(nfiles):
            subprocess.run([a.gen, "-q", "-o", os.path.join(d, "f%04d.h5" % i),
                            "-s", str(CHUNK_ROWS), "--seed", str(i + 1)],
                           check=True)
        subprocess.run([a.gen, "-q", "-o", one, "-s",
                        str(CHUNK_ROWS * nfiles)], check=True)
        open(mark, "w").close()
    many = write_job(jobdir, "many-files", os.path.join(d, "f*.h5"), MOMENTS)
    single = write_job(jobdir, "one-file", one, MOMENTS)
    tools = []
    for label, job in (("%d files x 1 MiB" % nfiles, many),
                       ("one %d MiB file" % nfiles, single)):
        argv = [a.bin, "-q", "--format", "json", job]
        tools += [(label + ", no launcher", (argv, {})),
                  (label + ", mpirun -n 2", (MPIRUN + ["-n", "2"] + argv, {}))]
    files = sorted(os.path.join(d, f) for f in os.listdir(d)
                   if f.endswith(".h5"))
    samples, summ, load = whole_rounds(a, tools, nfiles * CHUNK_ROWS * 8,
                                       files, "files")
    ratio = "; ".join("%s: %d files / one file %.2fx" % (
        how, nfiles, summ[tools[k][0]]["wall_s"] /
        summ[tools[k + 2][0]]["wall_s"])
        for k, how in ((0, "no launcher"), (1, "mpirun -n 2")))
    title = ("whole processes: %d files of 1 MiB against one of %d MiB "
             "(float64, page cache; medians of %d rounds; load average "
             "%.1f-%.1f)" % (nfiles, nfiles, a.reps,
                             min(l[0] for l in load), max(l[0] for l in load)))
    report["many_files"] = {"dir": os.path.relpath(d, ROOT),
                            "tools": tool_strings(tools), "loadavg": load,
                            "samples": samples, "summary": summ,
                            "ratio": ratio, "title": title}
    write_report(a.out, report)
    print_plain(summ, title, ratio)


def write_packed_field(path):
    """The packed netCDF-4 field of issue 17: tas(96, 180, 360) int16 with
    scale_factor, add_offset and _FillValue (1% fill), contiguous."""
    import netCDF4
    import numpy as np
    nt, ny, nx = 96, 180, 360
    rng = np.random.default_rng(7)
    with netCDF4.Dataset(path, "w", format="NETCDF4") as d:
        for name, n in (("time", nt), ("lat", ny), ("lon", nx)):
            d.createDimension(name, n)
        t = d.createVariable("time", "f8", ("time",))
        t.units, t.calendar = "days since 2000-01-01", "standard"
        t[:] = np.arange(nt) * 30.0
        la = d.createVariable("lat", "f8", ("lat",))
        la.units, la[:] = "degrees_north", np.linspace(-89.5, 89.5, ny)
        lo = d.createVariable("lon", "f8", ("lon",))
        lo.units, lo[:] = "degrees_east", np.arange(nx) + 0.5
        v = d.createVariable("tas", "i2", ("time", "lat", "lon"),
                             fill_value=np.int16(-32767))
        v.scale_factor, v.add_offset, v.units = 0.01, 280.0, "K"
        v.set_auto_maskandscale(False)
        raw = np.round(rng.normal(0, 1500, (nt, ny, nx)))
        raw = raw.clip(-32000, 32000).astype("i2")
        raw[rng.random((nt, ny, nx)) < 0.01] = -32767
        v[:] = raw


def packed_field(a, jobdir, report):
    """h5batch (mean and std per cell, one rank, no launcher) against
    `cdo -b F64 timmean` (the mean alone) on the packed field; the means
    are compared once."""
    import netCDF4
    import numpy as np
    import h5py
    path = os.path.join(a.data, "tas-packed.nc")
    if not os.path.exists(path + ".ok"):
        os.makedirs(a.data, exist_ok=True)
        write_packed_field(path)
        open(path + ".ok", "w").close()
    job = os.path.join(jobdir, "packed-field.ini")
    out = os.path.join(jobdir, "packed-field.out.h5")
    with open(job, "w") as f:
        f.write("[job]\nname = packed-field\n[input]\nfiles = %s\n"
                "dataset = /tas\n[reduce]\nops = mean std\n[output]\n"
                "file = %s\n" % (path, out))
    cdo_out = os.path.join(jobdir, "packed-field.cdo.nc")
    tools = [("h5batch, one rank, no launcher",
              ([a.bin, "-q", "--format", "json", job], {})),
             ("cdo -b F64 timmean", (["cdo", "-s", "-O", "-b", "F64",
                                      "timmean", path, cdo_out], {}))]
    if not shutil.which("cdo"):
        log("bench: cdo is not installed (Debian package cdo): no "
            "packed-field row")
        return
    samples, summ, load = whole_rounds(a, tools, None, [path], "packed")
    with h5py.File(out, "r") as f:
        ours = f["tas/mean"][...]
    with netCDF4.Dataset(cdo_out) as d:
        theirs = d["tas"][0].filled(np.nan)
    rel = float(np.nanmax(np.abs(ours - theirs) / np.abs(theirs)))
    ratio = ("cdo / h5batch whole %.2fx; means agree to %.1e (relative)"
             % (summ[tools[1][0]]["wall_s"] / summ[tools[0][0]]["wall_s"],
                rel))
    title = ("whole processes: per-cell mean of a packed netCDF-4 field "
             "(96 x 180 x 360 int16, scale/offset, _FillValue; medians of "
             "%d rounds; load average %.1f-%.1f)"
             % (a.reps, min(l[0] for l in load), max(l[0] for l in load)))
    report["packed_field"] = {"file": os.path.relpath(path, ROOT),
                              "tools": tool_strings(tools), "loadavg": load,
                              "samples": samples, "summary": summ,
                              "ratio": ratio, "title": title,
                              "max_rel_diff": rel}
    write_report(a.out, report)
    print_plain(summ, title, ratio)


# ---- machine and report -----------------------------------------------------

def machine(a):
    def mod(name):
        r = subprocess.run([PY, "-c", "import %s; print(%s.__version__)"
                            % (name, name)], capture_output=True, text=True)
        return r.stdout.strip() or "not installed"
    mem = sh("grep MemTotal /proc/meminfo")
    return {
        "nproc": os.cpu_count(),
        "cpu": sh("lscpu | sed -n 's/^Model name: *//p'"),
        "caches": sh("lscpu | grep -E '^L[123]' | tr -s ' '").splitlines(),
        "memory": mem.split(":", 1)[-1].strip(),
        "kernel": platform.release(),
        "os": sh(". /etc/os-release && echo $PRETTY_NAME"),
        "h5batch": sh("%s --version" % a.bin),
        "h5batch_bin": a.bin,
        "h5batch_source": a.label or (
            sh("git -C %s describe --always --dirty" % ROOT)
            if a.bin.startswith(ROOT + os.sep) else "unknown"),
        "hdf5": sh("pkg-config --modversion hdf5-serial"),
        "openmpi": sh("mpirun --version | head -1"),
        "numpy": mod("numpy"), "h5py": mod("h5py"), "dask": mod("dask"),
        "python": sh(PY + " --version"),
        "gcc": sh("gcc --version | head -1"),
        "loadavg_start": os.getloadavg(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def write_report(path, report):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(report, f, indent=1)
    os.replace(tmp, path)


def show(path):
    """Print the tables of an existing report (medians recomputed)."""
    with open(path) as f:
        report = json.load(f)
    rows = []
    for case, c in report.get("cases", {}).items():
        summ = summarize(c["samples"], c["bytes"], "bare")
        rows += [(case, n, v) for n, v in summ.items()]
    if rows:
        print_table(rows, "cases (%s)" % path)
    sw = report.get("sweep")
    if sw:
        summ = summarize(sw["samples"], sw["bytes"], "bare")
        print_table([("contig", n, v) for n, v in summ.items()], "sweep")
    wp = report.get("whole_process", {})
    for w in ([wp] if "summary" in wp else wp.values()):
        print_whole(w["summary"], w["bytes"],
                    len(next(iter(w["samples"].values()))), w["loadavg"])
    for key in ("many_files", "packed_field"):
        if key in report:
            print_plain(report[key]["summary"], report[key]["title"],
                        report[key]["ratio"])
    rs = report.get("rss_scale", {})
    rows = [(k, n, v) for k, d in rs.items() if isinstance(d, dict) and
            "summary" in d for n, v in d["summary"].items()]
    if rows:
        print_table(rows, "RSS scale")
        print(rs.get("rss_ratio"))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bin", default=os.path.join(ROOT, "build/h5batch"))
    p.add_argument("--gen", default=os.path.join(ROOT, "build/h5batch-gen"))
    p.add_argument("--bare", default=os.path.join(ROOT, "build/bare_read"))
    p.add_argument("--data", default=os.path.join(ROOT, "data/bench"))
    p.add_argument("--out", default=os.path.join(ROOT, "results/bench.json"))
    p.add_argument("--reps", type=int,
                   default=int(os.environ.get("REPS", "5")))
    p.add_argument("--size-gb", type=float,
                   default=float(os.environ.get("BENCH_SIZE_GB", "2")))
    p.add_argument("--cases", default="contig,chunked,cols16,deflate",
                   help="comma-separated subset of the cases")
    p.add_argument("--no-main", action="store_true",
                   help="skip the cases (with --sweep or --rss-scale)")
    p.add_argument("--sweep", action="store_true",
                   help="partition_size and prefetch sweeps, 2 ranks")
    p.add_argument("--no-whole", action="store_true",
                   help="skip the whole-process rows")
    p.add_argument("--whole-gb", default=os.environ.get("BENCH_WHOLE_GB",
                                                        "0.25,2,8"),
                   help="file sizes (GiB) of the whole-process rows")
    p.add_argument("--rss-scale", action="store_true",
                   help="peak RSS with 1 GiB and 8 GiB inputs")
    p.add_argument("--label", help="what the binaries were built from "
                   "(default: git describe of the tree they are in)")
    p.add_argument("--show", metavar="JSON",
                   help="only print the tables of an existing report")
    p.add_argument("--rss-gib", default="1,8",
                   help="the two input sizes of --rss-scale, GiB")
    p.add_argument("--keep-8g", action="store_true",
                   help="keep the larger --rss-scale input")
    p.add_argument("--quiet-cores", type=float, default=0.5,
                   help="before each round wait until other processes use "
                        "fewer cores than this (default 0.5)")
    p.add_argument("--max-wait", type=float,
                   default=float(os.environ.get("BENCH_MAX_WAIT", "10")),
                   help="...but at most this many seconds (0: never wait)")
    a = p.parse_args()
    if a.show:
        show(a.show)
        return
    a.cases = [c for c in a.cases.split(",") if c]
    a.rss_gib = [float(x) for x in a.rss_gib.split(",")]
    a.whole_gb = [float(x) for x in a.whole_gb.split(",") if x]
    bad = [c for c in a.cases if c not in case_specs(1)]
    if bad:
        p.error("unknown case %s" % bad)
    for k in ("bin", "gen", "bare", "data", "out"):
        setattr(a, k, os.path.abspath(getattr(a, k)))
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    t0 = time.perf_counter()
    report = {"machine": machine(a),
              "config": {"size_gib": a.size_gb, "reps": a.reps,
                         "cases": a.cases, "mpirun": " ".join(MPIRUN),
                         "quiet_cores": a.quiet_cores,
                         "max_wait_s": a.max_wait,
                         "argv": sys.argv},
              "cases": {}}
    jobdir = os.path.join(os.path.dirname(a.out), "bench")
    os.makedirs(jobdir, exist_ok=True)
    m = report["machine"]
    print("machine: %s, %d cores, %s, kernel %s; %s (%s), HDF5 %s, %s, "
          "numpy %s, h5py %s, dask %s; load average %.1f at start"
          % (m["cpu"], m["nproc"], m["memory"], m["kernel"], m["h5batch"],
             m["h5batch_source"], m["hdf5"], m["openmpi"], m["numpy"],
             m["h5py"], m["dask"], m["loadavg_start"][0]))
    if not a.no_main:
        main_cases(a, jobdir, report)
    if not a.no_whole:
        for size in a.whole_gb:
            whole_process(a, jobdir, report, size)
        many_files(a, jobdir, report)
        packed_field(a, jobdir, report)
    if a.sweep:
        sweep(a, jobdir, report)
    if a.rss_scale:
        rss_scale(a, jobdir, report)
    report["total_s"] = time.perf_counter() - t0
    report["machine"]["loadavg_end"] = os.getloadavg()
    write_report(a.out, report)
    print("\nwrote %s (%.0f s)" % (a.out, report["total_s"]))


if __name__ == "__main__":
    main()
