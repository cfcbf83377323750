"""Group-by as pandas users write it, checked against pandas itself.

Tables written by pandas (`to_hdf(format="table")`) and by PyTables; the
oracle reads them back with pandas and computes `groupby(...).agg` or
`value_counts()`, independently of h5batch.  Keys come out sorted (pandas
sorts groups by key), count as uint64, float statistics as float64.
A pandas table's `index` column (its row labels) is never a value column.

Cases: counts alone (the table holds only the key, or `fields` names only
the key: rows per key, pandas value_counts()); string keys (a pandas `S`
column, a PyTables StringCol, a space-padded field written with h5py's
low-level API, and a fixed-length UTF-8 key dataset beside a plain one):
keys are the bytes with their padding removed, sorted by bytes, written as
variable-length strings (h5py reads them as bytes objects); composite keys
(`group_by = station, year`, and a key dataset before a field), one key
dataset per part (groupby/keys_station, groupby/keys_year), sorted as pandas
groupby([...]) sorts; the composite pandas case is also interrupted by
SIGUSR1 after a checkpoint and resumed on 3 ranks, byte-identical; and a
pandas table of a million distinct int64 keys on 1, 2 and 4 ranks.
"""

import os
import signal
import subprocess
import time

import numpy as np

import h5py

from featurecase import F8, U8, Expect, FeatureCase, Want, job_sections, need
from harness import expect, expect_ok
from verify import check_identical

I8 = "<i8"
OBJ = "|O"
STATS = ("count", "sum", "mean", "std", "min", "max")


def rows_per_key(keys):
    """pandas' value_counts(), sorted by key: (keys, counts)."""
    pd = need("pandas")
    vc = pd.Series(keys).value_counts().sort_index()
    return vc.index.to_numpy(), vc.to_numpy().astype(np.uint64)


def counts_wants(keys, counts, key_dtype):
    return {"groupby/keys": Want(np.asarray(keys).astype(key_dtype), key_dtype),
            "groupby/count": Want(counts, U8)}


# ------------------------------------------------------------ counts alone

