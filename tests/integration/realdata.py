"""Files as real tools write them: PyTables and pandas tables, CF netCDF-4.

Tables: a PyTables table (IsDescription with int64, float32 with NaNs,
float64 and uint8 fields, plus a string field and a (2,) array field that
must be skipped; chunked, zlib + shuffle; two files) and a pandas
`to_hdf(format="table", data_columns=True)` table (/t/table: an int64
`index` field, pandas' row labels, skipped unless `fields` names it, and one
field per column).  The oracle reads them back with
PyTables / pandas and reduces each numeric field with oracle.py's fsum path;
every field is a group of its own, min/max in the field's type.

CF: netCDF-4 files written by netCDF4-python: an int16 temperature packed
with scale_factor/add_offset, _FillValue and valid_range (two files along an
unlimited time axis, zlib + chunking), a float32 field with _FillValue, and
a float64 one with missing_value and valid_min/valid_max.  Some values are
fill, some outside the valid range, some exactly on its bounds, and one cell
is masked throughout.  The oracle is netCDF4.Dataset(...)[var][:] (masked,
unpacked) reduced over axis 0 by numpy.ma in float64: missing_count is the
masked count, nan_count zero, min/max float64 for the packed variable and
the variable's own type otherwise.  `cf = off` must give the stored values.
"""

import numpy as np

from featurecase import (F8, U8, Expect, FeatureCase, Want, job_sections, moment_wants,
                         need, spread_atol)
from oracle import expand_files
from verify import RTOL

ALL = ("count", "sum", "mean", "var", "std", "min", "max")


# ------------------------------------------------------------ tables

