"""Results opened by the readers people use: xarray and ncdump.

Each case writes an input with numpy/h5py/netCDF4, runs h5batch (alone;
the CF field also on 3 ranks, byte-identical to the run alone once the
run's own attributes are blanked), then opens every group of the results
with `xarray.open_dataset` on both the netcdf4 and h5netcdf engines and
with `ncdump -h`.  No group may show a phony dimension, and each case
checks its dimension names, coordinate values (against the input, read
with netCDF4 or h5py), attributes and a few values against numpy or
pandas:

  readers/cf-field     netCDF-4 tas(time, lat, lon) with coordinates and
                       CF attributes: mean(lat, lon) with the input's lat
                       and lon, units, cell_methods, var in K2; .plot()
  readers/plain        an h5py dataset without scales, with a histogram and
                       quantiles: temperature_dim1/2, bin, bin_edge, and
                       quantile whose coordinate is the probabilities
  readers/group-by     an int64 key dataset: key coordinate and statistics
                       against pandas' groupby
  readers/table        a compound table grouped by one of its fields
  readers/group-by-strings  a pandas table grouped by a string column: the
                       key coordinate holds the strings (UTF-8 too)
  readers/group-by-composite  grouped by a string and an integer column: one
                       keys_NAME variable per part on the key dimension,
                       set_index gives pandas' MultiIndex
  readers/tiles        a field reduced in tiles whose axes are h5py
                       dimension scales with attributes
  readers/plugin       the exceed plugin's per-cell results
Where a case has maps, histograms, quantiles or group-by results,
jobs/examples/plot.py must draw them (the PNG files it names).

A case skips, saying why, when xarray, h5netcdf or ncdump is missing
(`make deps` installs them).  Cheap: six runs alone and one on 3 ranks.
"""

import subprocess
from pathlib import Path

import h5py
import numpy as np

from harness import Failure, Skip, expect, expect_ok, rank_label, slug
from verify import check_identical, is_scale

REPO = Path(__file__).resolve().parents[2]
ENGINES = ("netcdf4", "h5netcdf")
RTOL = 1e-12


def need_readers():
    try:
        import xarray  # noqa: F401
        import h5netcdf  # noqa: F401
    except ImportError as exc:
        raise Skip(f"{exc.name} is not installed (make deps)")
    if subprocess.run(["sh", "-c", "command -v ncdump"], capture_output=True).returncode:
        raise Skip("ncdump is not installed (netcdf-bin; make deps)")


def result_groups(path):
    """Every group of the file that holds a dataset of its own."""
    found = []
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Group) and any(
                    isinstance(v, h5py.Dataset) for v in obj.values()):
                found.append(name)
        f.visititems(visit)
    return found


def open_group(path, group, engine):
    import xarray as xr
    try:
        return xr.open_dataset(path, group=group, engine=engine).load()
    except Exception as exc:
        raise Failure(f"{engine}: open_dataset(group={group!r}): "
                      f"{type(exc).__name__}: {exc}")


def open_everywhere(path):
    """{(engine, group): Dataset} for every result group, each checked to
    have no phony dimension; ncdump -h must read the file too."""
    out = {}
    for group in result_groups(path):
        for engine in ENGINES:
            ds = open_group(path, group, engine)
            phony = [d for d in ds.dims if str(d).startswith("phony_dim")]
            expect(not phony, f"{engine} {group}: phony dimensions {phony}")
            out[engine, group] = ds
    dump = subprocess.run(["ncdump", "-h", str(path)], capture_output=True, text=True)
    expect(dump.returncode == 0, f"ncdump -h: exit {dump.returncode}: {dump.stderr.strip()}")
    expect("phony_dim" not in dump.stdout, "ncdump -h shows phony dimensions")
    out["ncdump"] = dump.stdout
    return out


def each_engine(opened, group):
    return [(e, opened[e, group]) for e in ENGINES]


