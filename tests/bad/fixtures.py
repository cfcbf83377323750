"""HDF5 and other files that the bad-input cases point at (via @TMP@).

Built with h5py at run time so the repository holds no binary fixtures.
"""

import h5py
import numpy as np

from data import corrupt_chunks, normal


def build_fixtures(tmp):
    """Create every fixture under tmp (a fresh directory)."""
    good = normal("f8", (100, 3, 4), 1)
    with h5py.File(tmp / "good.h5", "w") as f:
        f.create_dataset("group/values", data=good, chunks=(16, 3, 4))
    (tmp / "not-hdf5.h5").write_text("this is a text file, not HDF5\n" * 20)
    (tmp / "truncated.h5").write_bytes((tmp / "good.h5").read_bytes()[:1000])
    build_types(tmp / "types.h5")
    build_key_classes(tmp / "keyclasses.h5")
    build_pair(tmp / "mismatch-type", good[:10], good[:10].astype("i4"))
    build_pair(tmp / "mismatch-dims", good[:10], good[:10].reshape(10, 4, 3))
    with h5py.File(tmp / "corrupt.h5", "w") as f:
        f.create_dataset("group/values", data=good, chunks=(16, 3, 4),
                         compression="gzip", shuffle=True)
    corrupt_chunks(tmp / "corrupt.h5", "/group/values")
    (tmp / "jobdir.ini").mkdir()
    (tmp / "out").mkdir()
    build_links(tmp, good)
    build_sparse(tmp / "sparse.h5")
    build_many_keys(tmp / "keys.h5")
    build_cf(tmp / "cf.h5")
    build_weights(tmp / "weights.h5")
    build_clim(tmp)


def build_cf(path):
    """tas(time, lat, lon) with h5py dimension scales: time (0.5 .. 9.5)
    and lat are coordinate variables, lon a scale without one; keys, a
    group_by key per record."""
    with h5py.File(path, "w") as f:
        time = f.create_dataset("time", data=np.arange(10) + 0.5)
        lat = f.create_dataset("lat", data=np.array([-60.0, -20.0, 20.0, 60.0]))
        lon = f.create_dataset("lon", data=np.arange(3.0))
        tas = f.create_dataset("tas", data=normal("f8", (10, 4, 3), 5))
        f.create_dataset("keys", data=np.arange(10) % 3)
        f.create_dataset("fkeys", data=np.arange(10) * 0.5)
        for k, scale in enumerate((time, lat, lon)):
            scale.make_scale(scale.name[1:])
            tas.dims[k].attach_scale(scale)


def build_clim_file(path, times, units, calendar, shape):
    """tas(time, lat, lon) of shape with dimension scales; time carries
    units and calendar (None: left out); month7, a key dataset of 7
    records."""
    with h5py.File(path, "w") as f:
        time = f.create_dataset("time", data=times)
        if units is not None:
            time.attrs["units"] = units
        if calendar is not None:
            time.attrs["calendar"] = calendar
        lat = f.create_dataset("lat", data=np.linspace(-80, 80, shape[1]))
        lon = f.create_dataset("lon", data=np.linspace(0, 350, shape[2]))
        tas = f.create_dataset("tas", data=normal("f8", shape, 9))
        f["month7"] = np.arange(7) % 12 + 1
        for k, scale in enumerate((time, lat, lon)):
            scale.make_scale(scale.name[1:])
            tas.dims[k].attach_scale(scale)


def build_clim(tmp):
    """Climatology inputs: an unknown calendar, units without 'since', a
    NaN time, and a 400x400 field of 40 daily records (40 dayofyear keys
    of 160000 cells)."""
    days = np.arange(10) + 0.5
    build_clim_file(tmp / "clim-calendar.h5", days, "days since 2000-01-01", "mayan",
                    (10, 4, 3))
    build_clim_file(tmp / "clim-units.h5", days, "days", None, (10, 4, 3))
    build_clim_file(tmp / "clim-nan.h5", np.where(days > 6, np.nan, days),
                    "days since 2000-01-01", "noleap", (10, 4, 3))
    build_clim_file(tmp / "clim-big.h5", np.arange(40) + 0.5, "days since 2000-01-01",
                    "360_day", (40, 400, 400))


def build_weights(path):
    """tas(time, lat, lon) with scales as in cf.h5, and weights no run
    may use ([reduce] weights): w5 (5,) fits no cell dimension; wneg
    (lat) has a negative weight, wnan (lat, lon) a NaN; wzero (lat) is 0
    at lat 20 and 60."""
    build_cf(path)
    with h5py.File(path, "a") as f:
        f["w5"] = np.ones(5)
        f["wneg"] = np.array([1.0, 0.5, -0.25, 1.0])
        wnan = np.ones((4, 3))
        wnan[2, 1] = np.nan
        f["wnan"] = wnan
        f["wzero"] = np.array([1.0, 2.0, 0.0, 0.0])


