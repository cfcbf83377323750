"""Per-key distributions of group-by, checked against numpy per group.

`ops = count histogram quantiles` with `group_by`: every key gets its
histogram over the column's one shared range (groupby/histogram, keys x
bins, uint64, with groupby/histogram_edges) and its quantiles
(groupby/quantiles, keys x nq, with groupby/probabilities); the whole
column's histogram and quantiles come out beside them, from the same pass.

Oracles: numpy.histogram on each group with the range numpy would take for
the whole column (its min and max: histogram_range = auto), or the range
given, compared exactly; numpy.quantile(..., method="inverted_cdf") on each
group, within the relative accuracy asked (quantile_accuracy, 0.01 by
default), and exactly at q = 0 and q = 1 (the group's min and max).  Tables
made with pandas (int keys, an int32 and a float64 column with NaN; also
interrupted after a checkpoint and resumed on 3 ranks, byte-identical) and
with PyTables (string keys, float32 values, a given range and accuracy
0.001).  A million distinct keys of three values each with per-key
quantiles on 1, 2 and 4 ranks, whose rank 0 peak RSS (the JSON summary's)
must stay within the memory plan's estimate (README, group-by memory).
"""

import json
from pathlib import Path

import numpy as np

from featurecase import F8, U8, Expect, FeatureCase, Want, job_sections, need
from groupbycases import I8, bytes_keys, resumed, write_sites
from harness import Tool, expect, expect_ok

QS = (0.0, 0.1, 0.5, 0.9, 1.0)


def per_key_hist(groups, bins, lo, hi):
    """numpy.histogram of each group's non-NaN values over one range."""
    rows = [np.histogram(g[~np.isnan(g)], bins=bins, range=(lo, hi))[0] for g in groups]
    return np.array(rows, dtype=np.uint64).reshape(len(groups), bins)


def per_key_quantiles(groups, qs):
    """numpy's inverted_cdf quantiles of each group's non-NaN values."""
    out = np.full((len(groups), len(qs)), np.nan)
    for i, g in enumerate(groups):
        g = g[~np.isnan(g)]
        if len(g):
            out[i] = np.quantile(g, qs, method="inverted_cdf")
    return out


def quantile_want(est, acc):
    """Within relative accuracy acc, exact at q = 0 and q = 1 (min, max)."""
    rtol = np.full(est.shape, acc)
    rtol[..., 0] = rtol[..., -1] = 0.0
    return Want(est, F8, rtol, 0.0)


def dist_wants(keys, groups, x, bins, lo, hi, qs, acc, float_input):
    """Per-key and whole-column wants of one value column (x: all values as
    float64, NaN included; groups: per key, in key order)."""
    edges = np.histogram_bin_edges(x[~np.isnan(x)], bins=bins, range=(lo, hi))
    counts = np.array([np.count_nonzero(~np.isnan(g)) for g in groups], dtype=np.uint64)
    w = dict(keys)
    w["groupby/count"] = Want(counts, U8)
    w["groupby/histogram"] = Want(per_key_hist(groups, bins, lo, hi), U8)
    w["groupby/histogram_edges"] = Want(edges, F8)
    w["groupby/quantiles"] = quantile_want(per_key_quantiles(groups, qs), acc)
    w["groupby/probabilities"] = Want(np.array(qs, dtype=np.float64), F8)
    v = x[~np.isnan(x)]
    whole_counts = np.histogram(v, bins=bins, range=(lo, hi))[0]
    w["count"] = Want(np.array(len(v), dtype=np.uint64), U8)
    w["histogram/counts"] = Want(whole_counts.astype(np.uint64), U8)
    w["histogram/edges"] = Want(edges, F8)
    w["histogram/underflow"] = Want(np.array(np.count_nonzero(v < lo), dtype=np.uint64), U8)
    w["histogram/overflow"] = Want(np.array(np.count_nonzero(v > hi), dtype=np.uint64), U8)
    w["quantiles/probabilities"] = Want(np.array(qs, dtype=np.float64), F8)
    w["quantiles/values"] = quantile_want(np.quantile(v, qs, method="inverted_cdf"), acc)
    if float_input:
        nan = np.array([np.count_nonzero(np.isnan(g)) for g in groups], dtype=np.uint64)
        w["groupby/nan_count"] = Want(nan, U8)
        w["nan_count"] = Want(np.array(np.count_nonzero(np.isnan(x)), dtype=np.uint64), U8)
    return w


def split(df, by, column):
    """Each key's values of column (float64), keys in sorted order."""
    g = df.groupby(by, sort=True)[column]
    return [v.to_numpy(dtype=np.float64) for _, v in g]