def expect_dims(where, da, want):
    expect(tuple(da.dims) == tuple(want), f"{where}: dims {tuple(da.dims)}, expected {tuple(want)}")


def expect_close(where, got, want, rtol=RTOL):
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    expect(got.shape == want.shape, f"{where}: shape {got.shape}, expected {want.shape}")
    ok = np.isclose(got, want, rtol=rtol, atol=0, equal_nan=True)
    expect(ok.all(), f"{where}: {got[~ok][:3]} where numpy has {want[~ok][:3]}")


def expect_attr(where, attrs, name, want):
    got = attrs.get(name)
    expect(got == want, f"{where}: attribute {name} {got!r}, expected {want!r}")


def write_job(case_dir, text):
    (case_dir / "job.ini").write_text(text)


def run_alone(tool, case_dir, ranks=0, out="out.h5"):
    path = case_dir / out
    path.unlink(missing_ok=True)
    run = tool.run(ranks, ["-q", "-o", out, "job.ini"], case_dir,
                   case_dir / ".log" / slug(rank_label(ranks)))
    expect_ok(run)
    return path


# ---------------------------------------------------------------- cases

LAT = np.array([-60.0, -20.0, 20.0, 60.0], dtype=np.float32)
LON = np.arange(6, dtype=np.float32) * 60.0


def write_cf(case_dir):
    import netCDF4
    rng = np.random.default_rng(181)
    with netCDF4.Dataset(case_dir / "tas.nc", "w") as f:
        f.createDimension("time", None)
        f.createDimension("lat", LAT.size)
        f.createDimension("lon", LON.size)
        t = f.createVariable("time", "f8", ("time",))
        t.units, t.calendar = "days since 2000-01-01", "standard"
        t[:] = np.arange(40)
        la = f.createVariable("lat", "f4", ("lat",))
        la.units, la.standard_name, la.axis = "degrees_north", "latitude", "Y"
        la[:] = LAT
        lo = f.createVariable("lon", "f4", ("lon",))
        lo.units, lo.standard_name = "degrees_east", "longitude"
        lo[:] = LON
        v = f.createVariable("tas", "f4", ("time", "lat", "lon"), fill_value=np.float32(1e20))
        v.units, v.long_name = "K", "Near-Surface Air Temperature"
        v.standard_name = "air_temperature"
        data = 280 + rng.normal(0, 5, (40, LAT.size, LON.size))
        data[3, 1, 2] = 1e20                        # one fill value
        v[:] = data.astype(np.float32)
    write_job(case_dir, "[input]\nfiles = tas.nc\ndataset = /tas\npartition_size = 1K\n"
                        "[reduce]\nops = count mean var std min max\n")


def check_cf(case_dir, path):
    import netCDF4
    with netCDF4.Dataset(case_dir / "tas.nc") as f:
        x = np.ma.asarray(f["tas"][:]).astype(np.float64)
        lat_attrs = {k: f["lat"].getncattr(k) for k in f["lat"].ncattrs()}
    opened = open_everywhere(path)
    expect("mean(lat, lon)" in opened["ncdump"], "ncdump -h does not show mean(lat, lon)")
    for engine, ds in each_engine(opened, "tas"):
        w = f"{engine} tas"
        for op in ("count", "mean", "var", "std", "min", "max"):
            expect_dims(f"{w}/{op}", ds[op], ("lat", "lon"))
        expect_close(f"{w}/lat", ds["lat"].values, LAT)
        expect_close(f"{w}/lon", ds["lon"].values, LON)
        for k, v in lat_attrs.items():
            expect_attr(f"{w}/lat", ds["lat"].attrs, k, v)
        expect_close(f"{w}/mean", ds["mean"].values, x.mean(axis=0).filled(np.nan))
        for op, method in (("mean", "mean"), ("min", "minimum"), ("max", "maximum"),
                           ("std", "standard_deviation")):
            expect_attr(f"{w}/{op}", ds[op].attrs, "units", "K")
            expect_attr(f"{w}/{op}", ds[op].attrs, "standard_name", "air_temperature")
            expect_attr(f"{w}/{op}", ds[op].attrs, "long_name", "Near-Surface Air Temperature")
            expect_attr(f"{w}/{op}", ds[op].attrs, "cell_methods", f"time: {method}")
        expect_attr(f"{w}/var", ds["var"].attrs, "units", "K2")
        expect_attr(f"{w}/var", ds["var"].attrs, "cell_methods", "time: variance")
        expect("units" not in ds["count"].attrs, f"{w}/count has units")
    import matplotlib
    matplotlib.use("Agg")
    opened["h5netcdf", "tas"]["mean"].plot()


