"""HDF5 files made to lie, built at run time from valid files h5py writes.

build_lies(tmp) writes every fixture under tmp/lies/ (and good.h5 beside
it) and returns nothing; the cases refer to them by name.  Offsets into
the files are never hard-coded: they are found with h5py's low-level API
(h5o.get_info(...).addr for object headers) or by scanning for the
signatures of the format ("TREE", "HEAP", "SNOD") and for the exact bytes
of a dataspace or layout message, and every patch checks that it found
what it expected, so a different HDF5 version fails loudly here rather
than silently testing nothing.

Also checkpoint files for --resume that belong to no run of the job
(checkpoints()).

Two base files hold the same data: base-v0.h5 (libver earliest: version 0
superblock, version 1 object headers without checksums, B-tree v1 chunk
index, local heaps) and base-v3.h5 (libver latest: version 3 superblock
and version 2 object headers, both with checksums).  Each has
/group/values (200 x 3 x 4 float64, chunked 16 x 3 x 4, deflate and
shuffle) and /group/contig (100 x 3 x 4 float64, contiguous).

Format offsets used (HDF5 file format specification):
  superblock v0: end-of-file address at byte 40 (8-byte addresses)
  superblock v2/3: 48 bytes, checksum over bytes 0..43 at byte 44
  dataspace message: the dims then the max dims, 8 bytes each
  layout message v3 (chunked): chunk dims as u32, then the element size
"""

import pathlib
import random
import re
import shutil
import struct

import h5py
import numpy as np

VALUES = "/group/values"
CONTIG = "/group/contig"
SHAPE = (200, 3, 4)
CONTIG_SHAPE = (100, 3, 4)
CHUNKS = (16, 3, 4)
N_TRUNCATIONS = 20
V0_EOF_OFFSET = 40


class FixtureError(Exception):
    """A patch did not find what it expected in the file."""


def build_lies(tmp):
    """Create tmp/good.h5 and every fixture under tmp/lies/."""
    lies = tmp / "lies"
    lies.mkdir()
    data = np.random.default_rng(60).normal(20.0, 5.0, SHAPE)
    with h5py.File(tmp / "good.h5", "w") as f:
        f.create_dataset(VALUES, data=data[:100], chunks=CHUNKS)
    for libver, name in (("earliest", "base-v0.h5"), ("latest", "base-v3.h5")):
        write_base(lies / name, data, libver)
    truncations(lies)
    flips(lies)
    dimension_lies(lies)
    chunk_lies(lies)
    sparse_giants(lies)
    indirections(lies)
    odd_files(lies)
    checkpoints(lies)


def write_base(path, data, libver):
    with h5py.File(path, "w", libver=libver) as f:
        f.create_dataset(VALUES, data=data, chunks=CHUNKS, compression="gzip",
                         shuffle=True)
        f.create_dataset(CONTIG, data=data[:CONTIG_SHAPE[0]])


def read(path):
    return bytearray(path.read_bytes())


def object_header(path, name):
    """(address, size) of the object header of `name` in path."""
    with h5py.File(path, "r") as f:
        info = h5py.h5o.get_info(f[name].id)
        return info.addr, info.hdr.space.total


def find_all(data, pattern):
    found, start = [], 0
    while True:
        i = data.find(pattern, start)
        if i < 0:
            return found
        found.append(i)
        start = i + 1


def flip(src, dst, offset):
    data = read(src)
    data[offset] ^= 0xFF
    dst.write_bytes(data)


