"""What the plugins must compute, by numpy and plain Python loops.

Independent of the plugins' code: "above" for integers is decided on
Python ints against the threshold as an exact rational (no double
rounding), the longest run by a plain loop, argmin/argmax by numpy's
nanargmin/nanargmax (float) or argmin/argmax (integer, exact in the
native type).  Each function returns {result name: (array, dtype str)},
the names as the plugin puts them (the group of the column aside).
"""

import math

import numpy as np

U8, I8, F8 = "<u8", "<i8", "<f8"


def cells(x):
    """x as records x cells (a 1-D array is one cell)."""
    return x.reshape(x.shape[0], int(np.prod(x.shape[1:], dtype=np.int64)))


def above_mask(x, threshold):
    """Boolean records x cells: value > threshold, NaN never."""
    t = float(threshold)
    c = cells(x)
    if c.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            return c.astype(np.float64) > t
    floor_t = math.floor(t)        # for an integer v: v > t <=> v > floor(t)
    return np.array([[int(v) > floor_t for v in row] for row in c.tolist()],
                    dtype=bool).reshape(c.shape)


def longest_run(mask):
    best = cur = 0
    for a in mask:
        cur = cur + 1 if a else 0
        best = max(best, cur)
    return best


def exceed(x, threshold):
    mask = above_mask(x, threshold)
    shape = x.shape[1:]
    count = mask.sum(axis=0).astype(np.uint64).reshape(shape)
    runs = np.array([longest_run(mask[:, j]) for j in range(mask.shape[1])],
                    dtype=np.uint64).reshape(shape)
    return {"exceed/count": (count, U8), "exceed/longest_run": (runs, U8),
            "exceed/threshold": (np.array(float(threshold)), F8)}


def arg_extreme(col, is_max):
    """(index, value as float64) of the first min or max; (-1, NaN) if none."""
    if col.dtype.kind == "f":
        if np.isnan(col).all():
            return -1, np.nan
        i = int(np.nanargmax(col) if is_max else np.nanargmin(col))
        return i, float(col[i])
    if col.size == 0:
        return -1, np.nan
    i = int(np.argmax(col) if is_max else np.argmin(col))
    return i, float(int(col[i]))          # Python rounds to nearest, as C


def argext(x):
    c = cells(x)
    shape = x.shape[1:]
    out = {}
    for name, is_max in (("min", False), ("max", True)):
        pairs = [arg_extreme(c[:, j], is_max) for j in range(c.shape[1])]
        out[f"argext/{name}"] = (np.array([v for _, v in pairs], dtype=np.float64)
                                 .reshape(shape), F8)
        out[f"argext/arg{name}"] = (np.array([i for i, _ in pairs], dtype=np.int64)
                                    .reshape(shape), I8)
    return out


def zeros(x):
    c = cells(x)
    return {"zeros/count": ((c == 0).sum(axis=0).astype(np.uint64).reshape(x.shape[1:]), U8)}


def builtin(x):
    """The built-in results every h5batch run writes: count, nan_count."""
    c = cells(x)
    shape = x.shape[1:]
    out = {}
    if c.dtype.kind == "f":
        nan = np.isnan(c).sum(axis=0)
        out["nan_count"] = (nan.astype(np.uint64).reshape(shape), U8)
        out["count"] = ((c.shape[0] - nan).astype(np.uint64).reshape(shape), U8)
    else:
        out["count"] = (np.full(shape, c.shape[0], dtype=np.uint64), U8)
    return out


def same(name, got, got_dtype, want):
    """'' if got equals want exactly (dtype, shape and bits), else why."""
    value, dtype = want
    got = np.asarray(got)
    if got_dtype != dtype:
        return f"{name}: dtype {got_dtype}, expected {dtype}"
    if got.shape != value.shape:
        return f"{name}: shape {got.shape}, expected {value.shape}"
    a, b = got.astype(dtype), value.astype(dtype)
    if a.tobytes() == b.tobytes():
        return ""
    flat_a, flat_b = a.reshape(-1), b.reshape(-1)
    bad = [i for i in range(a.size) if flat_a[i:i + 1].tobytes() != flat_b[i:i + 1].tobytes()]
    i = bad[0]
    index = np.unravel_index(i, a.shape) if a.shape else ()
    return (f"{name}[{','.join(map(str, index))}]: got {flat_a[i]!r}, expected "
            f"{flat_b[i]!r} ({len(bad)} of {a.size} differ)")