def write_plain(case_dir):
    rng = np.random.default_rng(182)
    with h5py.File(case_dir / "plain.h5", "w") as f:
        f["sensors/temperature"] = rng.normal(20, 4, (300, 3, 5))
    write_job(case_dir, "[input]\nfiles = plain.h5\ndataset = /sensors/temperature\n"
                        "[reduce]\nops = mean histogram quantiles\nhistogram_bins = 6\n"
                        "histogram_range = 0, 40\nquantiles = 0.1, 0.5, 0.9\n")


def check_plain(case_dir, path):
    with h5py.File(case_dir / "plain.h5", "r") as f:
        x = f["sensors/temperature"][()]
    cells = ("temperature_dim1", "temperature_dim2")
    opened = open_everywhere(path)
    for engine in ENGINES:
        top = opened[engine, "temperature"]
        expect_dims(f"{engine} mean", top["mean"], cells)
        expect_close(f"{engine} mean", top["mean"].values, x.mean(axis=0))
        expect("cell_methods" in top["mean"].attrs and "units" not in top["mean"].attrs,
               f"{engine} mean: attributes {dict(top['mean'].attrs)}: want cell_methods only")
        hist = opened[engine, "temperature/histogram"]
        expect_dims(f"{engine} counts", hist["counts"], cells + ("bin",))
        expect_dims(f"{engine} edges", hist["edges"], ("bin_edge",))
        expect_close(f"{engine} edges", hist["edges"].values, np.linspace(0, 40, 7))
        q = opened[engine, "temperature/quantiles"]
        expect_dims(f"{engine} values", q["values"], cells + ("quantile",))
        expect_close(f"{engine} quantile", q["quantile"].values, [0.1, 0.5, 0.9])


def write_groupby(case_dir):
    rng = np.random.default_rng(183)
    n = 5000
    with h5py.File(case_dir / "gb.h5", "w") as f:
        f["station"] = rng.choice(np.array([-7, 3, 11, 2**40], dtype=np.int64), n)
        v = f.create_dataset("reading", data=rng.normal(10, 2, n))
        v.attrs["units"] = "m s-1"
    write_job(case_dir, "[input]\nfiles = gb.h5\ndataset = /reading\npartition_size = 4K\n"
                        "[reduce]\ngroup_by = /station\nops = count mean var max\n")


def check_groupby(case_dir, path):
    import pandas as pd
    with h5py.File(case_dir / "gb.h5", "r") as f:
        df = pd.DataFrame({"k": f["station"][()], "v": f["reading"][()]})
    g = df.groupby("k")["v"]
    opened = open_everywhere(path)
    for engine, ds in each_engine(opened, "reading/groupby"):
        w = f"{engine} reading/groupby"
        for op in ("keys", "count", "mean", "var", "max"):
            expect_dims(f"{w}/{op}", ds[op], ("key",))
        expect(np.array_equal(ds["key"].values, g.mean().index.values),
               f"{w}: key coordinate {ds['key'].values}, pandas has {g.mean().index.values}")
        expect(np.array_equal(ds["count"].values, g.count().values), f"{w}: counts differ")
        expect_close(f"{w}/mean", ds["mean"].values, g.mean().values)
        expect_close(f"{w}/var", ds["var"].values, g.var(ddof=0).values, rtol=1e-10)
        expect_attr(f"{w}/mean", ds["mean"].attrs, "units", "m s-1")
        expect_attr(f"{w}/var", ds["var"].attrs, "units", "m2 s-2")


