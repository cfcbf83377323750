"""Input files for the integration cases, written with h5py and numpy.

An Input says what one HDF5 file holds: the records (already in the byte
order the file should store) and a storage layout.  Value generators make
data that exercises a type: the full integer range with both extremes
planted, floats with an offset, NaNs at a given rate.
"""

from dataclasses import dataclass

import h5py
import numpy as np

# name used in case names -> numpy type code (numpy's 'i8' is int64, so the
# case names spell bits out to avoid confusion with h5batch-gen's i8 = int8)
TYPES = {"int8": "i1", "uint8": "u1", "int16": "i2", "uint16": "u2",
         "int32": "i4", "uint32": "u4", "int64": "i8", "uint64": "u8",
         "float32": "f4", "float64": "f8"}
ORDERS = {"le": "<", "be": ">"}


@dataclass
class Input:
    """One input file: `path` relative to the case dir, records, layout.

    layout: contiguous | chunked | deflate (chunked, deflate 4 + shuffle) |
    compact | sparse (chunked, only the first half written, rest fill value)
    """
    path: str
    data: np.ndarray
    layout: str = "contiguous"
    chunks: tuple = None
    unlimited: bool = False
    dataset: str = "/group/values"
    userblock: int = 0          # bytes before HDF5's superblock (h5py userblock_size)


def write_input(case_dir, inp):
    """Create case_dir/inp.path holding inp.data at inp.dataset."""
    path = case_dir / inp.path
    path.parent.mkdir(parents=True, exist_ok=True)
    ub = {"userblock_size": inp.userblock} if inp.userblock and not path.exists() else {}
    with h5py.File(path, "a", **ub) as f:
        parent, _, name = inp.dataset.strip("/").rpartition("/")
        group = f.require_group(parent) if parent else f
        if inp.layout == "compact":
            write_compact(group, name, inp.data)
        else:
            write_with_h5py(group, name, inp)


def write_with_h5py(group, name, inp):
    data = inp.data
    kwargs = {}
    if inp.layout != "contiguous":
        kwargs["chunks"] = inp.chunks or True
    if inp.layout == "deflate":
        kwargs.update(compression="gzip", compression_opts=4, shuffle=True)
    if inp.unlimited:
        kwargs["maxshape"] = (None,) + data.shape[1:]
    if inp.layout == "sparse":
        ds = group.create_dataset(name, shape=data.shape, dtype=data.dtype,
                                  fillvalue=data.dtype.type(7), **kwargs)
        half = data.shape[0] // 2
        ds[:half] = data[:half]
    else:
        group.create_dataset(name, data=data, **kwargs)


def write_compact(group, name, data):
    """h5py has no compact option, so use the low-level API."""
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_layout(h5py.h5d.COMPACT)
    space = h5py.h5s.create_simple(data.shape)
    tid = h5py.h5t.py_create(data.dtype)
    dsid = h5py.h5d.create(group.id, name.encode(), tid, space, dcpl=dcpl)
    dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, np.ascontiguousarray(data))


def full_range(code, shape, seed, order="<"):
    """Integers over the type's whole range with both extremes planted."""
    dtype = np.dtype(code)
    info = np.iinfo(dtype)
    rng = np.random.default_rng(seed)
    data = rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
    flat = data.reshape(-1)
    if flat.size >= 2:
        picks = rng.choice(flat.size, size=2, replace=False)
        flat[picks[0]], flat[picks[1]] = info.min, info.max
    return data.astype(dtype.newbyteorder(order))


def normal(code, shape, seed, loc=0.0, scale=1.0, order="<"):
    rng = np.random.default_rng(seed)
    data = rng.normal(loc, scale, size=shape)
    return data.astype(np.dtype(code).newbyteorder(order))


def with_nans(data, frac, seed):
    """Copy of float data with about frac of its elements set to NaN."""
    rng = np.random.default_rng(seed)
    out = data.copy()
    out[rng.random(out.shape) < frac] = np.nan
    return out


def typed(code, shape, seed, order="<"):
    """Data that suits a type: full range for ints, offset normal for floats."""
    if np.dtype(code).kind in "iu":
        return full_range(code, shape, seed, order)
    loc, scale = (100.0, 30.0) if code == "f4" else (-5e3, 1e2)
    return normal(code, shape, seed, loc, scale, order)


def beyond_2_53(signed, shape, seed, order="<"):
    """64-bit ints whose per-column min and max are odd and beyond 2**53.

    Such values are not representable in float64, so a min/max that goes
    through double is caught.  Column j: min = 2**53+1+2j, max = 2**62+1+2j
    (negated layout for signed: min = -(2**62)-1-2j).
    """
    rng = np.random.default_rng(seed)
    n, cols = shape[0], int(np.prod(shape[1:], dtype=int))
    lo = [-(2**62) - 1 - 2 * j if signed else 2**53 + 1 + 2 * j for j in range(cols)]
    hi = [2**62 + 1 + 2 * j for j in range(cols)]
    span = np.array([h - l for h, l in zip(hi, lo)], dtype=np.uint64)
    offset = rng.integers(0, 2**64 - 1, size=(n, cols), dtype=np.uint64, endpoint=True) % span
    base = np.array([v % 2**64 for v in lo], dtype=np.uint64)
    code = "i8" if signed else "u8"
    data = (base + offset).view(code)     # uint64 wraps, so this is lo + offset
    data[rng.integers(0, n), :] = lo
    data[rng.integers(0, n), :] = hi
    return data.reshape(shape).astype(np.dtype(code).newbyteorder(order))


def corrupt_chunks(path, dataset):
    """Overwrite every stored chunk of a (compressed) dataset with 0xff bytes.

    The metadata stays valid, so the file opens and the dataset's type and
    shape read fine; only reading the data fails.
    """
    with h5py.File(path, "r") as f:
        dsid = f[dataset].id
        spans = [(info.byte_offset, info.size)
                 for info in map(dsid.get_chunk_info, range(dsid.get_num_chunks()))]
    with open(path, "r+b") as raw:
        for offset, size in spans:
            raw.seek(offset)
            raw.write(b"\xff" * size)
