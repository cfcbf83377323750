#!/usr/bin/python3
"""peer_numpy.py -- what a competent user writes without h5batch.

numpy + h5py in a chunked loop: slices of about 8 MiB of whole records
(a multiple of the chunk rows for chunked datasets) read with read_direct
into one reused buffer; count, mean, std (ddof 0), min and max per cell
(over axis 0) computed per slice and combined with Chan et al.'s formula.
With --simple, the everyday version instead: x = ds[a:b] (a new array per
slice) and x.mean / x.std / x.min / x.max, combined the same way.
Prints one JSON line: seconds (open to last statistic) and the results,
which bench.py compares with h5batch's.

usage: peer_numpy.py [--simple] FILE DATASET [SLICE_BYTES]
"""
import json
import sys
import time

import h5py
import numpy as np


def main():
    args = sys.argv[1:]
    simple = args[0] == "--simple"
    if simple:
        args = args[1:]
    path, name = args[0], args[1]
    slice_bytes = int(args[2]) if len(args) > 2 else 8 << 20
    t0 = time.perf_counter()
    with h5py.File(path, "r") as f:
        ds = f[name]
        nrec, cell = ds.shape[0], ds.shape[1:]
        rec_bytes = ds.dtype.itemsize * int(np.prod(cell, dtype=np.int64))
        rows = max(1, slice_bytes // rec_bytes)
        if ds.chunks:
            c0 = ds.chunks[0]
            rows = max(c0, rows // c0 * c0)
        buf = np.empty((min(rows, max(nrec, 1)),) + cell, ds.dtype)
        n = 0
        mean = np.zeros(cell)
        m2 = np.zeros(cell)
        lo = np.full(cell, np.inf)
        hi = np.full(cell, -np.inf)
        for a in range(0, nrec, rows):
            b = min(nrec, a + rows)
            k = b - a
            if simple:
                x = ds[a:b]
                m = x.mean(axis=0)
                q = x.var(axis=0) * k
            else:
                x = buf[:b - a]
                ds.read_direct(x, np.s_[a:b], np.s_[0:b - a])
                m = x.mean(axis=0)
                q = ((x - m) ** 2).sum(axis=0)
            d = m - mean
            tot = n + k
            mean = mean + d * (k / tot)
            m2 = m2 + q + d * d * (n * k / tot)
            n = tot
            lo = np.minimum(lo, x.min(axis=0))
            hi = np.maximum(hi, x.max(axis=0))
        std = np.sqrt(m2 / n)
    secs = time.perf_counter() - t0
    print(json.dumps({"seconds": secs, "bytes": nrec * rec_bytes,
                      "count": n, "mean": mean.tolist(), "std": std.tolist(),
                      "min": lo.tolist(), "max": hi.tolist()}))


if __name__ == "__main__":
    main()