def write_table(case_dir):
    rng = np.random.default_rng(184)
    n = 3000
    row = np.dtype([("station", "<i4"), ("temp", "<f4"), ("pressure", "<f8"), ("flag", "S2")])
    a = np.zeros(n, dtype=row)
    a["station"] = rng.integers(0, 7, n)
    a["temp"] = rng.normal(12, 3, n)
    a["pressure"] = rng.normal(1000, 10, n)
    with h5py.File(case_dir / "table.h5", "w") as f:
        f.create_dataset("readings", data=a, chunks=(500,))
    write_job(case_dir, "[input]\nfiles = table.h5\ndataset = /readings\n"
                        "[reduce]\ngroup_by = station\nops = count mean\n")


def check_table(case_dir, path):
    with h5py.File(case_dir / "table.h5", "r") as f:
        a = f["readings"][()]
    keys = np.unique(a["station"]).astype(np.int64)
    opened = open_everywhere(path)
    for field in ("temp", "pressure"):
        for engine, ds in each_engine(opened, f"{field}/groupby"):
            w = f"{engine} {field}/groupby"
            expect_dims(f"{w}/mean", ds["mean"], ("key",))
            expect(np.array_equal(ds["key"].values, keys),
                   f"{w}: key coordinate {ds['key'].values}, numpy has {keys}")
            want = [a[field][a["station"] == k].astype(np.float64).mean() for k in keys]
            expect_close(f"{w}/mean", ds["mean"].values, want)
            expect("units" not in ds["mean"].attrs, f"{w}/mean: a table field has no units")


def write_string_table(case_dir, group_by):
    import pandas as pd
    rng = np.random.default_rng(186)
    n = 4000
    names = np.array(["Zürich", "Bern", "Aarau", "Basel", "Chur"])
    df = pd.DataFrame({"station": names[rng.integers(0, 5, n)], "temp": rng.normal(9, 4, n),
                       "year": rng.integers(2000, 2004, n)})
    df.to_hdf(str(case_dir / "obs.h5"), key="obs", format="table", data_columns=True)
    write_job(case_dir, "[input]\nfiles = obs.h5\ndataset = /obs/table\nfields = temp\n"
                        f"[reduce]\ngroup_by = {group_by}\nops = count mean min max\n")
    return df


def write_string_groupby(case_dir):
    write_string_table(case_dir, "station")


def write_composite_groupby(case_dir):
    write_string_table(case_dir, "station, year")


def check_string_groupby(case_dir, path):
    import pandas as pd
    df = pd.read_hdf(str(case_dir / "obs.h5"), "obs")
    g = df.groupby("station")["temp"]
    opened = open_everywhere(path)
    for engine, ds in each_engine(opened, "temp/groupby"):
        w = f"{engine} temp/groupby"
        for op in ("keys", "count", "mean"):
            expect_dims(f"{w}/{op}", ds[op], ("key",))
        keys = [str(k) for k in ds["key"].values]
        expect(keys == list(g.mean().index), f"{w}: key coordinate {keys}, pandas has "
                                             f"{list(g.mean().index)}")
        expect(np.array_equal(ds["count"].values, g.count().values), f"{w}: counts differ")
        expect_close(f"{w}/mean", ds["mean"].values, g.mean().values)