def build_sparse(path):
    """Datasets of real sizes whose chunks were never written, so the file
    is a few KiB: the memory checks look at the plan, not the data.
    /values: 2 GiB of float64 (as the 2 GiB bench file); /grid: 1024
    records of 256 x 256 float32 cells; /table: 2^27 records of an int64
    key k and a float64 value v."""
    row = np.dtype([("k", "i8"), ("v", "f8")])
    with h5py.File(path, "w") as f:
        f.create_dataset("values", shape=(2**28,), dtype="f8", chunks=(2**20,))
        f.create_dataset("grid", shape=(1024, 256, 256), dtype="f4",
                         chunks=(1, 256, 256))
        f.create_dataset("table", shape=(2**27,), dtype=row, chunks=(2**16,))


def build_many_keys(path):
    """/table: 2^20 records of an int64 key k, every one distinct, and a
    float64 value v (16 MiB): more keys than a small memory_limit holds."""
    row = np.dtype([("k", "i8"), ("v", "f8")])
    t = np.zeros(2**20, dtype=row)
    t["k"] = np.random.default_rng(7).permutation(2**20)
    t["v"] = 1.0
    with h5py.File(path, "w") as f:
        f.create_dataset("table", data=t, chunks=(2**14,))


def build_links(tmp, good):
    """Inputs that an output or checkpoint may name by another path:
    victim/in.h5 with a symlink (sym.h5) and a hard link (hard.h5) to it;
    globbed/a.h5 and globbed/stats.h5, as a job writing its results inside
    its input pattern leaves them after its first run.  Also victim/wide.h5:
    4 records of 4096 cells, whose results and checkpoint (over 200 KiB
    each) do not fit on a small file system."""
    victim = tmp / "victim"
    victim.mkdir()
    with h5py.File(victim / "in.h5", "w") as f:
        f.create_dataset("group/values", data=good)
    with h5py.File(victim / "wide.h5", "w") as f:
        f.create_dataset("group/values", data=normal("f8", (4, 4096), 2))
    (victim / "sym.h5").symlink_to("in.h5")
    (victim / "hard.h5").hardlink_to(victim / "in.h5")
    globbed = tmp / "globbed"
    globbed.mkdir()
    for name in ("a.h5", "stats.h5"):
        with h5py.File(globbed / name, "w") as f:
            f.create_dataset("group/values", data=good)


def build_key_classes(path):
    """/mixed: a table whose fields are no group_by keys (an array, a
    variable-length string) beside a float."""
    with h5py.File(path, "w") as f:
        mixed = np.dtype([("x", "f8"), ("vec", "f8", (2,)), ("vs", h5py.string_dtype())])
        rows = np.zeros(5, dtype=mixed)
        rows["vs"] = "x"
        f.create_dataset("mixed", data=rows)


def build_types(path):
    """Datasets of element types that are not numbers h5batch reduces."""
    with h5py.File(path, "w") as f:
        f.create_dataset("strings", data=np.array([b"alpha", b"beta", b"gamma"], dtype="S8"))
        words = np.dtype([("name", "S8"), ("tag", "S4")])
        f.create_dataset("compound", data=np.zeros(5, dtype=words))
        row = np.dtype([("x", "f8"), ("name", "S8"), ("n", "i4")])
        f.create_dataset("table", data=np.zeros(5, dtype=row))
        scaled = f.create_dataset("scaled", data=np.arange(10, dtype="i2"))
        scaled.attrs["scale_factor"] = "0.01"
        f.create_dataset("wide", data=np.zeros((4, 40)))
        f.create_dataset("keys5", data=np.arange(5, dtype="i8"))
        f.create_dataset("keys4", data=np.arange(4, dtype="i8"))
        f.create_dataset("keys4b", data=np.arange(4, dtype="i8") % 2)
        f.create_dataset("fkeys", data=np.arange(5, dtype="f8"))
        f.create_dataset("values5", data=np.ones(5))
        colour = h5py.enum_dtype({"red": 0, "green": 1, "blue": 2}, basetype="i4")
        f.create_dataset("enum", data=np.array([0, 1, 2, 1], dtype="i4"), dtype=colour)
        ragged = f.create_dataset("vlen", shape=(3,), dtype=h5py.vlen_dtype(np.int32))
        for i in range(3):
            ragged[i] = np.arange(i + 1, dtype=np.int32)


def build_pair(directory, first, second):
    """directory/a.h5 and b.h5 holding /group/values."""
    directory.mkdir()
    for name, data in (("a.h5", first), ("b.h5", second)):
        with h5py.File(directory / name, "w") as f:
            f.create_dataset("group/values", data=data)