# ------------------------------------------------------------ pandas, int keys

def write_pandas_dist(case_dir):
    """40 int keys, an exponential float64 column with 3% NaN and some
    negatives, zeros and a key whose values are all NaN, an int32 column."""
    pd = need("pandas")
    rng = np.random.default_rng(41)
    n = 12000
    k = rng.integers(-20, 20, n)
    a = rng.exponential(5.0, n) * rng.choice([-1.0, 1.0, 1.0], n)
    a[rng.random(n) < 0.03] = np.nan
    a[rng.random(n) < 0.01] = 0.0
    a[k == 7] = np.nan
    b = rng.integers(-1000, 100000, n).astype("i4")
    path = case_dir / "data/dist.h5"
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"k": k, "a": a, "b": b}).to_hdf(str(path), key="obs", format="table",
                                                  data_columns=True)


def oracle_pandas_dist(case_dir):
    pd = need("pandas")
    df = pd.read_hdf(str(case_dir / "data/dist.h5"), "obs")
    keys = {"groupby/keys": Want(np.array(sorted(set(df["k"])), dtype=np.int64), I8)}
    groups = {}
    for c in ("a", "b"):
        x = df[c].to_numpy(dtype=np.float64)
        lo, hi = np.nanmin(x), np.nanmax(x)         # histogram_range = auto
        groups[c] = dist_wants(keys, split(df, "k", c), x, 12, lo, hi, QS, 0.01,
                               c == "a")
    return Expect(["data/dist.h5"], len(df), groups, ["index"])


# ------------------------------------------------------------ PyTables, string keys

def write_pytables_dist(case_dir):
    rng = np.random.default_rng(43)
    n = 9000
    rec = np.zeros(n, dtype=[("site", "S6"), ("level", "<f4")])
    rec["site"] = [f"s{v:02d}".encode() for v in rng.integers(0, 25, n)]
    # magnitudes within a factor 58 (2048 buckets at accuracy 0.001), so no
    # sketch collapses; 1% over the range (overflow)
    rec["level"] = rng.uniform(1.0, 30.0, n)
    rec["level"][rng.random(n) < 0.01] = 33.0
    write_sites(case_dir, rec, 700)


PT_QS = (0.25, 0.5, 0.75)


def oracle_pytables_dist(case_dir):
    tables, pd = need("tables"), need("pandas")
    with tables.open_file(str(case_dir / "data/sites.h5")) as f:
        rec = f.root.sites.read()
    df = pd.DataFrame({"k": list(rec["site"]), "level": rec["level"].astype(np.float64)})
    keys = {"groupby/keys": bytes_keys(sorted(set(df["k"])))}
    x = df["level"].to_numpy()
    w = dist_wants(keys, split(df, "k", "level"), x, 20, 0.0, 30.0, PT_QS, 0.001, True)
    for name in ("groupby/quantiles", "quantiles/values"):     # no q = 0 or 1 here
        w[name] = Want(w[name].value, F8, 0.001, 0.0)
    return Expect(["data/sites.h5"], len(df), {"level": w})


# ------------------------------------------------------------ a million keys

MILLION = 1_000_000
M_QS = (0.0, 0.5, 1.0)


def write_million_dist(case_dir):
    """3 million rows: each of a million int64 keys three times (shuffled),
    a normal float64 value."""
    pd = need("pandas")
    rng = np.random.default_rng(47)
    ids = np.repeat(np.arange(MILLION), 3)
    rng.shuffle(ids)
    path = case_dir / "data/million.h5"
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"id": ids * 31 - 5_000_000, "v": rng.normal(0.0, 10.0, 3 * MILLION)}) \
        .to_hdf(str(path), key="t", format="table", data_columns=True)


def grouped_inverted_cdf(keys, v, qs):
    """inverted_cdf quantiles of every key's values at once: sorted by
    (key, value), the value of rank max(1, ceil(n q)) within each key."""
    order = np.lexsort((v, keys))
    k, v = keys[order], v[order]
    uniq, start, n = np.unique(k, return_index=True, return_counts=True)
    out = np.empty((len(uniq), len(qs)))
    for j, q in enumerate(qs):
        rank = np.clip(np.ceil(n * q), 1, n).astype(np.int64)
        out[:, j] = v[start + rank - 1]
    return uniq, out, n


