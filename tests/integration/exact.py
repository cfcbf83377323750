"""Exact sums ([reduce] exact = yes): bit-equal to an oracle of Python ints.

With exact = yes, sum is the correctly rounded exact sum (math.fsum's
bits), mean the exact sum over the count rounded once, var the exact
(n Sxx - Sx^2) / (n (n - ddof)) rounded once and std its square root
(README.md, "Exact sums").  So every case here is compared bit for bit
(Want with rtol = atol = 0) against exact_stats, which sums each value's
integer mantissa as a Python int and rounds once through
fractions.Fraction; math.fsum is checked to agree on the sum.  The same
expected bits for every partition size, chunking, file split and rank
mode (the runner also compares the modes' files byte for byte) is the
claim: results that do not depend on how the data was cut.  The cases run
in modes 0 and 3 (matrix.CORE_MODES): mode 3's workers send every
partial as a RESULT, so the accumulators' encoding is on the path.

The data is the issue's (about 1e9 +- 1e3, every seventh value negated),
a million values at partition sizes 64K, 1M and 16M, one split over
three files; adversarial columns of a per-cell field (1e16 + 1 - 1e16,
alternating huge and tiny values, subnormals, +-inf, NaN, an overflowing
sum); float32 and int64 input; a field cut into tiles; CF-packed data;
a compound table; and group-by sums.
"""

import math
from fractions import Fraction

import h5py
import numpy as np

from featurecase import F8, U8, Expect, FeatureCase, Want, job_sections

ALL = "count sum mean var std min max"
N_ISSUE = 1_000_000


def rounded(fr):
    """float(fr) rounded once, +-inf beyond the float64 range (IEEE)."""
    try:
        return float(fr)
    except OverflowError:
        return math.inf if fr > 0 else -math.inf


def exact_stats(col, ddof):
    """count, nan_count, sum, mean, var, std of one column, each exact then
    rounded once; NaN skipped, infinities as IEEE/numpy combine them."""
    v = np.asarray(col)
    kind = v.dtype.kind
    if kind == "f":
        v = v.astype(np.float64)
        nan = np.isnan(v)
        good = v[~nan]
    else:
        nan, good = np.zeros(v.shape, bool), v
    n = int(good.size)
    out = {"count": n, "nan_count": int(nan.sum())}
    if kind == "f":
        pinf, ninf = bool((good == np.inf).any()), bool((good == -np.inf).any())
        fin = good[np.isfinite(good)]
        m, e = np.frexp(fin)
        mant = (m * 2.0**53).astype(np.int64)      # exact: 53-bit integers
        exps = e.astype(np.int64) - 53
        emin = int(exps.min()) if fin.size else 0
        s = q = 0
        for ex in np.unique(exps):
            sel = mant[exps == ex].astype(object)
            sh = int(ex) - emin
            s += int(sel.sum()) << sh
            q += int((sel * sel).sum()) << (2 * sh)
        scale = Fraction(2) ** emin
    else:
        pinf = ninf = False
        ints = good.astype(object)
        s, q, scale = int(ints.sum()) if n else 0, int((ints * ints).sum()) if n else 0, Fraction(1)
    S, Q = Fraction(s) * scale, Fraction(q) * scale * scale
    if pinf and ninf:
        total = mean = math.nan
    elif pinf or ninf:
        total = mean = math.inf if pinf else -math.inf
    else:
        total = rounded(S)
        mean = rounded(S / n) if n else math.nan
        if kind == "f" and math.isfinite(total):
            assert math.fsum(good) == total, "oracle: fsum disagrees"
    if n > ddof and not (pinf or ninf):
        var = rounded((n * Q - S * S) / (n * (n - ddof)))
    else:
        var = math.nan
    out.update(sum=total, mean=mean, var=var,
               std=math.sqrt(var) if not math.isnan(var) else math.nan)
    return out


def exact_wants(columns, shape, dtype, ddof):
    """Wants for every moment of columns (rows x cells), all bit-equal."""
    dtype = np.dtype(dtype).newbyteorder("<")
    cells = [exact_stats(columns[:, j], ddof) for j in range(columns.shape[1])]
    wants = {}
    names = ["count"] + (["nan_count"] if dtype.kind == "f" else [])
    for op in names + ["sum", "mean", "var", "std"]:
        vals = np.array([c[op] for c in cells]).reshape(shape)
        wants[op] = Want(vals.astype(np.uint64), U8) if op in names else Want(vals, F8)
    with np.errstate(invalid="ignore"):
        for op, f in (("min", np.nanmin), ("max", np.nanmax)):
            wants[op] = Want(np.asarray(f(columns, axis=0)).astype(dtype).reshape(shape),
                             dtype.str)
    return wants


