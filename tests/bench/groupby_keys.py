#!/usr/bin/python3
"""groupby_keys.py -- `make bench-groupby`: a million group-by keys, checked.

A PyTables table of 3 million rows, 1 million distinct keys (every key at
least once, the rest drawn at random, shuffled) and 3 float64 value columns
(a, b, c), written once into data/bench/ in two versions: the key as a
string field (`S8`, "k0000042") and as an int64 field.  For each, h5batch
runs `group_by = key`, `ops = count mean std` alone (1 rank, no mpirun) and
under mpirun on more ranks (--ranks, default 1,2,3,4), each rank wrapped in
GNU time for its peak RSS (and rank 0's CPU seconds, user + system, which a
busy machine disturbs less than the wall time); pandas reads the table
(PyTables) and runs
groupby("key").agg of the same, timed in a process of its own whose
environment lacks OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE (the peer runs
as a user's would; h5batch does no BLAS).  Every h5batch result is checked against pandas (keys and counts
exactly, mean to 1e-12 and std to 1e-10 relative) and must be the same bits
on every number of ranks.  Medians of REPS rounds (--reps, default 1).

Kind `q` (--kinds str,int,q) runs the int64 table with per-key quantiles
instead (`ops = count quantiles`, `quantiles = 0.5`: a million per-key
sketches of each column), against pandas' groupby().quantile(0.5,
interpolation="lower"), which is numpy's inverted_cdf at q = 0.5: keys and
counts exactly, medians within the default relative accuracy 0.01.

Not a CI test: it takes a few minutes and about 1 GiB of memory.
"""
import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

REPO = Path(__file__).resolve().parents[2]
ROWS, KEYS = 3_000_000, 1_000_000
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")


def write_tables(datadir):
    """data/bench/gb-str.h5 and gb-int.h5, unless there already."""
    import tables
    paths = {kind: datadir / f"gb-{kind}.h5" for kind in ("str", "int")}
    if all(p.exists() for p in paths.values()):
        return dict(paths, q=paths["int"])
    rng = np.random.default_rng(7)
    k = rng.permutation(np.concatenate([np.arange(KEYS), rng.integers(0, KEYS, ROWS - KEYS)]))
    vals = {c: rng.normal(size=ROWS) for c in "abc"}
    for kind, key_dtype in (("str", "S8"), ("int", "<i8")):
        rec = np.zeros(ROWS, dtype=[("key", key_dtype)] + [(c, "<f8") for c in "abc"])
        rec["key"] = np.char.add(b"k", np.char.zfill(k.astype("S7"), 7)) if kind == "str" else k
        for c in "abc":
            rec[c] = vals[c]
        tmp = paths[kind].with_suffix(".tmp")
        with tables.open_file(str(tmp), "w") as f:
            f.create_table("/", "t", rec.dtype, expectedrows=ROWS).append(rec)
        tmp.rename(paths[kind])
    return dict(paths, q=paths["int"])


def run_h5batch(binary, job, ranks, rssdir):
    """Wall seconds, each rank's peak RSS (KiB) and rank 0's CPU seconds
    (user + system) of one run."""
    wrap = ["/usr/bin/time", "-f", "%M %U %S", "-o"]
    if ranks == 1:
        cmd = wrap + [f"{rssdir}/rss.0", binary, "-q", job]
    else:
        cmd = ["mpirun", "-n", str(ranks), "--oversubscribe", "sh", "-c",
               f'exec {shlex.join(wrap)} {rssdir}/rss.$OMPI_COMM_WORLD_RANK "$0" -q "$1"',
               binary, job]
    t = time.perf_counter()
    p = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=1800)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"groupby_keys: {' '.join(cmd)}: exit {p.returncode}: {p.stderr[-1000:]}")
    stats = [Path(f"{rssdir}/rss.{r}").read_text().split()[-3:] for r in range(ranks)]
    rss = [int(m) for m, _, _ in stats]
    return wall, rss, float(stats[0][1]) + float(stats[0][2])


def pandas_agg(path, kind):
    """pandas' read and groupby of path: the aggregates and the seconds."""
    import pandas as pd
    import tables
    t = time.perf_counter()
    with tables.open_file(str(path)) as f:
        df = pd.DataFrame(f.root.t.read())
    g = df.groupby("key")[["a", "b", "c"]]
    if kind == "q":
        agg = {"count": g.count(), "median": g.quantile(0.5, interpolation="lower")}
    else:
        agg = {"count": g.count(), "mean": g.mean(), "std": g.std(ddof=0)}
    return agg, time.perf_counter() - t