def oracle_million_dist(case_dir):
    pd = need("pandas")
    df = pd.read_hdf(str(case_dir / "data/million.h5"), "t")
    keys, est, n = grouped_inverted_cdf(df["id"].to_numpy(), df["v"].to_numpy(), M_QS)
    expect(len(keys) == MILLION, "the table lost keys")
    # the vectorised ranks are numpy's own: checked on a sample of keys
    for i in np.random.default_rng(1).integers(0, MILLION, 300):
        g = df["v"].to_numpy()[df["id"].to_numpy() == keys[i]]
        expect(np.array_equal(np.quantile(g, M_QS, method="inverted_cdf"), est[i]),
               f"oracle ranks disagree with numpy at key {keys[i]}")
    v = df["v"].to_numpy()
    w = {"groupby/keys": Want(keys.astype(np.int64), I8),
         "groupby/count": Want(n.astype(np.uint64), U8),
         "groupby/nan_count": Want(np.zeros(MILLION, dtype=np.uint64), U8),
         "groupby/quantiles": quantile_want(est, 0.01),
         "groupby/probabilities": Want(np.array(M_QS), F8),
         "count": Want(np.array(len(v), dtype=np.uint64), U8),
         "nan_count": Want(np.array(0, dtype=np.uint64), U8),
         "quantiles/probabilities": Want(np.array(M_QS), F8),
         "quantiles/values": quantile_want(np.quantile(v, M_QS, method="inverted_cdf"), 0.01)}
    return Expect(["data/million.h5"], len(df), {"v": w}, ["index"])


def rss_within_plan(tool, case_dir, job, kept):
    """Rank 0's peak RSS stays within the memory plan's estimate for it,
    the model README states, on 1 and 2 ranks (no timing is asserted).
    Alone, h5batch runs under /usr/bin/time -f %M: the JSON summary's
    ru_maxrss of a process started straight from this (large) Python
    process would include the parent's peak, which Linux carries across
    exec; under mpirun the ranks are started by Open MPI, and the JSON
    figures (workers' too) are their own."""
    for ranks in (0, 2):
        logdir = case_dir / ".log" / f"rss-{ranks}"
        args = ["-q", "--format", "json", "--set", "output.file=results/rss.h5", "job.ini"]
        if ranks == 0:
            timed = Tool(Path("/usr/bin/time"), tool.timeout,
                         args=["-f", "%M", "-o", str(logdir / "maxrss"), str(tool.binary)])
            logdir.mkdir(parents=True, exist_ok=True)
            run = timed.run(0, args, case_dir, logdir)
        else:
            run = tool.run(ranks, args, case_dir, logdir)
        expect_ok(run)
        mem = json.loads(run.stdout)["memory"]
        rss = mem["peak_rss_bytes"]["rank0"]
        if ranks == 0:
            rss = int((logdir / "maxrss").read_text().split()[-1]) * 1024
        est = mem["estimate_bytes"]["rank0"]
        expect(0 < rss <= est, f"{ranks} ranks: rank 0 peak RSS {rss} B, plan {est} B")
        for w in mem["peak_rss_bytes"]["workers"]:
            expect(w <= mem["estimate_bytes"]["worker"],
                   f"{ranks} ranks: a worker's peak RSS {w} B, plan "
                   f"{mem['estimate_bytes']['worker']} B")


def million_dist_case():
    case = FeatureCase("groupby/dist-pandas-million-keys-quantiles", write_million_dist,
                       job_sections("data/million.h5", "/t/table", partition="16M",
                                    reduce={"group_by": "id", "ops": "count quantiles",
                                            "quantiles": "0 0.5 1"},
                                    name="million"),
                       oracle_million_dist)
    case.extra.append(("peak RSS within the plan", rss_within_plan))
    return case


def dist_cases():
    return [
        resumed(FeatureCase(
            "groupby/dist-pandas-int-keys",
            write_pandas_dist,
            job_sections("data/dist.h5", "/obs/table", partition="16K",
                         reduce={"group_by": "k", "ops": "count histogram quantiles",
                                 "histogram_bins": "12", "quantiles": "0 0.1 0.5 0.9 1"},
                         name="dist"),
            oracle_pandas_dist)),
        FeatureCase(
            "groupby/dist-pytables-string-keys",
            write_pytables_dist,
            job_sections("data/sites.h5", "/sites", partition="8K",
                         reduce={"group_by": "site", "ops": "count histogram quantiles",
                                 "histogram_bins": "20", "histogram_range": "0, 30",
                                 "quantiles": "0.25 0.5 0.75",
                                 "quantile_accuracy": "0.001"},
                         name="sites"),
            oracle_pytables_dist),
        million_dist_case(),
    ]
