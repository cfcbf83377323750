"""[reduce] weights against xarray: a CF field tas(time, lat, lon) reduced
over all its values (axis = all) with weights, compared with xarray's
`tas.weighted(w).sum/mean/var/std()` and `sum_of_weights()` (the
weight_sum h5batch writes) within 1e-12 relative, and count, min and max
with `tas.count/min/max()`.

Each case writes tas with netCDF4 (float64; coordinates time, lat, lon;
lat with standard_name latitude), a weights variable where it needs one,
and runs h5batch alone and on 1, 2, 3 and 4 ranks; the results must be
byte-identical once the run's own attributes are blanked.  --dry-run must
give the weights line with the smallest and largest weight of the selected
cells as numpy has them.  The weights are built on the oracle's side from
the coordinate or the weights variable, with xarray's broadcasting:

  weights/coslat-deflate            deflate-chunked, weights = coslat
  weights/area-contiguous-3-files   contiguous, 3 files, /cell_area(lat, lon)
  weights/lat-nan-fill-deflate      deflate-chunked, /lat_weights(lat), with
                                    NaN values and _FillValue-masked ones
                                    (neither carries weight)
  weights/region-select-area        deflate-chunked, /cell_area under
                                    select = time,3,40 lat,-30.,60.
                                    lon,60.,300.,2 (the weights follow)
  weights/unnamed-broadcast         contiguous, /w written by h5py without
                                    dimension scales, shape (1, lon):
                                    numpy's broadcasting rule

Records are 768 bytes and partitions 8 KiB: every case has several
partitions.  Cheap: about twenty short runs.
"""

import numpy as np

from harness import Skip, expect, rank_label, slug
from readers import expect_close, run_alone, run_named_cases, write_job
from selection import create_coords
from verify import check_identical

LAT = np.linspace(-82.5, 82.5, 8)
LON = np.arange(12) * 30.0
OPS = ("count", "sum", "mean", "var", "std", "min", "max")
RTOL = 1e-12


def need_xarray():
    try:
        import netCDF4  # noqa: F401
        import xarray  # noqa: F401
    except ImportError as exc:
        raise Skip(f"xarray or netCDF4 missing ({exc}); make deps installs them")


def write_tas(path, times, seed, chunked, holes=False):
    """tas(time, lat, lon) at the given times with cell_area(lat, lon) and
    lat_weights(lat); holes: some NaN values and some masked by
    _FillValue."""
    import netCDF4
    rng = np.random.default_rng(seed)
    with netCDF4.Dataset(path, "w") as f:
        create_coords(f, times, chunked, LAT, LON)
        area = f.createVariable("cell_area", "f8", ("lat", "lon"))
        area[:] = np.cos(np.deg2rad(LAT))[:, None] * rng.uniform(0.5, 1.5, LON.size)
        lw = f.createVariable("lat_weights", "f8", ("lat",))
        lw[:] = rng.uniform(0, 2, LAT.size)
        put_tas(f, rng, (times.size, LAT.size, LON.size), chunked and 10, holes)


def put_tas(f, rng, shape, chunk_t, holes):
    """The variable tas(time, lat, lon) of shape in netCDF4 file f: 280 K
    plus normal noise from rng, deflated in chunks of chunk_t records (0:
    contiguous); holes: some NaN values and some masked by _FillValue."""
    extra = dict(zlib=True, chunksizes=(chunk_t,) + tuple(shape[1:])) if chunk_t \
        else dict(contiguous=True)
    v = f.createVariable("tas", "f8", ("time", "lat", "lon"), fill_value=-999.0, **extra)
    v.units = "K"
    x = 280 + rng.normal(0, 5, shape)
    if holes:
        x[rng.random(x.shape) < 0.05] = np.nan
        x = np.ma.masked_array(x, mask=rng.random(x.shape) < 0.05)
    v[:] = x


def write_unnamed(path):
    """/w of shape (1, lon) without dimension scales (h5py)."""
    import h5py
    with h5py.File(path, "a") as f:
        f["w"] = np.linspace(0.25, 3.0, LON.size)[None, :]


def open_input(case_dir, names):
    import xarray as xr
    parts = [xr.open_dataset(case_dir / n, decode_times=False) for n in names]
    ds = xr.concat(parts, dim="time", data_vars="minimal") if len(parts) > 1 else parts[0]
    return ds.load()


def expected(tas, w):
    """xarray's weighted statistics of tas under weights w (a DataArray)."""
    wt = tas.weighted(w)
    return {"count": tas.count(), "weight_sum": wt.sum_of_weights(), "sum": wt.sum(),
            "mean": wt.mean(), "var": wt.var(), "std": wt.std(),
            "min": tas.min(), "max": tas.max()}


def check_result(path, want):
    import h5py
    with h5py.File(path, "r") as f:
        for name, value in want.items():
            expect_close(f"tas/{name}", f[f"tas/{name}"][()], value.values, rtol=RTOL)