def pandas_run(path, kind):
    """Seconds of pandas_agg(path, kind) in a child without the OPENBLAS_
    tuning."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    p = subprocess.run([sys.executable, __file__, "--pandas-peer", str(path), "--kinds", kind],
                       env=env,
                       capture_output=True, text=True, timeout=1800)
    if p.returncode != 0:
        sys.exit(f"groupby_keys: pandas peer on {path}: exit {p.returncode}: {p.stderr[-1000:]}")
    return float(p.stdout.split()[-1])


def check(out, agg, kind):
    """The result file out against pandas' agg; the bytes to compare across ranks."""
    blobs = []
    with h5py.File(out, "r") as f:
        for c in "abc":
            g = f[f"{c}/groupby"]
            keys = g["keys"][()]
            want = agg["count"].index.to_numpy()
            same_keys = (keys == (want.astype("S8") if kind == "str" else want)).all()
            ok = (len(keys) == KEYS and same_keys
                  and (g["count"][()] == agg["count"][c].to_numpy()).all())
            if kind == "q":
                med = agg["median"][c].to_numpy()
                ok = ok and (np.abs(g["quantiles"][:, 0] - med) <= 0.01 * np.abs(med)).all()
            else:
                ok = (ok and np.allclose(g["mean"][()], agg["mean"][c].to_numpy(), rtol=1e-12,
                                         atol=1e-15)
                      and np.allclose(g["std"][()], agg["std"][c].to_numpy(), rtol=1e-10,
                                      atol=1e-15))
            if not ok:
                sys.exit(f"groupby_keys: {out} column {c} differs from pandas")
            # strings come back as objects: compare their bytes, not pointers
            blobs.append(keys.astype("S8" if kind == "str" else keys.dtype).tobytes())
            blobs += [g[x][()].tobytes() for x in
                      (("count", "quantiles") if kind == "q" else ("count", "mean", "std"))]
    return blobs


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", default=str(REPO / "build/h5batch"))
    p.add_argument("--data", default=str(REPO / "data/bench"))
    p.add_argument("--reps", type=int, default=1)
    p.add_argument("--ranks", default="1,2,3,4", help="rank counts, comma-separated")
    p.add_argument("--kinds", default="str,int",
                   help="key kinds: str, int, q (int keys, per-key quantiles)")
    p.add_argument("--pandas-peer", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.pandas_peer:
        print(pandas_agg(a.pandas_peer, a.kinds)[1])
        return
    datadir = Path(a.data)
    datadir.mkdir(parents=True, exist_ok=True)
    paths = write_tables(datadir)
    work = Path(tempfile.mkdtemp(prefix="h5b-gbkeys-"))
    try:
        print(f"{'key':4} {'tool':10} {'median s':>9} {'rank 0 MiB':>10} {'workers MiB':>11} "
              f"{'rank 0 CPU s':>12}")
        for kind in a.kinds.split(","):
            path = paths[kind]
            times = [pandas_run(path, kind) for _ in range(a.reps)]
            agg = pandas_agg(path, kind)[0]
            print(f"{kind:4} {'pandas':10} {statistics.median(times):9.2f}", flush=True)
            job = work / f"{kind}.ini"
            out = work / f"{kind}.h5"
            ops = "count quantiles\nquantiles = 0.5" if kind == "q" else "count mean std"
            job.write_text(f"[input]\nfiles = {path}\ndataset = /t\n[reduce]\ngroup_by = key\n"
                           f"ops = {ops}\n[output]\nfile = {out}\n")
            ref = None
            for ranks in (int(r) for r in a.ranks.split(",")):
                runs = [run_h5batch(a.bin, str(job), ranks, work) for _ in range(a.reps)]
                blobs = check(out, agg, kind)
                if ref is not None and blobs != ref:
                    sys.exit(f"groupby_keys: {kind} keys on {ranks} ranks: other bits than 1 rank")
                ref = ref or blobs
                rss0 = statistics.median(r[0] for _, r, _ in runs) / 1024
                wrk = max((max(r[1:]) for _, r, _ in runs), default=0) / 1024 if ranks > 1 else 0
                cpu0 = statistics.median(c for _, _, c in runs)
                print(f"{kind:4} {'h5batch-' + str(ranks):10} "
                      f"{statistics.median(w for w, _, _ in runs):9.2f} {rss0:10.0f} "
                      f"{wrk:11.0f} {cpu0:12.2f}  (matches pandas, same bits)", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
