"""Reference statistics computed independently of h5batch, from the input files.

Integers are reduced exactly with Python ints (sums, sums of squares, and the
variance as a Fraction), so 64-bit values beyond 2**53 lose nothing.  Floats
are reduced in float64: sums with math.fsum (correctly rounded), variance with
the corrected two-pass formula (sum(d*d) - sum(d)**2/n over d = x - mean, both
sums by fsum), which cancels the rounding error of the mean and stays accurate
for data like 1e9 + N(0, 1).  NaNs are skipped and counted.

Besides the values, each column carries the absolute slack that the
comparison may allow (see ATOL_DOC) and the largest magnitude seen.
"""

import glob
import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import h5py
import numpy as np

EPS = np.finfo(np.float64).eps
NAN = float("nan")

ATOL_DOC = """\
sum/mean: rtol 1e-12 plus atol 1e-15 * sum(|x|) (mean: 1e-15 * mean(|x|)).
  When terms cancel, the exact sum is far smaller than the partial sums any
  float64 summation passes through, and its rounding error scales with those
  (bounded by sum(|x|)), not with the result; a pure relative bound would ask
  more than float64 can give.  1e-15 * sum(|x|) is about 10 ulps of the largest
  possible partial sum.
var: rtol 1e-12 plus atol (4 eps max|x|)**2, the floor set by representing the
  mean itself; it only matters for (near-)constant columns, e.g. 1e9+N(0,1)
  gets 2e-13 absolute on a variance of 1.
std: rtol 1e-12, or at most 4 eps max|x| when the expected variance is within
  the var atol of zero."""


@dataclass
class Expected:
    """What a correct result file for one job holds."""
    group: str
    dtype: np.dtype          # input element type, native byte order
    rows: int
    shape: tuple             # shape of every result dataset
    inputs: list             # input file paths in processing order
    stats: dict              # op -> object ndarray of python numbers, `shape`
    slack: dict              # op -> object ndarray of absolute tolerances

    @property
    def is_float(self):
        return self.dtype.kind == "f"


def expand_files(spec, cwd):
    """The job's input.files value -> sorted, de-duplicated matching paths."""
    patterns = spec.replace(",", " ").split()
    found = set()
    for pattern in patterns:
        found.update(glob_in(pattern, cwd))
    return sorted(found)


def glob_in(pattern, cwd):
    """Matches of pattern, relative patterns taken from (and kept relative to) cwd."""
    if Path(pattern).is_absolute():
        return glob.glob(pattern)
    base = Path(cwd)
    return [str(Path(p).relative_to(base)) for p in glob.glob(str(base / pattern))]


def load_records(paths, dataset, cwd):
    """Concatenate the dataset of every file along dim 0, in native byte order."""
    parts = []
    for path in paths:
        with h5py.File(Path(cwd) / path, "r") as f:
            data = f[dataset][()]
        parts.append(data.astype(data.dtype.newbyteorder("=")))
    return np.concatenate(parts, axis=0)


def reference(paths, dataset, axis, ddof, cwd):
    """Expected results for reducing `dataset` over `paths` (relative to cwd)."""
    x = load_records(paths, dataset, cwd)
    if axis == "all" or x.ndim == 1:
        shape, columns = (), x.reshape(-1, 1)
    else:
        shape = x.shape[1:]
        columns = x.reshape(x.shape[0], int(np.prod(shape)))
    reduce = float_column if x.dtype.kind == "f" else int_column
    per_column = [reduce(columns[:, j], ddof) for j in range(columns.shape[1])]
    stats, slack = {}, {}
    for op in per_column[0][0]:
        stats[op] = as_object_array([c[0][op] for c in per_column], shape)
        slack[op] = as_object_array([c[1].get(op, 0.0) for c in per_column], shape)
    group = dataset.rstrip("/").rsplit("/", 1)[-1]
    return Expected(group, x.dtype, x.shape[0], shape, list(paths), stats, slack)


def as_object_array(values, shape):
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr.reshape(shape)


def float_column(col, ddof):
    """(stats, slack) of one float column, NaNs skipped."""
    v = col.astype(np.float64)
    nan = np.isnan(v)
    good = v[~nan]
    n = good.size
    total = math.fsum(good)
    abs_total = math.fsum(np.abs(good))
    stats = {"count": n, "nan_count": int(nan.sum()), "sum": total,
             "mean": total / n if n else NAN,
             "min": float(good.min()) if n else NAN,
             "max": float(good.max()) if n else NAN}
    stats["var"] = float_var(good, stats["mean"], ddof)
    stats["std"] = math.sqrt(stats["var"]) if not math.isnan(stats["var"]) else NAN
    big = float(np.abs(good).max()) if n else 0.0
    return stats, spread_slack(n, abs_total, big, stats["var"])


def float_var(good, mean, ddof):
    n = good.size
    if n - ddof <= 0:
        return NAN
    d = good - mean
    m2 = math.fsum(d * d) - math.fsum(d) ** 2 / n
    return max(m2, 0.0) / (n - ddof)


def int_column(col, ddof):
    """(stats, slack) of one integer column, exact in Python ints."""
    xo = col.astype(object)
    n = len(xo)
    s1 = int(xo.sum()) if n else 0
    s2 = int((xo * xo).sum()) if n else 0
    stats = {"count": n, "sum": float(s1),
             "mean": float(Fraction(s1, n)) if n else NAN,
             "var": float(Fraction(n * s2 - s1 * s1, n * (n - ddof))) if n - ddof > 0 else NAN,
             "min": int(min(xo)) if n else NAN,
             "max": int(max(xo)) if n else NAN}
    stats["std"] = math.sqrt(stats["var"]) if not math.isnan(stats["var"]) else NAN
    abs_total = float(sum(abs(v) for v in xo)) if n else 0.0
    big = float(max(abs(v) for v in xo)) if n else 0.0
    return stats, spread_slack(n, abs_total, big, stats["var"])


def spread_slack(n, abs_total, big, var):
    """Absolute tolerances per op; the reasons are in ATOL_DOC."""
    var_atol = (4 * EPS * big) ** 2
    std_atol = 4 * EPS * big if not math.isnan(var) and var <= var_atol else 0.0
    return {"sum": 1e-15 * abs_total,
            "mean": 1e-15 * abs_total / n if n else 0.0,
            "var": var_atol, "std": std_atol}
