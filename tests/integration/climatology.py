"""group_by on a field (climatologies) against xarray + cftime: CF fields
tas(time, lat, lon) grouped by a calendar part of their time coordinate,
or by a key dataset, compared with xarray's
`tas.groupby(KEY).count/mean/var/std("time")` (ddof 0) on the dataset
opened with use_cftime=True, so that every calendar is cftime's.  Results
must be read by xarray with dims (KEY, lat, lon) and the keys as the
coordinate (seasons as 'DJF', 'JJA', 'MAM', 'SON', xarray's order).  Each
case runs alone and on the rank counts listed, byte-identical:

  clim/month-standard-deflate   standard calendar across the 1582 switch
  clim/month-proleptic-contig   proleptic_gregorian, contiguous
  clim/month-noleap-3-files     noleap, the field split over 3 files
  clim/season-all_leap-deflate  all_leap (366_day), time.season
  clim/season-360_day-contig    360_day, time.season, NaN and _FillValue
  clim/dayofyear-noleap         365_day, time.dayofyear
  clim/year-standard-select     time.year with select = time,5,290,3
                                lat,-40.,60.
  clim/key-dataset-coslat       group_by = /month_key (int32), axis =
                                all, weights = coslat: per key the
                                area-weighted mean and std over time and
                                cells, xarray's tas.groupby(month_key)
                                .map(weighted(cos(lat)).mean/std(...))
  clim/month-histogram          noleap, ops with histogram (range pass):
                                per month and cell numpy.histogram's
                                counts over the field's range
  clim/series-1d-int-time       a 1-D series with an int32 360_day time,
                                time.season: one value per season
  clim/season-standard-1582,    the other part of each calendar, so that
  season-proleptic,             every calendar is checked by both
  season-noleap, month-all_leap, time.month and time.season
  month-360_day

Partitions of 8 KiB hold 21 records, fewer than a plan wants, so records
are split in tiles of lat rows, each carrying the keys; clim/month-noleap-
3-files has partitions of 64 KiB (167 records: whole records).  Every
case has several partitions, and keys cross partition boundaries.
"""

import numpy as np

from harness import expect, rank_label
from readers import expect_close, run_named_cases
from verify import check_identical
from weighted import need_xarray, put_tas, run_modes

RTOL = 1e-12
LAT = np.linspace(-75.0, 75.0, 6)
LON = np.arange(8) * 45.0
OPS = ("count", "mean", "var", "std")


def write_tas(path, times, units, calendar, chunked, seed, holes=False, key=None):
    """tas(time, lat, lon) at times (units, calendar), deflate-chunked or
    contiguous; holes: NaN and _FillValue-masked values; key: an int32
    key dataset /month_key along time."""
    import netCDF4
    rng = np.random.default_rng(seed)
    with netCDF4.Dataset(path, "w") as f:
        f.createDimension("time", None if chunked else times.size)
        f.createDimension("lat", LAT.size)
        f.createDimension("lon", LON.size)
        t = f.createVariable("time", "f8", ("time",))
        t.units, t.calendar = units, calendar
        t[:] = times
        la = f.createVariable("lat", "f8", ("lat",))
        la.units = "degrees_north"
        la[:] = LAT
        lo = f.createVariable("lon", "f8", ("lon",))
        lo.units = "degrees_east"
        lo[:] = LON
        put_tas(f, rng, (times.size, LAT.size, LON.size), chunked and 7, holes)
        if key is not None:
            k = f.createVariable("month_key", "i4", ("time",))
            k[:] = key


def one(case_dir, start, n, step, units, calendar, chunked, seed, **kw):
    times = start + step * np.arange(n) + 0.25
    write_tas(case_dir / "tas.nc", times, units, calendar, chunked, seed, **kw)
    return ["tas.nc"]


def case_month_standard(case_dir):
    return one(case_dir, 0.0, 300, 5.0, "days since 1580-01-01", "standard", True, 301), \
        "time.month", None, None


def case_month_proleptic(case_dir):
    return one(case_dir, 0.0, 250, 100.0, "hours since 1999-12-01 06:00:00",
               "proleptic_gregorian", False, 302), "time.month", None, None


def case_month_files(case_dir):
    names = []
    for k, n in enumerate((70, 91, 59)):
        start = 4.0 * sum((70, 91, 59)[:k])
        times = start + 4.0 * np.arange(n)
        write_tas(case_dir / f"tas{k}.nc", times, "days since 2000-01-01", "noleap", False,
                  303 + k)
        names.append(f"tas{k}.nc")
    return names, "time.month", None, None


