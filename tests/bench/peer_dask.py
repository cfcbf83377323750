#!/usr/bin/python3
"""peer_dask.py -- the same statistics with dask.array (threads scheduler).

The dataset is wrapped with da.from_array in blocks of about 8 MiB of
whole records (h5py is not thread-safe, so dask's default lock is kept)
and mean, std, min and max over axis 0 are computed in one da.compute on
as many threads as there are cores.  Prints one JSON line like
peer_numpy.py.  bench.py runs it only when dask is importable.

usage: peer_dask.py FILE DATASET [SLICE_BYTES]
"""
import json
import os
import sys
import time

import dask
import dask.array as da
import h5py
import numpy as np


def main():
    path, name = sys.argv[1], sys.argv[2]
    slice_bytes = int(sys.argv[3]) if len(sys.argv) > 3 else 8 << 20
    t0 = time.perf_counter()
    with h5py.File(path, "r") as f:
        ds = f[name]
        cell = ds.shape[1:]
        rec_bytes = ds.dtype.itemsize * int(np.prod(cell, dtype=np.int64))
        rows = max(1, slice_bytes // rec_bytes)
        if ds.chunks:
            rows = max(ds.chunks[0], rows // ds.chunks[0] * ds.chunks[0])
        x = da.from_array(ds, chunks=(rows,) + cell)
        with dask.config.set(scheduler="threads",
                             num_workers=os.cpu_count()):
            mean, std, lo, hi = da.compute(x.mean(axis=0), x.std(axis=0),
                                           x.min(axis=0), x.max(axis=0))
        n = ds.shape[0]
    secs = time.perf_counter() - t0
    print(json.dumps({"seconds": secs, "bytes": n * rec_bytes, "count": n,
                      "mean": np.asarray(mean).tolist(),
                      "std": np.asarray(std).tolist(),
                      "min": np.asarray(lo).tolist(),
                      "max": np.asarray(hi).tolist()}))


if __name__ == "__main__":
    main()