def reading_records(n, seed):
    """Rows of the PyTables table as a numpy structured array."""
    rng = np.random.default_rng(seed)
    rec = np.zeros(n, dtype=[("id", "<i8"), ("temp", "<f4"), ("pressure", "<f8"),
                             ("flag", "u1"), ("site", "S8"), ("vec", "<f8", (2,))])
    rec["id"] = rng.integers(-2**62, 2**62, n)
    rec["id"][n // 3] = 2**62 + 1                    # beyond 2**53, odd: exact min/max only
    rec["temp"] = rng.normal(15.0, 8.0, n)
    rec["temp"][rng.random(n) < 0.1] = np.nan
    rec["pressure"] = 1013.25 + rng.normal(0.0, 10.0, n)
    rec["flag"] = rng.integers(0, 256, n)
    rec["site"] = [f"st{k % 97:03d}".encode() for k in range(n)]
    rec["vec"] = rng.normal(size=(n, 2))
    return rec


def write_pytables(case_dir):
    tables = need("tables")

    class Reading(tables.IsDescription):
        id = tables.Int64Col(pos=0)
        temp = tables.Float32Col(pos=1)
        pressure = tables.Float64Col(pos=2)
        flag = tables.UInt8Col(pos=3)
        site = tables.StringCol(8, pos=4)
        vec = tables.Float64Col(shape=(2,), pos=5)

    filters = tables.Filters(complevel=5, complib="zlib", shuffle=True)
    for name, n, seed, chunk in (("a", 3000, 1, 128), ("b", 2000, 2, 300)):
        path = case_dir / f"data/readings-{name}.h5"
        path.parent.mkdir(parents=True, exist_ok=True)
        with tables.open_file(str(path), "w") as f:
            t = f.create_table("/", "readings", Reading, "sensor readings", filters=filters,
                               chunkshape=(chunk,), expectedrows=n)
            t.append(reading_records(n, seed))
            t.flush()


def read_pytables(case_dir, files):
    tables = need("tables")
    parts = []
    for path in files:
        with tables.open_file(str(case_dir / path), "r") as f:
            parts.append(f.root.readings.read())
    return np.concatenate(parts)


def write_pandas(case_dir):
    pd = need("pandas")
    rng = np.random.default_rng(3)
    n = 4000
    temp = rng.normal(20.0, 5.0, n).astype("f4")
    temp[rng.random(n) < 0.05] = np.nan
    df = pd.DataFrame({"temp": temp, "pressure": 1000.0 + rng.normal(0.0, 8.0, n),
                       "station": rng.integers(0, 256, n).astype("u1"),
                       "site": [f"site-{k % 13}" for k in range(n)]},
                      index=pd.Index(np.arange(n, dtype="i8") * 7 - 9000))
    path = case_dir / "data/frame.h5"
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_hdf(str(path), key="t", format="table", data_columns=True, complevel=5,
              complib="zlib")


def read_pandas(case_dir, files):
    """The frame as a structured array with pandas' own `index` field first."""
    pd = need("pandas")
    frames = [pd.read_hdf(str(case_dir / path), "t") for path in files]
    df = pd.concat(frames)
    cols = [("index", df.index.to_numpy())] + [(c, df[c].to_numpy()) for c in df.columns]
    rec = np.zeros(len(df), dtype=[(c, v.dtype if v.dtype.kind != "O" else "S16")
                                   for c, v in cols])
    for c, v in cols:
        rec[c] = v.astype("S16") if v.dtype.kind == "O" else v
    return rec


def table_oracle(reader, files_spec, fields):
    """Oracle for a table job: one group per numeric field (or per named field)."""
    def oracle(case_dir):
        files = expand_files(files_spec, case_dir)
        rec = reader(case_dir, files)
        # a pandas table's `index` holds its row labels, not data
        numeric = [name for name in rec.dtype.names
                   if rec.dtype[name].kind in "iuf" and rec.dtype[name].shape == ()
                   and not (reader is read_pandas and name == "index")]
        chosen = fields or numeric
        skipped = [name for name in rec.dtype.names if name not in numeric]
        groups = {name: moment_wants(rec[name].reshape(-1, 1), (), rec.dtype[name], ALL)
                  for name in chosen}
        return Expect(files, len(rec), groups, None if fields else skipped)
    return oracle


def table_case(name, write, reader, files, dataset, fields=None):
    extra = {"fields": ", ".join(fields)} if fields else None
    sections = job_sections(files, dataset, partition="4K", extra_input=extra,
                            name=name.replace("/", "-"))
    return FeatureCase(name, write, sections, table_oracle(reader, files, fields))


def table_cases():
    pyt = ("data/readings-*.h5", "/readings")
    pds = ("data/frame.h5", "/t/table")
    return [
        table_case("table/pytables-all-fields", write_pytables, read_pytables, *pyt),
        table_case("table/pytables-fields", write_pytables, read_pytables, *pyt,
                   fields=["temp", "pressure"]),
        table_case("table/pandas-all-fields", write_pandas, read_pandas, *pds),
        table_case("table/pandas-fields", write_pandas, read_pandas, *pds,
                   fields=["temp", "pressure"]),
    ]


# ------------------------------------------------------------ CF netCDF-4

SCALE, OFFSET, FILL16 = 0.01, 280.0, -32767
VALID16 = (-3000, 4000)                  # 250 K .. 320 K once unpacked


def write_cf(case_dir):
    """Two netCDF-4 files along an unlimited time axis, 6 x 8 grid."""
    for k, (nt, seed) in enumerate(((70, 11), (50, 12))):
        path = case_dir / f"data/tas_{2000 + k}.nc"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_cf_file(path, nt, seed)


def write_cf_file(path, nt, seed):
    netCDF4 = need("netCDF4")
    rng = np.random.default_rng(seed)
    ny, nx = 6, 8
    lat = np.linspace(-60.0, 60.0, ny)
    with netCDF4.Dataset(str(path), "w", format="NETCDF4") as ds:
        ds.Conventions = "CF-1.8"
        ds.createDimension("time", None)
        ds.createDimension("lat", ny)
        ds.createDimension("lon", nx)
        ds.createVariable("lat", "f8", ("lat",))[:] = lat
        write_tas(ds, rng, nt, lat)
        write_pr(ds, rng, nt, ny, nx)
        write_t2(ds, rng, nt, ny, nx)


def write_tas(ds, rng, nt, lat):
    """Packed temperature: stored = round((T - 280) / 0.01), written raw."""
    ny, nx = len(lat), ds.dimensions["lon"].size
    v = ds.createVariable("tas", "i2", ("time", "lat", "lon"), zlib=True, complevel=4,
                          chunksizes=(8, ny, nx), fill_value=np.int16(FILL16))
    v.units = "K"
    v.standard_name = "air_temperature"
    v.scale_factor = np.float64(SCALE)
    v.add_offset = np.float64(OFFSET)
    v.valid_range = np.array(VALID16, dtype="i2")
    temp = 300.0 - 0.3 * np.abs(lat)[None, :, None] + rng.normal(0.0, 4.0, (nt, ny, nx))
    stored = np.round((temp - OFFSET) / SCALE).astype("i2")
    stored[rng.random(stored.shape) < 0.08] = FILL16
    stored[rng.random(stored.shape) < 0.02] = 5000          # above valid_range
    stored[rng.random(stored.shape) < 0.02] = -5000         # below it
    stored[1, 2, 3], stored[2, 2, 3] = VALID16              # on the bounds: valid
    stored[:, 0, 0] = FILL16                                # masked throughout
    stored[:, 5, 7] = FILL16
    stored[3, 5, 7] = 1234                                  # a single valid value
    v.set_auto_maskandscale(False)
    v[0:nt] = stored


def write_pr(ds, rng, nt, ny, nx):
    v = ds.createVariable("pr", "f4", ("time", "lat", "lon"), zlib=True,
                          chunksizes=(16, ny, nx), fill_value=np.float32(-999.0))
    v.units = "kg m-2 s-1"
    pr = rng.gamma(0.8, 3e-5, (nt, ny, nx)).astype("f4")
    mask = rng.random(pr.shape) < 0.15
    mask[:, 4, 1] = True
    v[0:nt] = np.ma.array(pr, mask=mask)


def write_t2(ds, rng, nt, ny, nx):
    v = ds.createVariable("t2", "f8", ("time", "lat", "lon"), zlib=True)
    v.missing_value = np.float64(1e20)
    v.valid_min = np.float64(150.0)
    v.valid_max = np.float64(350.0)
    t2 = rng.normal(280.0, 20.0, (nt, ny, nx))
    t2[rng.random(t2.shape) < 0.05] = 1e20
    t2[rng.random(t2.shape) < 0.03] = 100.0                 # below valid_min
    t2[rng.random(t2.shape) < 0.03] = 400.0                 # above valid_max
    t2[0, 1, 1], t2[1, 1, 1] = 150.0, 350.0                 # on the bounds: valid
    v.set_auto_maskandscale(False)
    v[0:nt] = t2


def read_masked(case_dir, files, var, masked=True):
    netCDF4 = need("netCDF4")
    parts = []
    for path in files:
        with netCDF4.Dataset(str(case_dir / path)) as ds:
            ds[var].set_auto_maskandscale(masked)
            parts.append(np.ma.asarray(ds[var][:]))
    return np.ma.concatenate(parts, axis=0)


def cf_oracle(files_spec, var, value_dtype):
    """numpy.ma on netCDF4's masked, unpacked array, in float64."""
    def oracle(case_dir):
        files = expand_files(files_spec, case_dir)
        a = read_masked(case_dir, files, var)
        x = a.astype(np.float64)
        mask = np.ma.getmaskarray(x)
        n = (~mask).sum(axis=0)
        var0 = x.var(axis=0).filled(np.nan)
        atol = spread_atol(np.abs(x).sum(axis=0).filled(0.0), np.abs(x).max(axis=0).filled(0.0),
                           n, var0)
        close = lambda v, op: Want(np.asarray(v, dtype=np.float64), F8, RTOL, atol[op])
        ext = lambda v: Want(np.asarray(v.astype(value_dtype).filled(np.nan)),
                             np.dtype(value_dtype).newbyteorder("<").str)
        wants = {"count": Want(n.astype(np.uint64), U8),
                 "nan_count": Want(np.zeros(n.shape, np.uint64), U8),
                 "missing_count": Want(mask.sum(axis=0).astype(np.uint64), U8),
                 "sum": close(x.sum(axis=0).filled(0.0), "sum"),
                 "mean": close(x.mean(axis=0).filled(np.nan), "mean"),
                 "var": close(var0, "var"),
                 "std": close(x.std(axis=0).filled(np.nan), "std"),
                 "min": ext(a.min(axis=0)), "max": ext(a.max(axis=0))}
        return Expect(files, a.shape[0], {var: wants})
    return oracle


def cf_off_oracle(files_spec, var):
    """cf = off: the stored values as they are, through oracle.py's exact path."""
    def oracle(case_dir):
        files = expand_files(files_spec, case_dir)
        raw = np.asarray(read_masked(case_dir, files, var, masked=False))
        cols = raw.reshape(raw.shape[0], -1)
        return Expect(files, raw.shape[0],
                      {var: moment_wants(cols, raw.shape[1:], raw.dtype, ALL)})
    return oracle


def cf_cases():
    files = "data/tas_*.nc"

    def case(name, var, oracle, cf=None):
        extra = {"cf": cf} if cf else None
        sections = job_sections(files, f"/{var}", partition="4K", extra_input=extra,
                                name=name.replace("/", "-"))
        return FeatureCase(name, write_cf, sections, oracle, min_partitions=2)
    return [
        case("cf/packed-int16-scale-offset-fill-valid-range", "tas",
             cf_oracle(files, "tas", "f8")),
        case("cf/float32-fill-value", "pr", cf_oracle(files, "pr", "f4")),
        case("cf/float64-missing-value-valid-min-max", "t2", cf_oracle(files, "t2", "f8"),
             cf="auto"),
        case("cf/off-stored-int16", "tas", cf_off_oracle(files, "tas"), cf="off"),
    ]


# ------------------------------------------------------------ filter plugins

def write_plugin_filtered(case_dir):
    """Three PyTables CArrays, float32 (n, 4), compressed by filters HDF5
    itself lacks: blosc:lz4, blosc:zstd and bzip2."""
    tables = need("tables")
    rng = np.random.default_rng(32)
    for k, (n, lib) in enumerate(((6000, "blosc:lz4"), (2500, "blosc:zstd"),
                                  (3100, "bzip2"))):
        path = case_dir / f"data/blosc-{k}.h5"
        path.parent.mkdir(parents=True, exist_ok=True)
        x = rng.lognormal(0.0, 1.0, (n, 4)).astype(np.float32)
        with tables.open_file(str(path), "w") as f:
            f.create_carray("/", "data", obj=x, chunkshape=(700, 4),
                            filters=tables.Filters(complevel=5, complib=lib, shuffle=True))


def filter_oracle(files_spec):
    """PyTables (its own blosc and bzip2) reads the files back."""
    def oracle(case_dir):
        files = expand_files(files_spec, case_dir)
        parts = []
        for path in files:
            with need("tables").open_file(str(case_dir / path)) as f:
                parts.append(f.root.data[:])
        x = np.concatenate(parts)
        return Expect(files, x.shape[0],
                      {"data": moment_wants(x.reshape(x.shape[0], -1), x.shape[1:], x.dtype,
                                            ALL)})
    return oracle


def filter_cases():
    """Chunks compressed by HDF5 filter plugins (Debian's
    hdf5-filter-plugin-blosc-serial and hdf5-filter-plugin, found on HDF5's
    default plugin path).  Debian's hdf5-plugin-lzf is not used: its
    library lacks lzf_decompress, so no HDF5 program reads h5py's LZF
    through it (h5dump prints no data)."""
    files = "data/blosc-*.h5"
    sections = job_sections(files, "/data", partition="16K", name="filters")
    return [FeatureCase("filters/pytables-blosc-lz4-zstd-bzip2", write_plugin_filtered, sections,
                        filter_oracle(files), min_partitions=3)]


def realdata_cases():
    return table_cases() + cf_cases() + filter_cases()