def case_season_all_leap(case_dir):
    return one(case_dir, 0.0, 240, 6.0, "days since 2001-01-01", "all_leap", True, 304), \
        "time.season", None, None


def case_season_360(case_dir):
    return one(case_dir, 0.0, 260, 4.5, "days since 2000-01-01", "360_day", False, 305,
               holes=True), "time.season", None, None


def case_dayofyear(case_dir):
    return one(case_dir, 0.0, 400, 2.75, "days since 2000-01-01", "365_day", True, 306), \
        "time.dayofyear", None, None


def case_year_select(case_dir):
    return one(case_dir, 0.0, 300, 9.0, "days since 1998-07-01", "standard", True, 307), \
        "time.year", "time,5,290,3 lat,-40.,60.", None


def case_key_coslat(case_dir):
    rng = np.random.default_rng(308)
    key = rng.integers(1, 13, 200).astype(np.int32)
    return one(case_dir, 0.0, 200, 3.0, "days since 2000-01-01", "standard", True, 308,
               key=key), "/month_key", None, "coslat"


def case_histogram(case_dir):
    return one(case_dir, 0.0, 150, 7.0, "days since 2000-01-01", "noleap", True, 309), \
        "time.month", None, "histogram"


def case_series(case_dir):
    import netCDF4
    rng = np.random.default_rng(310)
    with netCDF4.Dataset(case_dir / "x.nc", "w") as f:
        f.createDimension("time", None)
        t = f.createVariable("time", "i4", ("time",))
        t.units, t.calendar = "days since 2000-01-01", "360_day"
        t[:] = np.arange(0, 3000, 3)
        f.createVariable("tas", "f8", ("time",))[:] = rng.normal(size=1000)
    return ["x.nc"], "time.season", None, "series"


def calendar_case(group_by, calendar, since, chunked, seed):
    """The other part of each calendar: every calendar is grouped by both
    time.month and time.season (220 records, 5 days apart)."""
    def write(case_dir):
        return one(case_dir, 0.0, 220, 5.0, since, calendar, chunked, seed), \
            group_by, None, None
    return write


CASES = [
    ("clim/month-standard-deflate", case_month_standard, (1, 2, 4)),
    ("clim/season-standard-1582", calendar_case("time.season", "standard",
                                                "days since 1581-06-01", True, 311), (2,)),
    ("clim/season-proleptic", calendar_case("time.season", "proleptic_gregorian",
                                            "days since 1581-06-01", False, 312), (2,)),
    ("clim/season-noleap", calendar_case("time.season", "noleap",
                                         "days since 2003-03-01", True, 313), (2,)),
    ("clim/month-all_leap", calendar_case("time.month", "all_leap",
                                          "days since 2004-02-01", False, 314), (2,)),
    ("clim/month-360_day", calendar_case("time.month", "360_day",
                                         "days since 2000-01-01", True, 315), (4,)),
    ("clim/month-proleptic-contig", case_month_proleptic, (2,)),
    ("clim/month-noleap-3-files", case_month_files, (1, 2, 4)),
    ("clim/season-all_leap-deflate", case_season_all_leap, (2,)),
    ("clim/season-360_day-contig", case_season_360, (2, 4)),
    ("clim/dayofyear-noleap", case_dayofyear, (2,)),
    ("clim/year-standard-select", case_year_select, (2,)),
    ("clim/key-dataset-coslat", case_key_coslat, (2, 4)),
    ("clim/month-histogram", case_histogram, (2,)),
    ("clim/series-1d-int-time", case_series, (2,)),
]
NAMES = [c[0] for c in CASES]
PARTITION = {"clim/month-noleap-3-files": "64K"}


def open_input(case_dir, names):
    import xarray as xr
    parts = [xr.open_dataset(case_dir / n, use_cftime=True) for n in names]
    ds = xr.concat(parts, dim="time", data_vars="minimal") if len(parts) > 1 else parts[0]
    return ds.load()


def pick(ds, select):
    """xarray's view of an [input] select of this family's forms."""
    if not select:
        return ds
    for spec in select.split():
        dim, lo, hi, *step = spec.split(",")
        if "." in lo:
            ds = ds.sel({dim: slice(float(lo), float(hi))})
        else:
            ds = ds.isel({dim: slice(int(lo), int(hi) + 1, int(step[0]) if step else 1)})
    return ds