def check_composite_groupby(case_dir, path):
    import pandas as pd
    df = pd.read_hdf(str(case_dir / "obs.h5"), "obs")
    g = df.groupby(["station", "year"])["temp"]
    opened = open_everywhere(path)
    for engine, ds in each_engine(opened, "temp/groupby"):
        w = f"{engine} temp/groupby"
        for op in ("keys_station", "keys_year", "count", "mean"):
            expect_dims(f"{w}/{op}", ds[op], ("key",))
        got = ds.set_index(key=["keys_station", "keys_year"]).to_dataframe()
        want = list(g.mean().index)
        have = [(str(a), int(b)) for a, b in got.index]
        expect(have == want, f"{w}: keys {have[:4]}..., pandas has {want[:4]}...")
        expect_close(f"{w}/mean", got["mean"].values, g.mean().values)


Y = np.linspace(0.5, 19.5, 20)
X = np.arange(30, dtype=np.int32) * 10


def write_tiles(case_dir):
    rng = np.random.default_rng(185)
    with h5py.File(case_dir / "field.h5", "w") as f:
        v = f.create_dataset("field", data=rng.normal(0, 1, (80, Y.size, X.size))
                             .astype(np.float32), chunks=(8, 5, X.size))
        f["t"] = np.arange(80.0)
        f["y"] = Y
        f["y"].attrs["units"] = "km"
        f["y"].attrs["long_name"] = "northing"
        f["x"] = X
        for k, name in enumerate(("t", "y", "x")):
            f[name].make_scale(name)
            v.dims[k].attach_scale(f[name])
        v.attrs["units"] = "1"
    write_job(case_dir, "[input]\nfiles = field.h5\ndataset = /field\npartition_size = 8K\n"
                        "[reduce]\nops = mean var\n")


def check_tiles(case_dir, path, tool):
    dry = tool.run(0, ["--dry-run", "-o", "out.h5", "job.ini"], case_dir, case_dir / ".log" / "dry")
    expect_ok(dry)
    expect("tiles:" in dry.stdout, "--dry-run shows no tiles: the case does not tile")
    with h5py.File(case_dir / "field.h5", "r") as f:
        x = f["field"][()].astype(np.float64)
    opened = open_everywhere(path)
    for engine, ds in each_engine(opened, "field"):
        w = f"{engine} field"
        expect_dims(f"{w}/mean", ds["mean"], ("y", "x"))
        expect_close(f"{w}/y", ds["y"].values, Y)
        expect(np.array_equal(ds["x"].values, X) and ds["x"].dtype == X.dtype,
               f"{w}/x: {ds['x'].values[:4]} ({ds['x'].dtype}), input {X[:4]} ({X.dtype})")
        expect_attr(f"{w}/y", ds["y"].attrs, "units", "km")
        expect_attr(f"{w}/y", ds["y"].attrs, "long_name", "northing")
        expect_close(f"{w}/mean", ds["mean"].values, x.mean(axis=0), rtol=1e-10)
        expect_attr(f"{w}/mean", ds["mean"].attrs, "cell_methods", "t: mean")
        expect_attr(f"{w}/var", ds["var"].attrs, "units", "1")


def write_plugin(case_dir):
    lib = REPO / "build/plugins/libexceed.so"
    if not lib.is_file():
        made = subprocess.run(["make", "-s", "-C", str(REPO), "build/plugins/libexceed.so"],
                              capture_output=True, text=True)
        if made.returncode:
            raise Failure(f"make build/plugins/libexceed.so: {made.stderr.strip()[:200]}")
    rng = np.random.default_rng(186)
    with h5py.File(case_dir / "demo.h5", "w") as f:
        f["temperature"] = rng.normal(20, 5, (400, 4)).astype(np.float32)
    write_job(case_dir, f"[input]\nfiles = demo.h5\ndataset = /temperature\n"
                        f"[reduce]\nops = count exceed\n"
                        f"[plugin exceed]\nlibrary = {lib}\nthreshold = 25\n")


