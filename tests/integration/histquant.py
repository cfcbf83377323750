"""Histogram and quantile cases, against numpy.histogram and numpy.quantile.

Histograms (`ops = count histogram`, 16 bins): per cell, histogram/counts
(uint64, cells + [bins]) must equal np.histogram(column, 16, range) exactly,
histogram/edges np.histogram's edges bit for bit, underflow/overflow the
values below LO / above HI (infinities included; NaN counted nowhere).
Values are converted to float64 first: numpy does that for integers, and
for float32 h5batch bins against the float64 edges it writes.  The data
plants values on and one ulp either side of every edge.  With
`histogram_range = auto` or no range, the range is the column's (nanmin,
nanmax) over all cells: np.histogram of all the column's values gives it,
including numpy's rules for min == max (min - 0.5, max + 0.5) and for no
values at all (0, 1).

Quantiles (0, 0.01, 0.25, 0.5, 0.99, 1; accuracy 0.01 by default, or 0.05):
every value within the accuracy, relative, of np.quantile(column without
NaN, q, method="inverted_cdf"), q = 0 and q = 1 exact, NaN for a cell
without values; quantiles/probabilities equal to the list given.
"""

import numpy as np

from data import Input, normal, with_nans, write_input
from featurecase import F8, U8, Expect, FeatureCase, Want, job_sections
from oracle import load_records

BINS = 16
QUANTILES = "0, 0.01, 0.25, 0.5, 0.99, 1"


def columns_of(x):
    """Records -> (float64 columns rows x cells, cell shape)."""
    cells = int(np.prod(x.shape[1:], dtype=int))
    return x.reshape(x.shape[0], cells).astype(np.float64), x.shape[1:]


def count_wants(x, cols, shape):
    good = ~np.isnan(cols)
    wants = {"count": Want(good.sum(axis=0).astype(np.uint64).reshape(shape), U8)}
    if x.dtype.kind == "f":
        wants["nan_count"] = Want((~good).sum(axis=0).astype(np.uint64).reshape(shape), U8)
    return wants


def load(case_dir, dataset):
    return load_records(["data/v.h5"], dataset, case_dir)


# ------------------------------------------------------------ histograms

def hist_oracle(dataset, range_text):
    """range_text: 'LO, HI' as in the job, or None for the automatic range."""
    def oracle(case_dir):
        x = load(case_dir, dataset)
        cols, shape = columns_of(x)
        if range_text is None:
            every = cols[~np.isnan(cols)]
            auto = np.histogram(every, BINS)[1]           # numpy's own range rules
            lo, hi = float(auto[0]), float(auto[-1])
        else:
            lo, hi = (float(v) for v in range_text.split(","))
        counts, under, over, edges = [], [], [], None
        for j in range(cols.shape[1]):
            col = cols[:, j][~np.isnan(cols[:, j])]
            h, e = np.histogram(col, BINS, range=(lo, hi))
            assert edges is None or np.array_equal(e, edges), "numpy's edges vary by cell"
            counts.append(h)
            edges = e
            under.append(int((col < lo).sum()))
            over.append(int((col > hi).sum()))
        wants = count_wants(x, cols, shape)
        wants.update({
            "histogram/counts": Want(np.array(counts, np.uint64).reshape(shape + (BINS,)), U8),
            "histogram/edges": Want(edges, F8),
            "histogram/underflow": Want(np.array(under, np.uint64).reshape(shape), U8),
            "histogram/overflow": Want(np.array(over, np.uint64).reshape(shape), U8)})
        return Expect(["data/v.h5"], x.shape[0], {dataset.rsplit("/", 1)[-1]: wants})
    return oracle


def on_edges(lo, hi, dtype):
    """Every edge of np.histogram(_, BINS, (lo, hi)) and its neighbours in dtype."""
    edges = np.histogram(np.zeros(0), BINS, range=(lo, hi))[1].astype(dtype)
    inf = np.array(np.inf, dtype)
    return np.concatenate([edges, np.nextafter(edges, -inf), np.nextafter(edges, inf)])


def planted(data, values, seed):
    """Copy of data with values written at random places (each column gets all)."""
    out = data.copy()
    rng = np.random.default_rng(seed)
    flat = out.reshape(out.shape[0], -1)
    rows = rng.choice(flat.shape[0], size=len(values), replace=False)
    for j in range(flat.shape[1]):
        flat[rows, j] = values
    return out


def hist_float64_1d():
    x = with_nans(normal("f8", (20000,), 21, 0.5, 2.0), 0.05, 21)
    extremes = np.array([-np.inf, np.inf, -1e300, 1e300, 0.0, -0.0])
    return planted(x, np.concatenate([on_edges(-1.3, 2.9, "f8"), extremes]), 22)


def hist_float64_2d():
    x = normal("f8", (6000, 3), 23, 0.0, 1.0) * [1.0, 4.0, 0.1] + [0.0, 1.0, 5.0]
    x = with_nans(planted(x, on_edges(-2.0, 3.0, "f8"), 24), 0.1, 23)
    x[:, 2] = np.where(np.arange(6000) % 2, np.nan, x[:, 2])
    return x


def hist_int32_2d(order="<"):
    rng = np.random.default_rng(25)
    x = rng.integers(-80, 81, size=(5000, 3)).astype("i4")
    x[:, 1] = rng.integers(-10, 11, size=5000)                 # all inside
    x[:, 2] = rng.integers(-2**31, 2**31, size=5000)           # almost all outside
    x = planted(x, np.array([-50, -25, 0, 25, 50, -51, 51, -2**31, 2**31 - 1]), 26)
    return x.astype(np.dtype("i4").newbyteorder(order))


