"""A field of a million cells per record, reduced in tiles along dim 1.

float32 (40, 1000, 1000), chunked (8, 100, 500), 2% NaN, partition_size 1M:
each record is 4 MB, so the plan splits records along dim 1 into tiles and
`--dry-run` must say so on a line starting with "tiles:".  The count,
nan_count, mean, std, min and max maps must equal numpy's nan-aware per-cell
results (mean and std computed in float64, within 1e-12 relative; counts and
float32 min/max exact), and be byte-identical across rank counts.

Memory: one run under `mpirun -n 3 /usr/bin/time -f %M -o rss.RANK` measures
rank 0's peak RSS (a shell names each rank's file from the launcher's rank
variable, Open MPI's or PMI's, so any launcher of harness.LAUNCHERS does).  It
is printed as a note; the only assertion is the issue's bound, the size of
one record's partial states (72 bytes per cell) times the number of
partitions: a master that kept every partial state would exceed it.
"""

import math
import warnings

import h5py
import numpy as np

from featurecase import F8, U8, Expect, FeatureCase, Want, job_sections
from harness import Failure, expect, expect_ok, launcher, run_tool
from verify import RTOL

SHAPE = (40, 1000, 1000)
CHUNKS = (8, 100, 500)
DATASET = "/field/t2m"
STATE_BYTES_PER_CELL = 72
RSS_RANKS = 3
# Each rank's peak RSS into $0/rss.RANK, its rank from Open MPI or PMI.
RSS_WRAPPER = ('d=$0; r=${OMPI_COMM_WORLD_RANK:-${PMI_RANK:-x}}; '
               'exec /usr/bin/time -f %M -o "$d/rss.$r" "$@"')
BLOCK = 100                     # rows of dim 1 the oracle reduces at a time


def write_field(case_dir):
    rng = np.random.default_rng(51)
    path = case_dir / "data/field.h5"
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        ds = f.create_dataset(DATASET, shape=SHAPE, dtype="<f4", chunks=CHUNKS)
        for t in range(SHAPE[0]):
            step = rng.standard_normal(SHAPE[1:], dtype=np.float32) * np.float32(3.0)
            step += np.float32(285.0) + np.linspace(-20, 20, SHAPE[1], dtype=np.float32)[:, None]
            step[rng.random(SHAPE[1:], dtype=np.float32) < 0.02] = np.nan
            step[999, 999] = np.nan                          # a cell without values
            step[0, 999] = 290.0 if t == 17 else np.nan     # a cell with one value
            ds[t] = step


def field_oracle(case_dir):
    """numpy's nan-aware reductions, in float64, a block of dim 1 at a time."""
    out = {k: np.empty(SHAPE[1:], np.float64) for k in ("count", "nan", "mean", "std")}
    out.update({k: np.empty(SHAPE[1:], np.float32) for k in ("min", "max")})
    with h5py.File(case_dir / "data/field.h5", "r") as f:
        ds = f[DATASET]
        for y0 in range(0, SHAPE[1], BLOCK):
            block = ds[:, y0:y0 + BLOCK, :]
            reduce_block(block, {k: v[y0:y0 + BLOCK] for k, v in out.items()})
    wants = {"count": Want(out["count"].astype(np.uint64), U8),
             "nan_count": Want(out["nan"].astype(np.uint64), U8),
             "mean": Want(out["mean"], F8, RTOL),
             "std": Want(out["std"], F8, RTOL),
             "min": Want(out["min"], "<f4"), "max": Want(out["max"], "<f4")}
    return Expect(["data/field.h5"], SHAPE[0], {DATASET.rsplit("/", 1)[-1]: wants})


def reduce_block(block, out):
    nan = np.isnan(block)
    x = block.astype(np.float64)
    out["count"][...] = (~nan).sum(axis=0)
    out["nan"][...] = nan.sum(axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)     # all-NaN cells give NaN
        out["mean"][...] = np.nanmean(x, axis=0)
        out["std"][...] = np.nanstd(x, axis=0)
        out["min"][...] = np.nanmin(block, axis=0)
        out["max"][...] = np.nanmax(block, axis=0)


def dry_run_tiles(tool, case_dir, job, kept):
    run = tool.run(0, ["--dry-run", "job.ini"], case_dir, case_dir / ".log" / "dry-run")
    expect_ok(run)
    lines = [line for line in run.stdout.splitlines() if line.startswith("tiles:")]
    expect(lines, f"--dry-run printed no 'tiles:' line: {run.stdout.strip()[-300:]!r}")
    expect(not (case_dir / "results/out.h5").exists(), "--dry-run wrote results/out.h5")


def rank0_rss(tool, case_dir, job, kept):
    """Rank 0's peak RSS under -n 3; printed, and held to the issue's bound."""
    expect(kept, "no result file to take the partition count from")
    with h5py.File(next(iter(kept.values())), "r") as f:
        parts = int(np.asarray(f.attrs["partitions"]))
    outdir = case_dir / ".log" / "rss-ranks"
    outdir.mkdir(parents=True, exist_ok=True)
    argv = launcher(RSS_RANKS, tool.mpi) + ["sh", "-c", RSS_WRAPPER, str(outdir),
                                            str(tool.binary), "-q", "job.ini"]
    run = run_tool(argv, case_dir, tool.timeout, case_dir / ".log" / "rss")
    expect_ok(run)
    found = outdir / "rss.0"
    expect(found.is_file(), f"no rss.0 under {outdir}: {sorted(p.name for p in outdir.iterdir())}")
    tail = [line for line in found.read_text().splitlines() if line.strip()]
    try:
        rss = int(tail[-1]) * 1024
    except (IndexError, ValueError):
        raise Failure(f"no /usr/bin/time %M line in rank 0's stderr: {tail[-3:]!r}")
    cells = math.prod(SHAPE[1:])
    bound = STATE_BYTES_PER_CELL * cells * parts
    print(f"# note: {job.name}: rank-0 peak RSS {rss / 2**20:.1f} MiB under -n {RSS_RANKS} "
          f"({parts} partitions; bound {STATE_BYTES_PER_CELL} B x {cells} cells x {parts} "
          f"= {bound / 2**20:.0f} MiB)", flush=True)
    expect(rss < bound, f"rank-0 peak RSS {rss} bytes >= {bound} bytes")


def tile_cases():
    sections = job_sections("data/field.h5", DATASET, partition="1M",
                            reduce={"ops": "count mean std min max"},
                            name="tiled-float32-40x1000x1000")
    return [FeatureCase("tiled/float32-40x1000x1000", write_field, sections, field_oracle,
                        min_partitions=2,
                        extra=[("dry-run tiles", dry_run_tiles),
                               (f"rank-0 RSS -n {RSS_RANKS}", rank0_rss)])]