def check_plugin(case_dir, path):
    with h5py.File(case_dir / "demo.h5", "r") as f:
        x = f["temperature"][()]
    opened = open_everywhere(path)
    for engine, ds in each_engine(opened, "temperature/exceed"):
        w = f"{engine} temperature/exceed"
        expect_dims(f"{w}/count", ds["count"], ("temperature_dim1",))
        expect(np.array_equal(ds["count"].values, (x > 25).sum(axis=0)),
               f"{w}/count {ds['count'].values}, numpy {(x > 25).sum(axis=0)}")


# ---------------------------------------------------------------- runner

def check_plots(case_dir, path, want):
    """jobs/examples/plot.py draws exactly the PNG files want from path."""
    png = case_dir / "png"
    r = subprocess.run(["/usr/bin/python3", str(REPO / "jobs/examples/plot.py"), "-o", str(png),
                        str(path)], capture_output=True, text=True, timeout=120)
    expect(r.returncode == 0, f"plot.py: exit {r.returncode}: {r.stderr.strip()[-300:]}")
    stem = path.stem
    names = sorted(Path(line).name for line in r.stdout.split())
    wanted = sorted(f"{stem}-{w}.png" for w in want)
    expect(names == wanted, f"plot.py wrote {names}, expected {wanted}")
    for name in names:
        expect((png / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{name} is not a PNG")


CASES = [
    # (name, writer, checker, extra launch modes beside running alone,
    #  the PNG files plot.py draws from the result)
    ("readers/cf-field", write_cf, check_cf, (3,), ("tas-mean",)),
    ("readers/plain", write_plain, check_plain, (),
     ("temperature-mean", "temperature-histogram", "temperature-quantiles")),
    ("readers/group-by", write_groupby, check_groupby, (), ("reading-groupby",)),
    ("readers/table", write_table, check_table, (), ()),
    ("readers/group-by-strings", write_string_groupby, check_string_groupby, (),
     ("temp-groupby",)),
    ("readers/group-by-composite", write_composite_groupby, check_composite_groupby, (),
     ("temp-groupby",)),
    ("readers/tiles", write_tiles, check_tiles, (), ("field-mean",)),
    ("readers/plugin", write_plugin, check_plugin, (), ()),
]
NAMES = [c[0] for c in CASES]


def run_case(tool, case, case_dir, ranks_list):
    name, write, check, modes, plots = case
    case_dir.mkdir(parents=True, exist_ok=True)
    write(case_dir)
    kept = {}
    for ranks in [0] + [r for r in modes if r in ranks_list]:
        path = run_alone(tool, case_dir, ranks, f"out.{slug(rank_label(ranks))}.h5")
        kept[rank_label(ranks)] = path
    path = kept[rank_label(0)]
    if check is check_tiles:
        check(case_dir, path, tool)
    else:
        check(case_dir, path)
    with h5py.File(path, "r") as f:
        scales = []
        f.visititems(lambda n, o: scales.append(n)
                     if isinstance(o, h5py.Dataset) and is_scale(o) else None)
        expect(scales, "the results file holds no dimension scale")
    if plots:
        check_plots(case_dir, path, plots)
    if len(kept) > 1:
        check_identical(kept, case_dir)


def run_named_cases(tool, ranks_list, tmp, report, chosen, cases, need, run, modes_at):
    """Every case of cases (tuples whose [0] is the name and [modes_at] the
    rank counts besides running alone) that chosen(name) accepts, skipped
    when need() raises Skip: run(tool, case, case_dir, ranks_list), one
    check each."""
    for case in cases:
        if not chosen(case[0]):
            continue
        try:
            need()
        except Skip as exc:
            report.skip(case[0], exc)
            continue
        label = ", ".join(["direct"] + [rank_label(r) for r in case[modes_at]
                                        if r in ranks_list])
        report.check(f"{case[0]} [{label}]", run, tool, case, tmp / slug(case[0]),
                     ranks_list)


def run_reader_cases(tool, ranks_list, tmp, report, chosen):
    """Every case whose name chosen(name) accepts: one check each."""
    run_named_cases(tool, ranks_list, tmp, report, chosen, CASES, need_readers, run_case, 3)
