"""[reduce] axis = records against xarray: a CF field tas(time, lat, lon)
reduced over the cells of each record, one value per selected time step,
compared with xarray's `tas.count/sum/mean/var/std/min/max(("lat", "lon"))`
(ddof 0) and, with weights, `tas.weighted(w).sum/mean/var/std(("lat",
"lon"))` and `sum_of_weights(("lat", "lon"))`, within 1e-12 relative.

The fields are weighted.py's (netCDF4, float64, coordinates time, lat,
lon).  The results must lie along the `time` dimension, with the selected
time values as its coordinate (gathered from every file when there are
several) and the input's units.
--dry-run must give the cells and records as xarray counts them.  Each
case runs alone and on 1, 2, 3 and 4 ranks, byte-identical:

  records/stride-deflate         deflate-chunked, select = time,3,57,2
  records/coslat-region-deflate  deflate-chunked, weights = coslat,
                                 select = lat,-60.,30. lon,30.,300.
  records/area-3-files           contiguous, 3 files, weights = /cell_area
  records/stride-3-files         contiguous, 3 files, select =
                                 time,20.,60.,3 (across the files)
  records/nan-fill-deflate       NaN and _FillValue-masked values, no
                                 weights

Partitions of 8 KiB hold 10 records: every case has several.
"""

import numpy as np

from harness import expect, rank_label
from readers import expect_close, run_named_cases
from verify import check_identical
from weighted import case_area_files, need_xarray, prepare, run_modes, write_tas

RTOL = 1e-12
OPS = ("count", "sum", "mean", "var", "std", "min", "max")
CELLS = ("lat", "lon")


def expected(tas, w):
    """xarray's statistics per time step; nan_count counts NaN and masked
    values alike (h5batch has no per-record missing_count)."""
    nans = tas.isnull().sum(CELLS)
    if w is None:
        return {"count": tas.count(CELLS), "nan_count": nans, "sum": tas.sum(CELLS),
                "mean": tas.mean(CELLS),
                "var": tas.var(CELLS), "std": tas.std(CELLS), "min": tas.min(CELLS),
                "max": tas.max(CELLS)}
    wt = tas.weighted(w)
    return {"count": tas.count(CELLS), "nan_count": nans,
            "weight_sum": wt.sum_of_weights(CELLS),
            "sum": wt.sum(CELLS), "mean": wt.mean(CELLS), "var": wt.var(CELLS),
            "std": wt.std(CELLS), "min": tas.min(CELLS), "max": tas.max(CELLS)}


def check_result(path, sub, want):
    import h5py
    import xarray as xr
    with h5py.File(path, "r") as f:
        for name, value in want.items():
            expect_close(f"tas/{name}", f[f"tas/{name}"][...], value.values, rtol=RTOL)
    res = xr.open_dataset(path, group="tas", engine="netcdf4", decode_times=False)
    for name in want:
        expect(res[name].dims == ("time",), f"{name}: dims {res[name].dims}, want (time,)")
    expect("missing_count" not in res.variables, "a per-cell missing_count with axis = records")
    expect_close("time", res["time"].values, sub.time.values, rtol=0)
    units = res["time"].attrs.get("units")
    expect(units == "days since 2000-01-01", f"time units {units!r}")
    res.close()


def case_stride(case_dir):
    write_tas(case_dir / "tas.nc", np.arange(60.0), 61, True)
    return ["tas.nc"], None, "time,3,57,2", lambda ds: ds.isel(time=slice(3, 58, 2)), None


def case_coslat_region(case_dir):
    write_tas(case_dir / "tas.nc", np.arange(50.0), 62, True)
    return ["tas.nc"], "coslat", "lat,-60.,30. lon,30.,300.", \
        lambda ds: ds.sel(lat=slice(-60.0, 30.0), lon=slice(30.0, 300.0)), \
        lambda sub: np.cos(np.deg2rad(sub.lat))


def case_stride_files(case_dir):
    names, *_ = case_area_files(case_dir)
    return names, None, "time,20.,60.,3", \
        lambda ds: ds.sel(time=slice(20.0, 60.0)).isel(time=slice(None, None, 3)), None


def case_nan_fill(case_dir):
    write_tas(case_dir / "tas.nc", np.arange(70.0), 64, True, holes=True)
    return ["tas.nc"], None, None, lambda ds: ds, None


CASES = [
    ("records/stride-deflate", case_stride, (1, 2, 3, 4)),
    ("records/coslat-region-deflate", case_coslat_region, (1, 2, 3, 4)),
    ("records/area-3-files", case_area_files, (1, 2, 3, 4)),
    ("records/stride-3-files", case_stride_files, (2, 3)),
    ("records/nan-fill-deflate", case_nan_fill, (2, 3)),
]
NAMES = [c[0] for c in CASES]


def run_case(tool, case, case_dir, ranks_list):
    name, write, modes = case
    names, spec, sub, weights_of = prepare(case_dir, write, "records", OPS)
    dry = tool.run(0, ["--dry-run", "-o", "dry.h5", "job.ini"], case_dir,
                   case_dir / ".log" / "dry-run")
    want = (f"axis records, one value per record over its {sub.lat.size * sub.lon.size} "
            f"cells ({sub.time.size} records)")
    expect(dry.rc == 0 and want in dry.stdout, f"--dry-run lacks {want!r}: {dry.stdout[-300:]}")
    kept = run_modes(tool, case_dir, modes, ranks_list)
    w = weights_of(sub) if weights_of else None
    check_result(kept[rank_label(0)], sub, expected(sub.tas, w))
    if len(kept) > 1:
        check_identical(kept, case_dir)


def run_records_cases(tool, ranks_list, tmp, report, chosen):
    """Every case whose name chosen(name) accepts: one check each."""
    run_named_cases(tool, ranks_list, tmp, report, chosen, CASES, need_xarray, run_case, 2)
