#!/usr/bin/python3
"""Write the example inputs of jobs/examples/*.ini into data/examples/.

Run by `make examples` (Debian's /usr/bin/python3 with h5py and numpy).
The large synthetic arrays come from build/h5batch-gen; this script writes
what the generator does not: a compound table like PyTables/pandas write,
and a netCDF-style packed variable with CF attributes.
"""
import sys
from pathlib import Path

import h5py
import numpy as np

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "data/examples")


def table(path, n=2_000_000):
    """A sensor table: station id, time, two readings, a text flag."""
    rng = np.random.default_rng(11)
    row = np.dtype([("station", "<i4"), ("time", "<i8"), ("temp", "<f4"),
                    ("pressure", "<f8"), ("flag", "S4")])
    a = np.zeros(n, dtype=row)
    a["station"] = rng.integers(0, 5000, n)
    a["time"] = np.arange(n) * 60
    a["temp"] = rng.normal(12, 8, n).astype("f4")
    a["temp"][rng.random(n) < 0.002] = np.nan
    a["pressure"] = rng.normal(1013, 12, n)
    a["flag"] = b"ok"
    with h5py.File(path, "w") as f:
        f.create_dataset("readings", data=a, chunks=(65536,),
                         compression="gzip", compression_opts=1, shuffle=True)


def climate(path, nt=365, ny=180, nx=360):
    """Daily near-surface temperature packed as int16, with CF attributes
    and time/lat/lon coordinates."""
    rng = np.random.default_rng(12)
    lat = np.linspace(-89.5, 89.5, ny)[:, None]
    with h5py.File(path, "w") as f:
        v = f.create_dataset("tas", shape=(nt, ny, nx), dtype="<i2",
                             chunks=(30, ny, nx), compression="gzip",
                             compression_opts=1, shuffle=True)
        v.attrs["scale_factor"] = np.float32(0.01)
        v.attrs["add_offset"] = np.float32(273.15)
        v.attrs["_FillValue"] = np.int16(-32767)
        v.attrs["valid_range"] = np.array([-15000, 10000], dtype="<i2")
        v.attrs["units"] = "K"
        v.attrs["long_name"] = "Near-Surface Air Temperature"
        v.attrs["standard_name"] = "air_temperature"
        # Coordinates as netCDF-4 writes them (dimension scales), so the
        # results keep lat/lon and plot as a map.
        coords = {"time": (np.arange(nt, dtype="f8"), {"units": "days since 2001-01-01"}),
                  "lat": (lat[:, 0], {"units": "degrees_north", "standard_name": "latitude"}),
                  "lon": (np.linspace(0.5, 359.5, nx), {"units": "degrees_east",
                                                        "standard_name": "longitude"})}
        for k, (name, (values, attrs)) in enumerate(coords.items()):
            c = f.create_dataset(name, data=values)
            c.attrs.update(attrs)
            c.make_scale(name)
            v.dims[k].attach_scale(c)
        for t in range(0, nt, 30):
            k = min(30, nt - t)
            kelvin = 288 - 30 * np.abs(lat) / 90 + rng.normal(0, 3, (k, ny, nx))
            packed = np.round((kelvin - 273.15) / 0.01).astype("<i2")
            packed[rng.random(packed.shape) < 0.01] = -32767
            v[t:t + k] = packed


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    table(OUT / "stations.h5")
    climate(OUT / "climate.h5")