# ------------------------------------------------------------ the data

def issue_values(n=N_ISSUE, seed=21):
    rng = np.random.default_rng(seed)
    x = 1e9 + rng.uniform(-1e3, 1e3, n)
    x[6::7] *= -1
    return x


def write_issue(nfiles, chunks):
    def write(case_dir):
        x = issue_values()
        (case_dir / "data").mkdir(parents=True, exist_ok=True)
        for k, part in enumerate(np.array_split(x, nfiles)):
            with h5py.File(case_dir / f"data/v{k}.h5", "w") as f:
                f.create_dataset("/g/values", data=part, chunks=(chunks,))
    return write


def issue_oracle(nfiles, ddof):
    def oracle(case_dir):
        x = issue_values()
        wants = exact_wants(x.reshape(-1, 1), (), "<f8", ddof)
        return Expect([f"data/v{k}.h5" for k in range(nfiles)], x.size, {"values": wants})
    return oracle


ROWS = 3000


def adversarial():
    """Columns: 1e16 + 1 - 1e16, alternating huge and tiny, subnormals,
    +inf among values, NaN and -inf, and 1e308s whose sum overflows."""
    r = np.arange(ROWS)
    x = np.empty((ROWS, 6))
    x[:, 0] = np.choose(r % 3, [1e16, 1.0, -1e16])
    x[:, 1] = np.choose(r % 4, [1e300, 1e-300, -1e300, 3e-300])
    x[:, 2] = 5e-324 * ((r * 7919) % 1000 - 500)
    x[:, 3] = np.where(r == 1234, np.inf, r * 0.1)
    x[:, 4] = np.where(r % 10 == 0, np.nan, 1e9 + r)
    x[17, 4] = -np.inf
    x[:, 5] = 1e308
    return x


def write_one(values, name, chunks):
    def write(case_dir):
        (case_dir / "data").mkdir(parents=True, exist_ok=True)
        with h5py.File(case_dir / "data/v.h5", "w") as f:
            f.create_dataset(name, data=values(), chunks=chunks)
    return write


def field_oracle(values, ddof=0):
    def oracle(case_dir):
        x = values()
        cols = x.reshape(x.shape[0], -1)
        return Expect(["data/v.h5"], x.shape[0],
                      {"values": exact_wants(cols, x.shape[1:], x.dtype, ddof)})
    return oracle


def f32_values():
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((ROWS, 4)) * 1e3 + 1e7).astype(np.float32)
    x[5, 1] = np.nan
    return x


def f32_column_values():
    """One float32 value a record (a single cell): the float32 path
    without the large accumulator's in-place run."""
    rng = np.random.default_rng(5)
    x = (rng.standard_normal(ROWS) * 15 + 280).astype(np.float32)
    x[7] = np.nan
    return x


def i64_values():
    rng = np.random.default_rng(4)
    x = rng.integers(-2**62, 2**62, size=(ROWS,), dtype=np.int64)
    x[0], x[1] = 2**63 - 1, -2**63
    return x


TABLE = np.dtype([("a", "<f8"), ("b", "<i8"), ("c", "<f4")])


def table_values():
    rng = np.random.default_rng(6)
    t = np.zeros(20000, TABLE)
    t["a"] = issue_values(20000, 7)
    t["b"] = rng.integers(-2**40, 2**40, 20000)
    t["c"] = rng.standard_normal(20000).astype(np.float32) * 1e4
    return t


def table_oracle(case_dir):
    t = table_values()
    groups = {f: exact_wants(t[f].reshape(-1, 1), (), TABLE[f], 0) for f in TABLE.names}
    return Expect(["data/v.h5"], len(t), groups)


GROUPED = np.dtype([("station", "<i4"), ("v", "<f8")])


def grouped_values():
    rng = np.random.default_rng(8)
    t = np.zeros(60000, GROUPED)
    t["station"] = rng.integers(-20, 30, t.size)
    t["v"] = issue_values(t.size, 9)
    t["v"][::101] = np.nan
    return t


def grouped_oracle(case_dir):
    t = grouped_values()
    keys = np.unique(t["station"])
    cells = [exact_stats(t["v"][t["station"] == k], 1) for k in keys]
    wants = {"groupby/keys": Want(keys.astype(np.int64), "<i8")}
    for op in ("count", "nan_count"):
        wants["groupby/" + op] = Want(np.array([c[op] for c in cells], np.uint64), U8)
    for op in ("sum", "mean", "var", "std"):
        wants["groupby/" + op] = Want(np.array([c[op] for c in cells]), F8)
    for op, f in (("min", np.nanmin), ("max", np.nanmax)):
        wants["groupby/" + op] = Want(np.array([f(t["v"][t["station"] == k]) for k in keys]),
                                      F8)
    return Expect(["data/v.h5"], len(t), {"v": wants})