def truncations(lies):
    """truncated-NN: base-v0 cut at 20 offsets spread over the file;
    truncated-sb-NN: cut inside the superblock; eof-lie-NN: cut in the
    raw data with the superblock's end-of-file address made to match."""
    base = read(lies / "base-v0.h5")
    n = len(base)
    for k in range(1, N_TRUNCATIONS + 1):
        (lies / f"truncated-{k:02d}.h5").write_bytes(base[: n * k // (N_TRUNCATIONS + 1)])
    for k, cut in enumerate((0, 4, 40)):
        (lies / f"truncated-sb-{k}.h5").write_bytes(base[:cut])
    (stored,) = struct.unpack_from("<Q", base, V0_EOF_OFFSET)
    if stored != n:
        raise FixtureError(f"base-v0.h5: end-of-file address {stored} at byte "
                           f"{V0_EOF_OFFSET}, file has {n} bytes")
    with h5py.File(lies / "base-v0.h5", "r") as f:
        raw = f[CONTIG].id.get_offset()
    for k, cut in enumerate(np.linspace(raw + 8, n - 8, 5).astype(int)):
        data = base[:cut]
        struct.pack_into("<Q", data, V0_EOF_OFFSET, int(cut))
        (lies / f"eof-lie-{k}.h5").write_bytes(data)


def flips(lies):
    """Single bytes flipped where HDF5 checks them: every 4th byte of the
    v3 superblock (checksummed), the v0 signature, bytes of the dataset's
    v2 object header (checksummed), and the signatures of a v0 file's
    chunk B-tree, local heap and symbol-table node."""
    v0, v3 = lies / "base-v0.h5", lies / "base-v3.h5"
    for k, offset in enumerate(range(0, 48, 4)):
        flip(v3, lies / f"sbflip-v3-{k:02d}.h5", offset)
    flip(v0, lies / "sbflip-v0-signature.h5", 1)
    addr, size = object_header(v3, VALUES)
    if read(v3)[addr:addr + 4] != b"OHDR":
        raise FixtureError(f"base-v3.h5: no OHDR at {addr}")
    for k, offset in enumerate(np.linspace(addr, addr + size - 1, 8).astype(int)):
        flip(v3, lies / f"ohdr-flip-{k}.h5", int(offset))
    data = read(v0)
    chunk_trees = [i for i in find_all(data, b"TREE") if data[i + 4] == 1]
    if len(chunk_trees) != 1:
        raise FixtureError(f"base-v0.h5: {len(chunk_trees)} chunk B-trees")
    flip(v0, lies / "tree-signature.h5", chunk_trees[0])
    for sig in (b"HEAP", b"SNOD"):
        offsets = find_all(data, sig)
        if not offsets:
            raise FixtureError(f"base-v0.h5: no {sig!r}")
        flip(v0, lies / f"{sig.decode().lower()}-signature.h5", offsets[-1])


def patch_dims(src, dst, shape, dims):
    """Replace the dims and max dims of the dataspace of `shape` (both occur
    once per dataset using it) with dims."""
    data = read(src)
    pattern = struct.pack(f"<{len(shape)}Q", *shape)
    offsets = find_all(data, pattern)
    if len(offsets) != 2:
        raise FixtureError(f"{src.name}: dataspace {shape} found {len(offsets)} times")
    for o in offsets:
        struct.pack_into(f"<{len(dims)}Q", data, o, *dims)
    dst.write_bytes(data)


def dimension_lies(lies):
    """Dataspaces (v1 object headers have no checksum) claiming sizes whose
    product overflows 64 bits, or far more records than the file holds."""
    v0 = lies / "base-v0.h5"
    for name, dims in (("dims-overflow-a", (1 << 32, 1 << 32, 4)),
                       ("dims-overflow-b", (1 << 62, 3, 4)),
                       ("dims-overflow-record", (100, 1 << 40, 1 << 40))):
        patch_dims(v0, lies / f"{name}-contig.h5", CONTIG_SHAPE, dims)
        patch_dims(v0, lies / f"{name}-chunked.h5", SHAPE, dims)
    patch_dims(v0, lies / "dims-huge-contig.h5", CONTIG_SHAPE, (1 << 40, 3, 4))


def patch_chunk(src, dst, chunk):
    data = read(src)
    pattern = struct.pack("<4I", *CHUNKS, 8)
    offsets = find_all(data, pattern)
    if len(offsets) != 1:
        raise FixtureError(f"{src.name}: chunk dims found {len(offsets)} times")
    struct.pack_into("<4I", data, offsets[0], *chunk, 8)
    dst.write_bytes(data)


def chunk_lies(lies):
    """A fixed-size dataset whose layout claims chunks larger than the
    dataset, or of 4 GiB and more; and the legal kind (unlimited maximum
    shape), which must simply work."""
    v0 = lies / "base-v0.h5"
    patch_chunk(v0, lies / "chunk-rows-200.h5", (200 + 56, 3, 4))
    patch_chunk(v0, lies / "chunk-rows-1m.h5", (1 << 20, 3, 4))
    patch_chunk(v0, lies / "chunk-dim2-65284.h5", (16, 3, 0xFF04))
    patch_chunk(v0, lies / "chunk-4g.h5", (0xFFFFFFFF, 0xFFFFFFFF, 4))
    with h5py.File(lies / "chunk-bigger-legal.h5", "w") as f:
        f.create_dataset(VALUES, data=np.ones((10, 3, 4)), chunks=(1000, 3, 4),
                         maxshape=(None, 3, 4))


def sparse_giants(lies):
    """Datasets claiming 2^60 elements (or 2^40 records) of which nothing
    is stored: every read returns fill values."""
    with h5py.File(lies / "claims-2e60.h5", "w") as f:
        ds = f.create_dataset("values", shape=(0,), maxshape=(None,),
                              chunks=(1 << 16,), dtype="f8")
        ds.resize((1 << 60,))
    patch_dims(lies / "base-v0.h5", lies / "claims-2e40-records.h5", SHAPE,
               (1 << 40, 3, 4))


def indirections(lies):
    """Datasets whose values live elsewhere: external raw files, virtual
    datasets, links that loop or dangle."""
    with h5py.File(lies / "raw-elsewhere-passwd.h5", "w") as f:
        f.create_dataset("values", shape=(10, 4), dtype="f8",
                         external=[("/etc/passwd", 0, 320)])
    with h5py.File(lies / "raw-elsewhere-missing.h5", "w") as f:
        f.create_dataset("values", shape=(10, 4), dtype="f8",
                         external=[("/nonexistent/raw.bin", 0, 320)])
    for name, source in (("vds-self.h5", None), ("vds-missing.h5", "/nonexistent/src.h5")):
        path = lies / name
        layout = h5py.VirtualLayout(shape=(10, 4), dtype="f8")
        layout[:] = h5py.VirtualSource(source or str(path), "values", shape=(10, 4))
        with h5py.File(path, "w", libver="latest") as f:
            f.create_virtual_dataset("values", layout, fillvalue=0)
    with h5py.File(lies / "extlink-loop.h5", "w") as f:
        f["values"] = h5py.ExternalLink(str(lies / "extlink-loop.h5"), "/values")
    with h5py.File(lies / "extlink-dangling.h5", "w") as f:
        f["values"] = h5py.ExternalLink("/nonexistent/file.h5", "/values")
    with h5py.File(lies / "softlink-loop.h5", "w") as f:
        f["a"] = h5py.SoftLink("/b")
        f["b"] = h5py.SoftLink("/a")


def odd_files(lies):
    """Things that are not HDF5 files at all, or too wide to be tables."""
    (lies / "directory.h5").mkdir()
    with open(lies / "sparse-zero-2g.h5", "wb") as f:
        f.truncate(2 << 30)
    row = np.dtype([(f"f{i}", "f4") for i in range(300)])
    with h5py.File(lies / "compound-300-fields.h5", "w") as f:
        f.create_dataset("values", data=np.zeros(5, dtype=row))
    shutil.copy(lies / "base-v0.h5", lies / "control-v0.h5")


def ckpt_version():
    """CKPT_VERSION from src/checkpoint.h, so a lie differs only where meant."""
    hdr = pathlib.Path(__file__).resolve().parents[2] / "src" / "checkpoint.h"
    return int(re.search(r"#define CKPT_VERSION (\d+)", hdr.read_text()).group(1))


def fnv1a(data):
    """The checkpoint checksum (FNV-1a 64, see src/checkpoint.h)."""
    h = 0xCBF29CE484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def checkpoints(lies):
    """Checkpoint files for --resume that are not this job's: garbage,
    empty, a directory, 64 GiB of (sparse) zeros, a wrong checksum, another
    job's fingerprint, a future and a past format version."""
    (lies / "ckpt-garbage").write_bytes(random.Random(9).randbytes(4096))
    (lies / "ckpt-empty").write_bytes(b"")
    (lies / "ckpt-directory").mkdir()
    with open(lies / "ckpt-sparse-64g", "wb") as f:
        f.truncate(64 << 30)
    # magic, version (CKPT_VERSION), fingerprint, nparts 10, merged 3, 1 tile of 0 bytes,
    # 1 column with an empty histogram range
    body = (b"H5BCKPT\0" + struct.pack("<QQQQQ", ckpt_version(), 0x1234, 10, 3, 1) +
            struct.pack("<QQQ", 0, 1, 0))
    (lies / "ckpt-bad-checksum").write_bytes(body + struct.pack("<Q", fnv1a(body) ^ 1))
    (lies / "ckpt-other-job").write_bytes(body + struct.pack("<Q", fnv1a(body)))
    future = b"H5BCKPT\0" + struct.pack("<Q", 9) + bytes(40)
    (lies / "ckpt-version-9").write_bytes(future + struct.pack("<Q", fnv1a(future)))
    # version 3: written before exact sums (wire and checkpoint formats grew)
    old = b"H5BCKPT\0" + struct.pack("<Q", 3) + bytes(40)
    (lies / "ckpt-version-3").write_bytes(old + struct.pack("<Q", fnv1a(old)))