def check_dry_run(tool, case_dir, spec, w_cells):
    run = tool.run(0, ["--dry-run", "-o", "dry.h5", "job.ini"], case_dir,
                   case_dir / ".log" / "dry-run")
    expect(run.rc == 0, f"--dry-run exit {run.rc}: {run.stderr.strip()}")
    want = (f"weights: {spec}, {w_cells.size} per record (one per selected cell), "
            f"from {w_cells.min():.17g} to {w_cells.max():.17g}")
    got = [x for x in run.stdout.splitlines() if x.startswith("weights:")]
    expect(got == [want], f"--dry-run weights line {got}, expected {want!r}")


def coslat(sub):
    return np.cos(np.deg2rad(sub.lat))


def case_coslat_deflate(case_dir):
    write_tas(case_dir / "tas.nc", np.arange(60.0), 51, True)
    return ["tas.nc"], "coslat", None, lambda ds: ds, coslat


def case_area_files(case_dir):
    names = []
    for k, n in enumerate((23, 31, 17)):
        start = sum((23, 31, 17)[:k])
        write_tas(case_dir / f"tas{k}.nc", np.arange(start, start + n, dtype=float), 52, False)
        names.append(f"tas{k}.nc")
    return names, "/cell_area", None, lambda ds: ds, lambda sub: sub.cell_area


def case_lat_nan_fill(case_dir):
    write_tas(case_dir / "tas.nc", np.arange(70.0), 53, True, holes=True)
    return ["tas.nc"], "/lat_weights", None, lambda ds: ds, lambda sub: sub.lat_weights


def case_region_select(case_dir):
    write_tas(case_dir / "tas.nc", np.arange(60.0), 54, True)
    return ["tas.nc"], "/cell_area", "time,3,40 lat,-30.,60. lon,60.,300.,2", \
        lambda ds: ds.isel(time=slice(3, 41)).sel(lat=slice(-30.0, 60.0),
                                                  lon=slice(60.0, 300.0)) \
        .isel(lon=slice(None, None, 2)), \
        lambda sub: sub.cell_area


def case_unnamed(case_dir):
    import xarray as xr
    write_tas(case_dir / "tas.nc", np.arange(50.0), 55, False)
    write_unnamed(case_dir / "tas.nc")
    w = np.linspace(0.25, 3.0, LON.size)
    return ["tas.nc"], "/w", None, lambda ds: ds, \
        lambda sub: xr.DataArray(w, dims=("lon",), coords={"lon": sub.lon})


# name, writer, extra modes (ranks) besides running alone
CASES = [
    ("weights/coslat-deflate", case_coslat_deflate, (1, 2, 3, 4)),
    ("weights/area-contiguous-3-files", case_area_files, (1, 2, 3, 4)),
    ("weights/lat-nan-fill-deflate", case_lat_nan_fill, (1, 2, 3, 4)),
    ("weights/region-select-area", case_region_select, (1, 2, 3, 4)),
    ("weights/unnamed-broadcast", case_unnamed, (2, 3)),
]
NAMES = [c[0] for c in CASES]


def prepare(case_dir, write, axis, ops):
    """Write a case's files (write) and its job reducing over `axis`; the
    input files, the weights spec (or None), xarray's selection of the
    input and the oracle's weights of it (a function, or None)."""
    case_dir.mkdir(parents=True, exist_ok=True)
    names, spec, select, pick, weights_of = write(case_dir)
    write_job(case_dir, f"[input]\nfiles = {' '.join(names)}\ndataset = /tas\n"
                        f"partition_size = 8K\n" + (f"select = {select}\n" if select else "") +
                        f"[reduce]\naxis = {axis}\nops = {' '.join(ops)}\n" +
                        (f"weights = {spec}\n" if spec else ""))
    return names, spec, pick(open_input(case_dir, names)), weights_of


def run_modes(tool, case_dir, modes, ranks_list):
    """Run the job alone and in each of modes that ranks_list has; the
    result files by rank label."""
    kept = {}
    for ranks in [0] + [r for r in modes if r in ranks_list]:
        kept[rank_label(ranks)] = run_alone(tool, case_dir, ranks,
                                            f"out.{slug(rank_label(ranks))}.h5")
    return kept


def run_case(tool, case, case_dir, ranks_list):
    name, write, modes = case
    names, spec, sub, weights_of = prepare(case_dir, write, "all", OPS)
    w = weights_of(sub)
    w_cells = np.broadcast_to(w.broadcast_like(sub.tas.isel(time=0)).transpose("lat", "lon")
                              .values, (sub.lat.size, sub.lon.size))
    check_dry_run(tool, case_dir, spec, w_cells)
    kept = run_modes(tool, case_dir, modes, ranks_list)
    check_result(kept[rank_label(0)], expected(sub.tas, w))
    if len(kept) > 1:
        check_identical(kept, case_dir)


def run_weighted_cases(tool, ranks_list, tmp, report, chosen):
    """Every case whose name chosen(name) accepts: one check each."""
    run_named_cases(tool, ranks_list, tmp, report, chosen, CASES, need_xarray, run_case, 2)
