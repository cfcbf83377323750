"""[input] select against xarray: a CF field tas(time, lat, lon) reduced
over a selection of its records and of its cells.

Each case writes tas with netCDF4 (float64, coordinates time, lat, lon),
runs h5batch with a selection -- by indices or by coordinate values, with
and without a stride -- and compares count, mean, var, std, min and max
per cell with xarray's `ds.isel(...)` / `ds.sel(...)` then
`.mean("time")`, `.var("time")`, ... (ddof 0 on both sides) within 1e-12
relative.  The result's dimensions must be (lat, lon) with the selected
coordinate values, and no `time` axis may appear in it (a reduced axis
has no coordinate to copy).  The
runs of every mode (alone, and on 3 ranks through the shared window with
worker reads and worker decoding where they apply; one case also on 2
ranks) must be byte-identical once the run's own attributes are blanked.
--dry-run must show the selection in indices and coordinate values as
computed here with numpy (one line per selected dimension), and a
strided or inner selection must say that worker decoding is off:

  select/index-stride-deflate     deflate-chunked, time,3,397,3
  select/coord-contiguous         contiguous, time,36.5,371.   (worker
                                  reads with a selection off chunk rows)
  select/index-3-files-deflate    split over 3 files, time,37,1099
                                  (partitions on chunk rows of each file)
  select/coord-stride-3-files     contiguous, 3 files, time,250.,900.,4
  select/region-stride-deflate    deflate-chunked, time,5,390,2
                                  lat,-20.,60. lon,60.,300.,2
  select/region-lat-down-tiles    decreasing lat, 3 files, contiguous,
                                  lat,-30.,30. lon,1,4; 1 KiB partitions
                                  so records are split in tiles along lat

Records are 192 bytes and partitions 16 KiB, so most cases have many
partitions of whole records.  Cheap: about twenty short runs.
"""

import numpy as np

from harness import Skip, expect, rank_label, slug
from readers import expect_close, run_alone, run_named_cases, write_job
from verify import check_identical

LAT = np.array([-60.0, -20.0, 20.0, 60.0])
LON = np.arange(6) * 60.0
OPS = ("count", "mean", "var", "std", "min", "max")


def need_xarray():
    try:
        import netCDF4  # noqa: F401
        import xarray  # noqa: F401
    except ImportError as exc:
        raise Skip(f"xarray or netCDF4 missing ({exc}); make deps installs them")


def create_coords(f, times, chunked, lat, lon):
    """Dimensions time (unlimited when chunked), lat and lon of the open
    netCDF4 file f, with CF coordinate variables holding times, lat, lon."""
    f.createDimension("time", None if chunked else times.size)
    f.createDimension("lat", lat.size)
    f.createDimension("lon", lon.size)
    t = f.createVariable("time", "f8", ("time",))
    t.units, t.calendar = "days since 2000-01-01", "standard"
    t[:] = times
    la = f.createVariable("lat", "f8", ("lat",))
    la.units, la.standard_name = "degrees_north", "latitude"
    la[:] = lat
    lo = f.createVariable("lon", "f8", ("lon",))
    lo.units, lo.standard_name = "degrees_east", "longitude"
    lo[:] = lon


def write_tas(path, times, seed, chunked, lat=LAT):
    """tas(time, lat, lon) at the given time values, deflate-chunked (10
    records a chunk) or contiguous."""
    import netCDF4
    rng = np.random.default_rng(seed)
    with netCDF4.Dataset(path, "w") as f:
        create_coords(f, times, chunked, lat, LON)
        extra = dict(zlib=True, chunksizes=(10, LAT.size, LON.size)) if chunked \
            else dict(contiguous=True)
        v = f.createVariable("tas", "f8", ("time", "lat", "lon"), **extra)
        v.units = "K"
        v[:] = 280 + rng.normal(0, 5, (times.size, LAT.size, LON.size))


def open_input(case_dir, names):
    """The input files as one xarray dataset, concatenated along time."""
    import xarray as xr
    parts = [xr.open_dataset(case_dir / n, decode_times=False) for n in names]
    ds = xr.concat(parts, dim="time") if len(parts) > 1 else parts[0]
    return ds.load()


def expected(sub):
    tas = sub.tas
    return {"count": tas.count("time"), "mean": tas.mean("time"),
            "var": tas.var("time"), "std": tas.std("time"),
            "min": tas.min("time"), "max": tas.max("time")}


def check_result(case_dir, path, sub):
    """h5batch's results in path against xarray's on sub."""
    import h5py
    import xarray as xr
    want = expected(sub)
    with h5py.File(path, "r") as f:
        for op in OPS:
            expect_close(f"tas/{op}", f[f"tas/{op}"][...], want[op].values)
    res = xr.open_dataset(path, group="tas", engine="netcdf4", decode_times=False)
    for op in OPS:
        expect(res[op].dims == ("lat", "lon"), f"{op}: dims {res[op].dims}, want (lat, lon)")
    expect("time" not in res.dims and "time" not in res.variables,
           f"the result has a time axis or variable: {list(res.variables)}")
    expect_close("lat", res["lat"].values, sub.lat.values, rtol=0)
    expect_close("lon", res["lon"].values, sub.lon.values, rtol=0)
    res.close()


def check_dry_run(tool, case_dir, lines, why_off):
    run = tool.run(0, ["--dry-run", "-o", "dry.h5", "job.ini"], case_dir,
                   case_dir / ".log" / "dry-run")
    expect(run.rc == 0, f"--dry-run exit {run.rc}: {run.stderr.strip()}")
    got = [x for x in run.stdout.splitlines() if x.startswith("select:")]
    expect(got == lines, f"--dry-run selection lines {got}, expected {lines}")
    if why_off:
        expect(f"decode: on rank 0 ({why_off} is read through HDF5 on rank 0)"
               in run.stdout or "decode: on rank 0 (not a deflate" in run.stdout,
               f"--dry-run does not say decoding stays on rank 0 for {why_off}")