def exact_job(files, dataset, partition, name, ddof=None, axis=None):
    reduce = {"ops": ALL, "exact": "yes"}
    if ddof is not None:
        reduce["ddof"] = str(ddof)
    if axis is not None:
        reduce["axis"] = axis
    return job_sections(files, dataset, reduce=reduce, partition=partition, name=name)


def tiled_values():
    """40 records of 120 x 100 float64 cells (96 KB a record): at 64K a
    partition the plan cuts each record into tiles of cells."""
    rng = np.random.default_rng(10)
    x = 1e9 + rng.uniform(-1e3, 1e3, (40, 120, 100))
    x[:, ::7, :] *= -1
    return x


FILL = -32767


def packed_raw():
    rng = np.random.default_rng(12)
    raw = rng.integers(-30000, 30000, (20000, 3)).astype(np.int16)
    raw[rng.random(raw.shape) < 0.05] = FILL
    return raw


def write_packed(case_dir):
    """CF-packed int16 with _FillValue, scale_factor and add_offset."""
    (case_dir / "data").mkdir(parents=True, exist_ok=True)
    with h5py.File(case_dir / "data/v.h5", "w") as f:
        ds = f.create_dataset("/g/values", data=packed_raw(), chunks=(1000, 3))
        ds.attrs["_FillValue"] = np.int16(FILL)
        ds.attrs["scale_factor"] = np.float64(0.01)
        ds.attrs["add_offset"] = np.float64(273.15)


def packed_oracle(case_dir):
    """Unpacked as h5batch does (raw * scale + offset in float64, one
    rounding each), the fill masked; masked values are missing_count."""
    raw = packed_raw()
    x = raw.astype(np.float64) * 0.01 + 273.15
    x[raw == FILL] = np.nan
    wants = exact_wants(x, (3,), "<f8", 0)
    wants["missing_count"] = wants["nan_count"]
    wants["nan_count"] = Want(np.zeros(3, np.uint64), U8)
    return Expect(["data/v.h5"], raw.shape[0], {"values": wants})


def grouped_job():
    sections = exact_job("data/v.h5", "/t/rows", "64K", "grouped", ddof=1)
    sections["reduce"]["group_by"] = "station"
    return sections


def exact_cases():
    cases = []
    for part, nfiles, chunks, ddof in (("64K", 1, 10000, 0), ("1M", 3, 65536, 1),
                                       ("16M", 1, 250000, 0)):
        name = f"exact/issue-{part}-{nfiles}-files"
        cases.append(FeatureCase(name, write_issue(nfiles, chunks),
                                 exact_job("data/v*.h5", "/g/values", part,
                                           name.replace("/", "-"), ddof),
                                 issue_oracle(nfiles, ddof), min_partitions=1))
    cases += [
        FeatureCase("exact/adversarial-cells", write_one(adversarial, "/g/values", (77, 6)),
                    exact_job("data/v.h5", "/g/values", "4K", "adversarial", ddof=1),
                    field_oracle(adversarial, 1), min_partitions=2),
        FeatureCase("exact/float32-cells", write_one(f32_values, "/g/values", (100, 4)),
                    exact_job("data/v.h5", "/g/values", "4K", "f32"),
                    field_oracle(f32_values), min_partitions=2),
        FeatureCase("exact/float32-one-cell", write_one(f32_column_values, "/g/values",
                                                        (1000,)),
                    exact_job("data/v.h5", "/g/values", "4K", "f32one"),
                    field_oracle(f32_column_values), min_partitions=2),
        FeatureCase("exact/int64", write_one(i64_values, "/g/values", (256,)),
                    exact_job("data/v.h5", "/g/values", "4K", "i64"),
                    field_oracle(i64_values), min_partitions=2),
        FeatureCase("exact/table", write_one(table_values, "/t/rows", (1000,)),
                    exact_job("data/v.h5", "/t/rows", "64K", "table"),
                    table_oracle, min_partitions=2),
        FeatureCase("exact/tiled", write_one(tiled_values, "/g/values", (8, 60, 50)),
                    exact_job("data/v.h5", "/g/values", "64K", "tiled"),
                    field_oracle(tiled_values), min_partitions=2),
        FeatureCase("exact/cf-packed", write_packed,
                    exact_job("data/v.h5", "/g/values", "4K", "packed"),
                    packed_oracle, min_partitions=2),
        FeatureCase("exact/group-by", write_one(grouped_values, "/t/rows", (4096,)),
                    grouped_job(), grouped_oracle, min_partitions=2),
    ]
    return cases