def expected_all(ds, group_by):
    """axis = all with coslat: per key, weighted over time and cells."""
    w = np.cos(np.deg2rad(ds.lat))
    g = ds.tas.groupby(ds[group_by[1:]])
    dims = ("time", "lat", "lon")
    return group_by[1:], {
        "count": g.count(dims),
        "weight_sum": g.map(lambda a: (w * a.notnull()).sum(dims)),
        "mean": g.map(lambda a: a.weighted(w).mean(dims)),
        "var": g.map(lambda a: a.weighted(w).var(dims)),
        "std": g.map(lambda a: a.weighted(w).std(dims)),
        "nan_count": g.map(lambda a: a.isnull().sum(dims))}


def expected(ds, group_by):
    """xarray's per-key statistics and the key's name."""
    if group_by.startswith("/"):
        name = group_by[1:]
        g = ds.tas.groupby(ds[name])
    else:
        name = group_by.split(".")[1]
        g = ds.tas.groupby(group_by)
    want = {"count": g.count("time"), "mean": g.mean("time"), "var": g.var("time"),
            "std": g.std("time"), "nan_count": ds.tas.isnull().groupby(
                ds[name] if group_by.startswith("/") else group_by).sum("time")}
    return name, want


def check_histogram(path, ds):
    """Per month and cell, numpy.histogram's 64 bins over the field's
    range (the range pass), against histogram/counts (month, lat, lon, bin)."""
    import h5py
    lo, hi = float(ds.tas.min()), float(ds.tas.max())
    months = ds.time.dt.month.values
    with h5py.File(path, "r") as f:
        got = f["tas/histogram/counts"][...]
    expect(got.shape == (12, LAT.size, LON.size, 64), f"counts shape {got.shape}")
    x = ds.tas.values
    for m in range(12):
        for i in range(LAT.size):
            for j in range(LON.size):
                want, _ = np.histogram(x[months == m + 1, i, j], bins=64, range=(lo, hi))
                expect((got[m, i, j] == want).all(),
                       f"month {m + 1} cell {i},{j}: {got[m, i, j][:8]} vs {want[:8]}")


def check_result(path, ds, group_by, kind):
    """kind: None, "coslat" (axis = all, weighted), "histogram" (counts
    too) or "series" (1-D data)."""
    import xarray as xr
    if kind == "histogram":
        check_histogram(path, ds)
        kind = None
    name, want = expected_all(ds, group_by) if kind == "coslat" \
        else expected(ds, group_by)
    dims = (name,) if kind else (name, "lat", "lon")
    res = xr.open_dataset(path, group="tas", engine="netcdf4")
    try:
        for op, value in want.items():
            got = res[op]
            expect(got.dims == dims, f"{op}: dims {got.dims}, want {dims}")
            expect_close(f"tas/{op}", got.values, value.transpose(*dims).values, rtol=RTOL)
        keys = res[name].values
        expect(list(keys) == list(want["mean"][name].values),
               f"{name}: keys {list(keys)[:6]}, xarray has {list(want['mean'][name].values)[:6]}")
        if not kind:
            expect_close("lat", res["lat"].values, ds.lat.values, rtol=0)
    finally:
        res.close()


def run_case(tool, case, case_dir, ranks_list):
    from readers import write_job
    name, write, modes = case
    case_dir.mkdir(parents=True, exist_ok=True)
    names, group_by, select, kind = write(case_dir)
    ops = OPS + ("histogram",) if kind == "histogram" else OPS
    write_job(case_dir, f"[input]\nfiles = {' '.join(names)}\ndataset = /tas\n"
                        f"partition_size = {PARTITION.get(name, '8K')}\n" +
                        (f"select = {select}\n" if select else "") +
                        f"[reduce]\naxis = {'all' if kind == 'coslat' else 0}\n"
                        f"ops = {' '.join(ops)}\ngroup_by = {group_by}\n" +
                        (f"weights = {kind}\n" if kind == "coslat" else ""))
    ds = pick(open_input(case_dir, names), select)
    kept = run_modes(tool, case_dir, modes, ranks_list)
    check_result(kept[rank_label(0)], ds, group_by, kind)
    if len(kept) > 1:
        check_identical(kept, case_dir)


def run_climatology_cases(tool, ranks_list, tmp, report, chosen):
    """Every case whose name chosen(name) accepts: one check each."""
    run_named_cases(tool, ranks_list, tmp, report, chosen, CASES, need_xarray, run_case, 2)
