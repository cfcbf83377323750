"""Group-by as pandas users write it, checked against pandas itself.

Tables written by pandas (`to_hdf(format="table")`) and by PyTables; the
oracle reads them back with pandas and computes `groupby(...).agg` or
`value_counts()`, independently of h5batch.  Keys come out sorted (pandas
sorts groups by key), count as uint64, float statistics as float64.
A pandas table's `index` column (its row labels) is never a value column.

Cases: counts alone (the table holds only the key, or `fields` names only
the key: rows per key, pandas value_counts()).
"""

import numpy as np

from featurecase import U8, Expect, FeatureCase, Want, job_sections, need

I8 = "<i8"


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


def groupby_cases():
    return counts_cases()