def hist_float32_2d():
    x = with_nans(normal("f4", (5000, 3), 27, 0.4, 0.25), 0.08, 27)
    return planted(x, on_edges(0.1, 0.7, "f4"), 28)


def hist_case(name, data, range_text, layout="deflate", chunks=None, **reduce):
    dataset = "/group/values"
    inp = Input("data/v.h5", data, layout, chunks or (256,) + data.shape[1:],
                unlimited=layout != "contiguous")
    keys = {"ops": "count histogram", "histogram_bins": str(BINS)}
    if range_text is not None:
        keys["histogram_range"] = range_text
    keys.update(reduce)
    sections = job_sections("data/v.h5", dataset, reduce=keys, partition="4K",
                            name=name.replace("/", "-"))
    return FeatureCase(name, lambda d: write_input(d, inp), sections,
                       hist_oracle(dataset, range_text if range_text != "auto" else None))


def hist_cases():
    wide = normal("f8", (4000, 3), 31, 0.0, 1.0) * [1.0, 100.0, 1e-3]
    wide = with_nans(wide, 0.1, 31)
    ramp = (np.arange(3000 * 3, dtype="i4").reshape(3000, 3) % 1001) - 300
    return [
        hist_case("histogram/float64-1d-range-edges-inf", hist_float64_1d(), "-1.3, 2.9"),
        hist_case("histogram/float64-2d-range-nan-column", hist_float64_2d(), "-2, 3"),
        hist_case("histogram/int32be-2d-range", hist_int32_2d(">"), "-50, 50",
                  layout="chunked", chunks=(333, 3)),
        hist_case("histogram/float32-2d-range", hist_float32_2d(), "0.1, 0.7"),
        hist_case("histogram/float64-2d-auto", wide, "auto"),
        hist_case("histogram/int32-2d-range-absent", ramp, None, layout="contiguous"),
        hist_case("histogram/int32-constant-auto", np.full(2000, 7, dtype="i4"), "auto"),
        hist_case("histogram/float64-all-nan-auto", np.full((1500, 2), np.nan), "auto"),
        hist_case("histogram/float64-empty-auto", np.zeros((0, 3)), "auto",
                  layout="chunked", chunks=(16, 3)),
    ]


# ------------------------------------------------------------ quantiles

def quantile_oracle(dataset, qtext, accuracy):
    def oracle(case_dir):
        x = load(case_dir, dataset)
        cols, shape = columns_of(x)
        qs = np.array([float(q) for q in qtext.split(",")])
        values = np.full((cols.shape[1], len(qs)), np.nan)
        for j in range(cols.shape[1]):
            col = cols[:, j][~np.isnan(cols[:, j])]
            if col.size:
                values[j] = np.quantile(col, qs, method="inverted_cdf")
        ends = (qs == 0.0) | (qs == 1.0)                 # min and max: exact
        rtol = np.broadcast_to(np.where(ends, 0.0, accuracy), values.shape)
        wants = count_wants(x, cols, shape)
        wants["quantiles/probabilities"] = Want(qs, F8)
        wants["quantiles/values"] = Want(values.reshape(shape + (len(qs),)), F8,
                                         rtol.reshape(shape + (len(qs),)), 0.0)
        return Expect(["data/v.h5"], x.shape[0], {dataset.rsplit("/", 1)[-1]: wants})
    return oracle


def quantile_case(name, data, accuracy=None, chunks=None):
    dataset = "/group/values"
    inp = Input("data/v.h5", data, "deflate", chunks or (512,) + data.shape[1:])
    keys = {"ops": "count quantiles", "quantiles": QUANTILES}
    if accuracy is not None:
        keys["quantile_accuracy"] = str(accuracy)
    sections = job_sections("data/v.h5", dataset, reduce=keys, partition="4K",
                            name=name.replace("/", "-"))
    return FeatureCase(name, lambda d: write_input(d, inp), sections,
                       quantile_oracle(dataset, QUANTILES, accuracy or 0.01))


def quantile_data():
    rng = np.random.default_rng(41)
    normal_1d = with_nans(normal("f8", (20000,), 41, -5.0, 10.0), 0.05, 41)
    normal_2d = normal("f8", (8000, 4), 42, 0.0, 1.0) * [1.0, 50.0, 1e-3, 1.0] \
        + [-100.0, 0.0, 3.0, 0.0]
    normal_2d = with_nans(normal_2d, 0.05, 42)
    normal_2d[:, 3] = np.nan                                   # no values: NaN
    lognormal = with_nans(rng.lognormal(0.0, 2.0, (10000, 2)).astype("f4"), 0.03, 43)
    ints = np.stack([rng.integers(-1000, 1001, 9000), rng.poisson(2.0, 9000),
                     rng.integers(10**8, 2 * 10**9, 9000)], axis=1).astype("i4")
    return normal_1d, normal_2d, lognormal, ints


def quantile_cases():
    normal_1d, normal_2d, lognormal, ints = quantile_data()
    return [
        quantile_case("quantiles/normal-negative-1d", normal_1d),
        quantile_case("quantiles/normal-negative-1d-acc0.05", normal_1d, 0.05),
        quantile_case("quantiles/normal-2d-nan-column-acc0.05", normal_2d, 0.05),
        quantile_case("quantiles/lognormal-float32", lognormal),
        quantile_case("quantiles/int32-2d", ints),
        quantile_case("quantiles/int32-2d-acc0.05", ints, 0.05),
    ]


def histquant_cases():
    return hist_cases() + quantile_cases()
