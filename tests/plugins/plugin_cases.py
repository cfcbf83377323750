"""Data for the plugin tests: arrays with runs above a threshold, NaNs and ties.

A PluginCase is one array (records x cells) of one element type, the
threshold the exceed plugin is given, how h5py lays it out (files, chunks)
and how many records an h5batch partition holds.  Values are built so that
every path of the plugins is taken: runs above the threshold of every
length, one that spans many partitions and one that covers a whole column
(the merge of partials that are entirely one run), values exactly at the
threshold (not above), NaN inside runs (breaks them), +-inf, repeated
minima and maxima in different partitions (first index wins), all-NaN
columns (index -1), and 64-bit integers that differ below double precision.
Arrays depend only on the case name (it seeds the generator).
"""

import math
import zlib
from dataclasses import dataclass, field

import numpy as np

# (numpy dtype, plugin_check type name)
TYPES = {
    "i8": "i1", "u8": "u1", "i16": "i2", "u16": "u2", "i32": "i4",
    "u32": "u4", "i64": "i8", "u64": "u8", "f32": "f4", "f64": "f8",
}


@dataclass
class PluginCase:
    name: str
    type: str                       # key of TYPES
    data: np.ndarray                # records x cells (or 1-D)
    threshold: str                  # as written in the job file
    per_part: int = 97              # records per h5batch partition
    chunks: tuple = None            # h5py chunk shape (None: contiguous)
    split: list = field(default_factory=list)   # record counts of files 1.. (rest last)
    in_h5batch: bool = True         # also run through h5batch (else plugin_check only)

    @property
    def dims(self):
        """plugin_check's DIMS argument."""
        return "x".join(map(str, self.data.shape[1:])) or "-"


def rng_for(name):
    return np.random.default_rng(zlib.crc32(name.encode()))


def run_mask(rng, n, mean_run=9, long_run=True):
    """Alternating runs of True/False with geometric lengths, plus one run
    of a third of the records starting at n/5 (it spans many partitions)."""
    mask = np.zeros(n, dtype=bool)
    i, state = 0, bool(rng.random() < 0.5)
    while i < n:
        length = int(rng.geometric(1 / mean_run))
        mask[i:i + length] = state
        i += length
        state = not state
    if long_run and n >= 10:
        mask[n // 5: n // 5 + n // 3] = True
    return mask


def float_column(rng, n, t, infs, nan_frac=0.04):
    """Above: t + (0, 20]; below: t - [0, 20] or exactly t; NaN; with
    infs, +inf (the max) and -inf twice (the min, tied)."""
    mask = run_mask(rng, n)
    step = rng.integers(1, 40, n) * 0.5          # few levels: ties happen
    x = np.where(mask, t + step, t - step)
    x[(~mask) & (rng.random(n) < 0.1)] = t       # at the threshold: not above
    x[rng.random(n) < nan_frac] = np.nan
    if infs and n > 50:
        x[n // 2] = np.inf                       # above
        x[n // 2 + 7] = -np.inf                  # below, and the min
        x[n // 2 + 900 if n > 1800 else n - 1] = -np.inf   # a tie of the min
    return x


def int_column(rng, n, center, lo, hi):
    """Integers around center: in a run center + [1, 5], elsewhere
    center + 1 - [1, 5] (at or below center), clipped into [lo, hi].
    Python ints, so 64-bit values stay exact."""
    mask = run_mask(rng, n)
    step = rng.integers(1, 6, n)
    return [min(max(center + int(s) if m else center + 1 - int(s), lo), hi)
            for m, s in zip(mask, step)]


def build(name, typ, shape, threshold, centers=None, infs=False, **kw):
    """A case of `shape` (records, cells...) of type typ, columns generated
    independently.  In a multi-cell case column 0 is all above where the
    type allows and column 1 all NaN (floats) or at or below the threshold
    (integers).  Integer columns centre on floor(threshold), or on
    centers[j] if given.  infs puts infinities in float columns (not in
    cases run through h5batch: its JSON summary writes them as null, which
    the shared JSON check does not accept yet)."""
    rng = rng_for(name)
    dtype = np.dtype(TYPES[typ])
    n = shape[0]
    ncell = int(np.prod(shape[1:])) if len(shape) > 1 else 1
    t = float(threshold)
    cols = []
    for j in range(ncell):
        if dtype.kind == "f":
            col = float_column(rng, n, t, infs)
            if ncell > 1 and j == 0:
                col = np.where(np.isnan(col), abs(t) + 2.0, np.abs(col) + abs(t) + 1.0)
            elif ncell > 1 and j == 1:
                col = np.full(n, np.nan)
            cols.append(np.asarray(col, dtype=np.float64).astype(dtype))
            continue
        info = np.iinfo(dtype)
        lo, hi, f = int(info.min), int(info.max), math.floor(t)
        col = int_column(rng, n, centers[j] if centers else f, lo, hi)
        if ncell > 1 and j == 0:
            col = [min(max(v, f + 1), hi) for v in col]
        elif ncell > 1 and j == 1:
            col = [max(min(v, f), lo) for v in col]
        cols.append(np.array(col, dtype=object).astype(dtype))
    data = np.stack(cols, axis=1).reshape(shape) if ncell > 1 else cols[0].reshape(shape)
    return PluginCase(name, typ, data, threshold, **kw)


def plugin_cases():
    """Every case; those with in_h5batch also run through h5batch."""
    return [
        build("f64/1d", "f64", (3000,), "25.0", per_part=97),
        build("f64/n3-chunked", "f64", (2000, 3), "25.0", per_part=40, chunks=(64, 3)),
        build("f32/n2", "f32", (2500, 2), "0.1", per_part=111),
        build("i32/1d", "i32", (4000,), "24.5", per_part=128),
        build("i32/n3-two-files", "i32", (3200, 3), "25", per_part=50, chunks=(25, 3),
              split=[1500]),
        build("i64/1d-beyond-2^53", "i64", (2000,), "4.611686018427387904e18", per_part=61),
        build("u64/n2-never-above", "u64", (1500, 2), "1.8446744073709552e19", per_part=70,
              centers=[2 ** 64 - 8, 2 ** 63]),
        build("u8/1d-all-above", "u8", (1200,), "-1", per_part=100),
        build("f64/empty", "f64", (0,), "25.0", per_part=10),
        # fewer than 64 records per partition_size: h5batch reduces in tiles
        build("f64/tiles-400x48x5", "f64", (400, 48, 5), "25.0", per_part=10),
        build("i8/n3", "i8", (900, 3), "10", in_h5batch=False),
        build("u8/n3", "u8", (900, 3), "100.5", in_h5batch=False),
        build("i16/1d", "i16", (900,), "-7.25", in_h5batch=False),
        build("u16/n2x2", "u16", (700, 2, 2), "300", in_h5batch=False),
        build("u32/1d", "u32", (900,), "4000000000", in_h5batch=False),
        build("i32/1d-above-2^25", "i32", (900,), "33554433", in_h5batch=False),
        build("f64/1d-infinities", "f64", (3000,), "25.0", infs=True, in_h5batch=False),
        build("i64/n3-limits", "i64", (600, 3), "-9.3e18", in_h5batch=False,
              centers=[2 ** 63 - 3, 0, -2 ** 63 + 3]),
        build("f32/1d", "f32", (1000,), "-3.5", infs=True, in_h5batch=False),
        build("f64/1-record", "f64", (1, 3), "0", in_h5batch=False),
    ]