def dry_lines(ds, sub, dims):
    """The --dry-run lines of the selected dims, from numpy: which indices
    of ds the values of sub are at, and those values."""
    lines = []
    for k, dim in enumerate(("time", "lat", "lon")):
        if dim not in dims:
            continue
        full = ds[dim].values
        idx = np.flatnonzero(np.isin(full, sub[dim].values))
        expect(idx.size == sub[dim].size and idx.size > 0, f"the oracle's {dim} selection is off")
        stride = int(idx[1] - idx[0]) if idx.size > 1 else 1
        step = f" step {stride}" if stride > 1 else ""
        lines.append(f"select: {dim} (dim {k}): indices {idx[0]}..{idx[-1]}{step}, "
                     f"{idx.size} of {full.size}; coordinate values "
                     f"{full[idx[0]]:.17g}..{full[idx[-1]]:.17g}")
    return lines


def why_off(spec):
    """What --dry-run gives as the reason decoding stays on rank 0."""
    dims = [part.split(",") for part in spec.split()]
    if any(d[0] != "time" for d in dims):
        return "a selection along dims >= 1"
    return "a strided selection" if any(len(d) == 4 and d[3] != "1" for d in dims) else None


def case_index_stride_deflate(case_dir):
    write_tas(case_dir / "tas.nc", np.arange(400.0), 11, True)
    return ["tas.nc"], "time,3,397,3", lambda ds: ds.isel(time=slice(3, 398, 3))


def case_coord_contiguous(case_dir):
    write_tas(case_dir / "tas.nc", np.arange(400.0) + 0.5, 12, False)
    return ["tas.nc"], "time,36.5,371.", lambda ds: ds.sel(time=slice(36.5, 371.0))


def case_index_files_deflate(case_dir):
    names = []
    for k, n in enumerate((380, 410, 360)):
        start = sum((380, 410, 360)[:k])
        write_tas(case_dir / f"tas{k}.nc", np.arange(start, start + n, dtype=float), 20 + k, True)
        names.append(f"tas{k}.nc")
    return names, "time,37,1099", lambda ds: ds.isel(time=slice(37, 1100))


def case_coord_stride_files(case_dir):
    names = []
    for k in range(3):
        write_tas(case_dir / f"tas{k}.nc", np.arange(k * 400, k * 400 + 400) * 1.0, 30 + k, False)
        names.append(f"tas{k}.nc")
    return names, "time,250.,900.,4", \
        lambda ds: ds.sel(time=slice(250.0, 900.0)).isel(time=slice(None, None, 4))


def case_region_stride_deflate(case_dir):
    write_tas(case_dir / "tas.nc", np.arange(400.0), 13, True)
    return ["tas.nc"], "time,5,390,2 lat,-20.,60. lon,60.,300.,2", \
        lambda ds: ds.isel(time=slice(5, 391, 2)).sel(lat=slice(-20.0, 60.0),
                                                       lon=slice(60.0, 300.0)) \
        .isel(lon=slice(None, None, 2))


def case_region_lat_down_tiles(case_dir):
    names = []
    for k in range(3):
        write_tas(case_dir / f"tas{k}.nc", np.arange(k * 100, k * 100 + 100) * 1.0, 40 + k,
                  False, lat=LAT[::-1].copy())
        names.append(f"tas{k}.nc")
    return names, "lat,-30.,30. lon,1,4", \
        lambda ds: ds.sel(lat=slice(30.0, -30.0)).isel(lon=slice(1, 5)), "1K"


# name, writer, extra modes (ranks) besides running alone
CASES = [
    ("select/index-stride-deflate", case_index_stride_deflate, (3, 2)),
    ("select/coord-contiguous", case_coord_contiguous, (3,)),
    ("select/index-3-files-deflate", case_index_files_deflate, (3,)),
    ("select/coord-stride-3-files", case_coord_stride_files, (3,)),
    ("select/region-stride-deflate", case_region_stride_deflate, (3,)),
    ("select/region-lat-down-tiles", case_region_lat_down_tiles, (3,)),
]
NAMES = [c[0] for c in CASES]


def run_case(tool, case, case_dir, ranks_list):
    name, write, modes = case
    case_dir.mkdir(parents=True, exist_ok=True)
    names, spec, pick, *partition = write(case_dir)
    write_job(case_dir, f"[input]\nfiles = {' '.join(names)}\ndataset = /tas\n"
                        f"partition_size = {(partition or ['16K'])[0]}\nselect = {spec}\n"
                        f"[reduce]\nops = {' '.join(OPS)}\n")
    ds = open_input(case_dir, names)
    sub = pick(ds)
    dims = [part.split(",")[0] for part in spec.split()]
    check_dry_run(tool, case_dir, dry_lines(ds, sub, dims), why_off(spec))
    kept = {}
    for ranks in [0] + [r for r in modes if r in ranks_list]:
        kept[rank_label(ranks)] = run_alone(tool, case_dir, ranks,
                                            f"out.{slug(rank_label(ranks))}.h5")
    check_result(case_dir, kept[rank_label(0)], sub)
    if len(kept) > 1:
        check_identical(kept, case_dir)


def run_selection_cases(tool, ranks_list, tmp, report, chosen):
    """Every case whose name chosen(name) accepts: one check each."""
    run_named_cases(tool, ranks_list, tmp, report, chosen, CASES, need_xarray, run_case, 2)
