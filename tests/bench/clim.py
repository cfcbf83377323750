#!/usr/bin/python3
"""clim.py -- `make bench-clim`: a monthly climatology against cdo ymonmean
and xarray, whole processes, results checked.

A CF field tas(time, lat, lon), float64, daily on a 1-degree grid (180 x
360), standard calendar, chunked 10 records a chunk without compression,
written once into data/bench/ with netCDF4 (--gib sets its size; 2 GiB
is about 4100 days).  Timed, each as the whole process a user runs:

  h5batch      -n 1 without mpirun, and mpirun -n 2: group_by =
               time.month, ops = mean
  cdo          cdo -s ymonmean in.nc out.nc
  xarray       python3: open_dataset, tas.groupby("time.month").mean("time"),
               to_netcdf (a process of its own)

h5batch's means are checked against xarray's (1e-12 relative) and cdo's
(cdo writes what it computes in float64; 1e-12 too).  Medians of --reps
rounds (default 3), the order of the tools rotated each round.

Not a CI test: the file is written once (a minute for 2 GiB), then every
tool reads it --reps times.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
NY, NX = 180, 360

XARRAY = """
import sys, xarray as xr
ds = xr.open_dataset(sys.argv[1])
ds.tas.groupby("time.month").mean("time").to_netcdf(sys.argv[2])
"""


def write_field(path, gib):
    """data/bench/clim-<gib>.nc, unless there already."""
    import netCDF4
    if path.exists():
        return
    nt = int(gib * 2**30 / (NY * NX * 8))
    rng = np.random.default_rng(11)
    tmp = path.with_suffix(".tmp")
    lat = np.linspace(-89.5, 89.5, NY)
    with netCDF4.Dataset(tmp, "w") as f:
        f.createDimension("time", nt)
        f.createDimension("lat", NY)
        f.createDimension("lon", NX)
        t = f.createVariable("time", "f8", ("time",))
        t.units, t.calendar = "days since 2000-01-01", "standard"
        t[:] = np.arange(nt) + 0.5
        f.createVariable("lat", "f8", ("lat",))[:] = lat
        f.createVariable("lon", "f8", ("lon",))[:] = np.linspace(0.5, 359.5, NX)
        v = f.createVariable("tas", "f8", ("time", "lat", "lon"), chunksizes=(10, NY, NX))
        v.units = "K"
        for s in range(0, nt, 100):
            k = min(100, nt - s)
            v[s:s + k] = 288 - 30 * np.abs(lat)[None, :, None] / 90 + \
                rng.normal(0, 3, (k, NY, NX))
    tmp.rename(path)


def timed(argv, cwd):
    t0 = time.perf_counter()
    r = subprocess.run(argv, cwd=cwd, env=ENV, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"{argv[0]} failed ({r.returncode}): {r.stderr[-500:]}")
    return dt


def check(work):
    import xarray as xr
    got = xr.open_dataset(work / "h5batch.h5", group="tas")["mean"].values
    for peer in ("xarray.nc", "cdo.nc"):
        want = xr.open_dataset(work / peer, decode_times=False)["tas"].values
        rel = np.nanmax(np.abs(got - want) / np.abs(want))
        print(f"# {peer}: largest relative difference from h5batch {rel:.2e}")
        if not rel <= 1e-12:
            sys.exit(f"{peer} differs from h5batch by {rel:.2e}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bin", required=True)
    p.add_argument("--gib", type=float, default=2.0)
    p.add_argument("--reps", type=int, default=3)
    args = p.parse_args()
    data = REPO / "data" / "bench"
    data.mkdir(parents=True, exist_ok=True)
    field = data / f"clim-{args.gib:g}.nc"
    write_field(field, args.gib)
    work = data / "clim-work"
    work.mkdir(exist_ok=True)
    (work / "job.ini").write_text(f"[input]\nfiles = {field}\ndataset = /tas\n"
                                  "[reduce]\nops = mean\ngroup_by = time.month\n"
                                  "[output]\nfile = h5batch.h5\n")
    (work / "xr.py").write_text(XARRAY)
    h5b = os.path.abspath(args.bin)
    tools = {
        "h5batch -n 1": [h5b, "-q", "job.ini"],
        "h5batch mpirun -n 2": ["mpirun", "-n", "2", h5b, "-q", "job.ini"],
        "cdo ymonmean": ["cdo", "-s", "-O", "ymonmean", str(field), "cdo.nc"],
        "xarray groupby": ["/usr/bin/python3", "xr.py", str(field), "xarray.nc"],
    }
    times = {name: [] for name in tools}
    names = list(tools)
    for rep in range(args.reps):
        for name in names[rep % len(names):] + names[:rep % len(names)]:
            times[name].append(timed(tools[name], work))
    check(work)
    size = field.stat().st_size / 2**30
    print(f"# {field.name}: {size:.2f} GiB, medians of {args.reps}")
    base = statistics.median(times["h5batch -n 1"])
    for name, ts in times.items():
        m = statistics.median(ts)
        print(f"{name:22s} {m:7.2f} s  {size / m:5.2f} GiB/s  {m / base:5.2f}x h5batch -n 1  "
              f"(runs: {', '.join(f'{t:.2f}' for t in ts)})")


if __name__ == "__main__":
    main()