def years(n, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(1950, 2024, n).astype("i4")


def write_pandas_years(case_dir):
    pd = need("pandas")
    path = case_dir / "data/years.h5"
    path.parent.mkdir(parents=True, exist_ok=True)
    df = pd.DataFrame({"year": years(6000, 5)},
                      index=pd.Index(np.arange(6000, dtype="i8") * 3 + 11))
    df.to_hdf(str(path), key="obs", format="table", data_columns=True)


def oracle_pandas_years(case_dir):
    pd = need("pandas")
    df = pd.read_hdf(str(case_dir / "data/years.h5"), "obs")
    keys, counts = rows_per_key(df["year"].to_numpy())
    return Expect(["data/years.h5"], len(df), {"year": counts_wants(keys, counts, I8)},
                  ["index"])


def write_pytables_years(case_dir):
    tables = need("tables")

    class Row(tables.IsDescription):
        year = tables.Int16Col(pos=0)
        temp = tables.Float64Col(pos=1)

    path = case_dir / "data/rows.h5"
    path.parent.mkdir(parents=True, exist_ok=True)
    rec = np.zeros(5000, dtype=[("year", "<i2"), ("temp", "<f8")])
    rec["year"] = years(5000, 6)
    rec["temp"] = np.arange(5000) * 0.5
    with tables.open_file(str(path), "w") as f:
        t = f.create_table("/", "rows", Row, chunkshape=(300,))
        t.append(rec)


def oracle_pytables_years(case_dir):
    tables = need("tables")
    with tables.open_file(str(case_dir / "data/rows.h5")) as f:
        rec = f.root.rows.read()
    keys, counts = rows_per_key(rec["year"])
    return Expect(["data/rows.h5"], len(rec), {"year": counts_wants(keys, counts, I8)})


def counts_cases():
    return [
        FeatureCase("groupby/pandas-counts-alone", write_pandas_years,
                    job_sections("data/years.h5", "/obs/table", partition="4K",
                                 reduce={"group_by": "year", "ops": "count"},
                                 name="counts"),
                    oracle_pandas_years),
        FeatureCase("groupby/pytables-counts-fields-key-only", write_pytables_years,
                    job_sections("data/rows.h5", "/rows", partition="8K",
                                 reduce={"group_by": "year", "ops": "count"},
                                 extra_input={"fields": "year"}, name="counts"),
                    oracle_pytables_years),
    ]


# ------------------------------------------------------------ string keys

def stat_wants(df, by, column, key_want):
    """Wants of one value column grouped by `by`, from pandas (ddof 0)."""
    float_input = df[column].dtype.kind == "f"
    df = df.assign(**{column: df[column].astype(np.float64)})     # f4: pandas keeps f4
    g = df.groupby(by, sort=True)[column]
    x = df[column].to_numpy(dtype=np.float64)
    scale = float(np.nanmax(np.abs(x))) if len(x) else 0.0
    wants = dict(key_want)
    wants["groupby/count"] = Want(g.count().to_numpy().astype(np.uint64), U8)
    if float_input:
        nan = g.apply(lambda v: int(v.isna().sum()))
        wants["groupby/nan_count"] = Want(nan.to_numpy().astype(np.uint64), U8)
    agg = {"sum": g.sum(), "mean": g.mean(), "std": g.std(ddof=0), "min": g.min(),
           "max": g.max()}
    for op, v in agg.items():
        v = v.to_numpy(dtype=np.float64)
        if op == "sum":      # pandas sums an all-NaN group to 0; h5batch too
            v = np.where(g.count().to_numpy() > 0, v, 0.0)
        exact = op in ("min", "max")
        wants[f"groupby/{op}"] = Want(v, F8, 0.0 if exact else 1e-12,
                                      0.0 if exact else 1e-13 * scale)
    return wants


def bytes_keys(keys):
    """The wanted keys dataset: bytes objects, as h5py reads variable-length
    strings."""
    return Want(np.array(list(keys), dtype=object), OBJ)


def string_frame(n, seed):
    rng = np.random.default_rng(seed)
    names = np.array(["ab", "b", "abc", "zz9", "\u03a9x", "a", "station7", "B"])
    temp = rng.normal(12.0, 4.0, n)
    temp[rng.random(n) < 0.05] = np.nan
    pd = need("pandas")
    return pd.DataFrame({"station": names[rng.integers(0, len(names), n)],
                         "temp": temp, "year": rng.integers(1990, 1996, n)})


def write_pandas_strings(case_dir):
    path = case_dir / "data/obs.h5"
    path.parent.mkdir(parents=True, exist_ok=True)
    string_frame(7000, 8).to_hdf(str(path), key="obs", format="table", data_columns=True)


def oracle_pandas_strings(case_dir):
    pd = need("pandas")
    df = pd.read_hdf(str(case_dir / "data/obs.h5"), "obs")
    df["k"] = [s.encode() for s in df["station"]]      # sorted by bytes
    keys = {"groupby/keys": bytes_keys(sorted(set(df["k"])))}
    return Expect(["data/obs.h5"], len(df),
                  {c: stat_wants(df, "k", c, keys) for c in ("temp", "year")}, ["index"])


def write_sites(case_dir, rec, chunk):
    """data/sites.h5: a PyTables table /sites of rec's site (StringCol of
    rec's width) and level (Float32Col)."""
    tables = need("tables")

    class Row(tables.IsDescription):
        site = tables.StringCol(rec.dtype["site"].itemsize, pos=0)
        level = tables.Float32Col(pos=1)

    path = case_dir / "data/sites.h5"
    path.parent.mkdir(parents=True, exist_ok=True)
    with tables.open_file(str(path), "w") as f:
        f.create_table("/", "sites", Row, chunkshape=(chunk,)).append(rec)


def write_pytables_strings(case_dir):
    rng = np.random.default_rng(9)
    n = 6000
    rec = np.zeros(n, dtype=[("site", "S8"), ("level", "<f4")])
    rec["site"] = [f"s{k % 37:02d}".encode() if k % 5 else b"longsite" for k in
                   rng.integers(0, 1000, n)]
    rec["level"] = rng.normal(3.0, 1.0, n)
    write_sites(case_dir, rec, 500)


def oracle_pytables_strings(case_dir):
    tables, pd = need("tables"), need("pandas")
    with tables.open_file(str(case_dir / "data/sites.h5")) as f:
        rec = f.root.sites.read()
    df = pd.DataFrame({"k": list(rec["site"]), "level": rec["level"]})
    keys = {"groupby/keys": bytes_keys(sorted(set(df["k"])))}
    return Expect(["data/sites.h5"], len(df), {"level": stat_wants(df, "k", "level", keys)})


def write_spacepad(case_dir):
    """A compound of a space-padded 6-byte string and a float64, written
    with h5py's low-level API ("ab" and "ab    " are the same key)."""
    rng = np.random.default_rng(10)
    n = 3000
    words = [b"ab", b"ab    ", b"x y", b"x y   ", b"zzzzzz", b" lead", b"a"]
    raw = [words[k] for k in rng.integers(0, len(words), n)]
    st = h5py.h5t.C_S1.copy()
    st.set_size(6)
    st.set_strpad(h5py.h5t.STR_SPACEPAD)
    ct = h5py.h5t.create(h5py.h5t.COMPOUND, 14)
    ct.insert(b"name", 0, st)
    ct.insert(b"v", 6, h5py.h5t.IEEE_F64LE)
    buf = np.zeros(n, dtype=[("name", "S6"), ("v", "<f8")])
    buf["name"] = [w.ljust(6) for w in raw]           # padded with spaces
    buf["v"] = rng.normal(0.0, 1.0, n)
    path = case_dir / "data/pad.h5"
    path.parent.mkdir(parents=True, exist_ok=True)
    mt = h5py.h5t.create(h5py.h5t.COMPOUND, 14)
    mst = h5py.h5t.C_S1.copy()
    mst.set_size(6)
    mst.set_strpad(h5py.h5t.STR_NULLPAD)
    mt.insert(b"name", 0, mst)
    mt.insert(b"v", 6, h5py.h5t.NATIVE_DOUBLE)
    with h5py.File(path, "w") as f:
        space = h5py.h5s.create_simple((n,))
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_chunk((256,))
        ds = h5py.h5d.create(f.id, b"pad", ct, space, dcpl=dcpl)
        ds.write(h5py.h5s.ALL, h5py.h5s.ALL, buf, mtype=mt)


def oracle_spacepad(case_dir):
    pd = need("pandas")
    with h5py.File(case_dir / "data/pad.h5", "r") as f:
        rec = f["pad"][()]
    df = pd.DataFrame({"k": [bytes(s).rstrip(b" ") for s in rec["name"]], "v": rec["v"]})
    keys = {"groupby/keys": bytes_keys(sorted(set(df["k"])))}
    return Expect(["data/pad.h5"], len(df), {"v": stat_wants(df, "k", "v", keys)})


def write_key_dataset(case_dir):
    """A plain float32 dataset and a fixed-length UTF-8 key dataset."""
    rng = np.random.default_rng(12)
    n = 5000
    names = ["Zürich", "Aarau", "Genève", "Bern", "Basel"]
    keys = np.array([names[k].encode() for k in rng.integers(0, len(names), n)],
                    dtype="S7")
    path = case_dir / "data/cities.h5"
    path.parent.mkdir(parents=True, exist_ok=True)
    st = h5py.h5t.C_S1.copy()
    st.set_size(7)
    st.set_cset(h5py.h5t.CSET_UTF8)
    with h5py.File(path, "w") as f:
        f.create_dataset("temp", data=rng.normal(9.0, 5.0, n).astype("f4"), chunks=(400,))
        ds = h5py.h5d.create(f.id, b"city", st, h5py.h5s.create_simple((n,)))
        ds.write(h5py.h5s.ALL, h5py.h5s.ALL, keys, mtype=st)


def oracle_key_dataset(case_dir):
    pd = need("pandas")
    with h5py.File(case_dir / "data/cities.h5", "r") as f:
        df = pd.DataFrame({"k": list(f["city"][()]), "temp": f["temp"][()]})
    keys = {"groupby/keys": bytes_keys(sorted(set(df["k"])))}
    return Expect(["data/cities.h5"], len(df), {"temp": stat_wants(df, "k", "temp", keys)})


def write_paths_only(case_dir):
    """A PyTables table whose only column is the string key."""
    tables = need("tables")

    class Row(tables.IsDescription):
        path = tables.StringCol(16, pos=0)

    rng = np.random.default_rng(13)
    rec = np.zeros(4000, dtype=[("path", "S16")])
    rec["path"] = [f"/data/run{k % 23}".encode() for k in rng.integers(0, 500, 4000)]
    path = case_dir / "data/paths.h5"
    path.parent.mkdir(parents=True, exist_ok=True)
    with tables.open_file(str(path), "w") as f:
        f.create_table("/", "files", Row, chunkshape=(256,)).append(rec)


def oracle_paths_only(case_dir):
    tables = need("tables")
    with tables.open_file(str(case_dir / "data/paths.h5")) as f:
        rec = f.root.files.read()
    keys, counts = rows_per_key(list(rec["path"]))
    return Expect(["data/paths.h5"], len(rec),
                  {"path": {"groupby/keys": bytes_keys(keys),
                            "groupby/count": Want(counts, U8)}})


def resumed(case):
    case.extra.append(("checkpoint, resume on 3 ranks", resume_check))
    return case


def string_case(name, write, oracle, files, dataset, group_by, ops=" ".join(STATS),
                partition="4K", fields=None):
    extra = {"fields": fields} if fields else None
    return FeatureCase(name, write,
                       job_sections(files, dataset, partition=partition, extra_input=extra,
                                    reduce={"group_by": group_by, "ops": ops},
                                    name=name.split("/")[1]),
                       oracle)


def resume_check(tool, case_dir, job, kept):
    """Interrupted by SIGUSR1 once a checkpoint exists (each partition
    slowed by 300 ms, a checkpoint every 0.05 s), resumed on 3 ranks: the
    result is the bytes of the uninterrupted runs."""
    out = case_dir / job.settings["output"]["file"]
    ckpt = out.with_name(out.name + ".ckpt")
    out.unlink(missing_ok=True)
    ckpt.unlink(missing_ok=True)
    env = dict(os.environ, H5BATCH_TEST_PAUSE_MS="300", OMPI_ALLOW_RUN_AS_ROOT="1",
               OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    sets = ["--set", "run.checkpoint_every=0.05"]
    proc = subprocess.Popen([str(tool.binary), "-q"] + sets + ["job.ini"], cwd=case_dir,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    t0 = time.time()
    while not ckpt.exists() and proc.poll() is None and time.time() - t0 < 60:
        time.sleep(0.02)
    proc.send_signal(signal.SIGUSR1)
    _, err = proc.communicate(timeout=120)
    expect(proc.returncode == 75, f"interrupted run: rc={proc.returncode}, {err[-300:]!r}")
    expect_ok(tool.run(3, ["-q", "--resume"] + sets + ["job.ini"], case_dir))
    check_identical({**kept, "interrupted, resumed on 3": out}, case_dir)


def key_cases():
    return [
        string_case("groupby/pandas-string-key", write_pandas_strings,
                    oracle_pandas_strings, "data/obs.h5", "/obs/table", "station"),
        string_case("groupby/pytables-string-key", write_pytables_strings,
                    oracle_pytables_strings, "data/sites.h5", "/sites", "site"),
        string_case("groupby/spacepad-string-key", write_spacepad, oracle_spacepad,
                    "data/pad.h5", "/pad", "name"),
        string_case("groupby/string-key-dataset", write_key_dataset, oracle_key_dataset,
                    "data/cities.h5", "/temp", "/city"),
        string_case("groupby/pytables-string-counts-alone", write_paths_only,
                    oracle_paths_only, "data/paths.h5", "/files", "path", ops="count"),
        resumed(string_case("groupby/pandas-composite-string-int", write_pandas_strings,
                            oracle_pandas_composite, "data/obs.h5", "/obs/table",
                            "station, year")),
        string_case("groupby/composite-dataset-and-field", write_mixed_parts,
                    oracle_mixed_parts, "data/sites.h5", "/sites", "/run, site"),
    ]


# ------------------------------------------------------------ composite keys

def composite_wants(df, parts, column, names):
    """Wants of `column` grouped by the parts (columns of df, in order),
    with one keys dataset per part named after names."""
    g = df.groupby(parts, sort=True)[column].count()
    keys = {}
    for level, (part, name) in enumerate(zip(parts, names)):
        v = g.index.get_level_values(level)
        keys[f"groupby/keys_{name}"] = (bytes_keys(v) if df[part].dtype == object
                                        else Want(np.asarray(v).astype(I8), I8))
    return stat_wants(df, parts, column, keys)


def oracle_pandas_composite(case_dir):
    pd = need("pandas")
    df = pd.read_hdf(str(case_dir / "data/obs.h5"), "obs")
    df["k"] = [s.encode() for s in df["station"]]
    return Expect(["data/obs.h5"], len(df),
                  {"temp": composite_wants(df, ["k", "year"], "temp", ["station", "year"])},
                  ["index"])


def write_mixed_parts(case_dir):
    """A PyTables table (site string, level) and beside it a key dataset
    /run with a value per row: group_by = /run, site."""
    write_pytables_strings(case_dir)
    rng = np.random.default_rng(14)
    with h5py.File(case_dir / "data/sites.h5", "a") as f:
        f.create_dataset("run", data=rng.integers(-3, 4, 6000).astype("i2"))


def oracle_mixed_parts(case_dir):
    tables, pd = need("tables"), need("pandas")
    with tables.open_file(str(case_dir / "data/sites.h5")) as f:
        rec = f.root.sites.read()
        run = f.root.run.read()
    df = pd.DataFrame({"run": run.astype(np.int64), "k": list(rec["site"]),
                       "level": rec["level"]})
    return Expect(["data/sites.h5"], len(df),
                  {"level": composite_wants(df, ["run", "k"], "level", ["run", "site"])})



# ------------------------------------------------------------ a million keys

MILLION = 1_000_000


def write_million_keys(case_dir):
    """A pandas table of 2 million rows and exactly a million distinct int64
    keys (each key once, then a million more rows of random keys; shuffled,
    spread over negative and positive values), two float64 columns with 1%
    NaN."""
    pd = need("pandas")
    rng = np.random.default_rng(19)
    ids = np.concatenate([np.arange(MILLION), rng.integers(0, MILLION, MILLION)])
    rng.shuffle(ids)
    keys = ids * 7919 - 3_000_000_000
    a = rng.normal(5.0, 2.0, 2 * MILLION)
    b = rng.exponential(3.0, 2 * MILLION)
    a[rng.random(2 * MILLION) < 0.01] = np.nan
    path = case_dir / "data/million.h5"
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"id": keys, "a": a, "b": b}).to_hdf(str(path), key="t", format="table",
                                                       data_columns=True)


def million_wants(g, column, keys):
    """pandas' vectorised aggregates of one column (ddof 0); NaN rows are
    counted apart, as h5batch does."""
    wants = dict(keys)
    count = g[column].count().to_numpy()
    wants["groupby/count"] = Want(count.astype(np.uint64), U8)
    wants["groupby/nan_count"] = Want((g.size().to_numpy() - count).astype(np.uint64), U8)
    for op, v in {"sum": g[column].sum(), "mean": g[column].mean(),
                  "std": g[column].std(ddof=0), "var": g[column].var(ddof=0),
                  "min": g[column].min(),
                  "max": g[column].max()}.items():
        exact = op in ("min", "max")
        wants[f"groupby/{op}"] = Want(v.to_numpy(dtype=np.float64), F8,
                                      0.0 if exact else 1e-12, 0.0 if exact else 1e-12)
    return wants


def oracle_million_keys(case_dir):
    pd = need("pandas")
    df = pd.read_hdf(str(case_dir / "data/million.h5"), "t")
    g = df.groupby("id", sort=True)
    keys = {"groupby/keys": Want(np.asarray(g.size().index).astype(I8), I8)}
    expect(len(keys["groupby/keys"].value) == MILLION, "the table lost keys")
    return Expect(["data/million.h5"], len(df),
                  {c: million_wants(g, c, keys) for c in ("a", "b")}, ["index"])


def million_case():
    """1 million keys on 1, 2 and 4 ranks (issue 19; matrix.ONLY_MODES):
    four 16 MiB partitions of about 500,000 rows, so rank 0 merges four
    partials of hundreds of thousands of keys each."""
    return FeatureCase("groupby/pandas-million-int-keys", write_million_keys,
                       job_sections("data/million.h5", "/t/table", partition="16M",
                                    reduce={"group_by": "id"}, name="million"),
                       oracle_million_keys)


def groupby_cases():
    from gbdistcases import dist_cases      # it imports from here
    return counts_cases() + key_cases() + [million_case()] + dist_cases()
