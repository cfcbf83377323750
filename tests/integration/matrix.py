"""Which launch modes each integration case runs in, and why.

A launch mode is a --ranks value.  Each reaches a path the others do not:

  0  no launcher: rank 0 alone reduces every partition, reading ahead in a
     thread of its own
  1  mpirun -n 1: rank 0 alone as in 0, started by a launcher (the
     launcher's environment and MPI start-up)
  2  mpirun -n 2, with shared_memory = off and worker_reads = off (MODE_SETS):
     one worker that gets every partition's values point to point, as a
     worker on another node does
  3  mpirun -n 3: two workers on rank 0's node; partitions in the shared
     window, contiguous data read from the file by the workers, and rank 0
     reducing a partition itself at every chance (harness.EAGER_HELP_RANKS);
     for P2P_FAMILIES with worker_reads = all (ALL_READS_SETS): the workers
     read every partition themselves with their own HDF5
  4  mpirun -n 4: three workers, more ranks than this machine's cores:
     results come back out of order, and rank 0 helps only when the
     workers lag

Every case runs alone (0) and on 3 ranks (3): rank 0's reduction and the
workers', merged together, each checked against the oracle and all
byte-identical.  Mode 2 sends a partition's values in the WORK message:
bytes whose shape depends on the layout, the files, the columns of a table
and the tiles, not on the element type or the operators (rank 0 reads and
converts as it does alone), so the families in P2P_FAMILIES run in it,
and from the others the LAUNCH_CASES.  Modes 1 and 4 change start-up and
timing, not what is computed, so they run on LAUNCH_CASES only: one or two
cases of every family, which run in all five modes.

The sanitized build (`make test SANITIZE=1`, `--cases sanitized`) runs
SANITIZED_CASES, a subset that still reaches every operator, layout and
type family.  There a run under mpirun costs 10-20 s (ASan's slow unwinder
over Open MPI's start-up) and a run alone under a second, with leaks
checked too: so the subset runs alone (mode 0), and SANITIZED_MPI_MODES
names the few cases that also run under mpirun, and in which modes,
reaching every worker path between them.

The MPICH build (`make test MPI=mpich`, `--cases mpich --mpi mpich`) runs
MPICH_MODES: the cases and modes that reach every path through MPI (the
launcher's start-up, values sent, the shared window, workers reading,
more ranks than cores, the dry run's transport) under MPICH's Hydra, each
also run by the Open MPI build on SAME_AS_RANKS ranks (run.py --same-as),
and all their result files byte-identical.  tests/README.md has the whole
matrix, suite by suite.
"""

CORE_MODES = (0, 3)
P2P_MODES = (0, 2, 3)
LAUNCH_MODES = (1, 4)
P2P_FAMILIES = ("layout/", "multi/", "table/", "cf/", "tiled/", "groupby/")
ALL_MODES = tuple(sorted(P2P_MODES + LAUNCH_MODES))

# Runs on 2 ranks take the path of a worker on another node.
POINT_TO_POINT_RANKS = 2
MODE_SETS = {POINT_TO_POINT_RANKS: ["run.shared_memory=off", "run.worker_reads=off"]}

# In mode 3 the cases of P2P_FAMILIES run with worker_reads = all: the two
# workers open the files with their own HDF5 and read every partition
# rank 0 assigns them (chunked, deflate, tables, CF, tiles, several files),
# and rank 0, helping at every chance, reads the ones it reduces.  Their
# result files must be the same bytes as mode 2's (worker_reads = off,
# values sent) and mode 0's: run.py's identity check asserts it.  This
# adds no run: those cases already run in 0, 2 and 3.  The other families
# keep mode 3 on the default (auto: the shared window, contiguous files
# read by the workers), which is also what LAUNCH_CASES get in mode 4.
ALL_READS_RANKS = 3
ALL_READS_SETS = ["run.worker_reads=all"]

# Cases that also run in modes 1 and 4: every family, every layout kind
# (contiguous, chunked, deflate), every operator family.
LAUNCH_CASES = {
    "types/int16be-3d", "types/float64le-1d",
    "layout/contiguous", "layout/deflate-shuffle",
    "multi/twelve-files", "nan/float32-3d-nan-column", "axis/all-int16-3d-ddof1",
    "ddof/two-rows-ddof1", "precision/1e9-noise-3d", "bigint/int64le-beyond-2^53",
    "empty/float32be-chunked", "ops/mean-only", "set/several", "job/prefetch",
    "gen/float64-sensor-nan",
    "table/pandas-fields", "cf/packed-int16-scale-offset-fill-valid-range",
    "histogram/float64-2d-auto", "quantiles/normal-2d-nan-column-acc0.05",
    "cli/dry-run", "cli/help", "cli/version", "cli/rank0-reduces", "cli/worker-reads",
}

# The sanitized build's subset: signed, unsigned and float types in both
# byte orders and both layouts; every layout; several files; NaN, empty,
# 2^53+ integers, every axis and ops form; tables, CF, histograms,
# quantiles, tiles; every CLI check.  LAUNCH_CASES among them run in all
# five modes.
SANITIZED_CASES = {
    "types/int8le-1d", "types/uint16be-3d", "types/int32be-1d", "types/uint64le-3d",
    "types/float32be-1d", "types/float64le-3d", "types/int16be-3d",
    "types/float64le-1d",
    "layout/contiguous", "layout/chunks-not-dividing", "layout/deflate-shuffle",
    "layout/compact", "layout/sparse-chunks-fill", "layout/unlimited",
    "layout/row-bigger-than-partition", "layout/root-dataset",
    "multi/twelve-files", "multi/mixed-byte-order-f4", "multi/with-empty-file",
    "nan/float32-3d-nan-column", "nan/all-nan",
    "axis/all-int16-3d-ddof1", "ddof/one-row-ddof1", "ddof/two-rows-ddof1",
    "precision/1e9-noise-3d", "bigint/int64le-beyond-2^53", "bigint/uint64-top",
    "empty/float32be-chunked", "empty/ops-subset",
    "ops/count-only", "ops/mean-only", "set/several", "job/prefetch",
    "gen/float64-sensor-nan", "gen/uint32-offset-deflate",
    "table/pytables-all-fields", "table/pandas-fields",
    "cf/packed-int16-scale-offset-fill-valid-range",
    "cf/float64-missing-value-valid-min-max",
    "histogram/float64-2d-auto", "histogram/float64-1d-range-edges-inf",
    "histogram/int32be-2d-range",
    "quantiles/normal-2d-nan-column-acc0.05", "quantiles/lognormal-float32",
    "quantiles/int32-2d",
}

# Of those, the ones that also run under mpirun on the sanitized build,
# and in which modes: between them every worker path.
SANITIZED_MPI_MODES = {
    "types/float64le-1d": (2, 3),       # values sent (2); the file read by workers (3)
    "layout/deflate-shuffle": (3, 4),   # chunks decoded by workers; more ranks than cores
    "table/pandas-fields": (3,),        # a compound table
    "histogram/float64-2d-auto": (3,),  # two passes, two SETUPs
    "quantiles/normal-2d-nan-column-acc0.05": (3,),   # sketches on the wire
}
# The MPICH build's subset, and its modes: every path through MPI
# (matrix above), under a minute on two cores.  Mode 0 runs the data
# cases too: the MPICH build alone, without MPI, as the baseline.
MPICH_MODES = {
    "types/float64le-1d": (0, 1, 2, 3),     # launcher start-up; values sent; file read
    "layout/deflate-shuffle": (0, 3, 4),    # chunks decoded by workers; ranks > cores
    "multi/twelve-files": (0, 2, 3),        # many files, sent and read
    "table/pandas-fields": (0, 3),          # a compound table
    "histogram/float64-2d-auto": (0, 3),    # two passes, two SETUPs
    "quantiles/normal-2d-nan-column-acc0.05": (0, 3),   # sketches on the wire
    "cli/dry-run": (3,),                    # nodes and the transport
    "cli/rank0-reduces": (3,),
    "cli/worker-reads": (3,),
}
# The Open MPI build's rank count in run.py --same-as: the shared window.
SAME_AS_RANKS = 3

# Checks of the command line and the summaries: all run in every set.
COMMAND_PREFIXES = ("cli/", "summary/")

# Cases that mean something in some modes only.
ONLY_MODES = {"cli/no-mpi-without-launcher": (0,),
              # a million group-by keys: 1, 2 (values sent) and 4 ranks
              # with per-key quantiles; the six moments alone and on 4
              # (the 2-rank path is the quantile case's)
              "groupby/pandas-million-int-keys": (0, 4),
              "groupby/dist-pandas-million-keys-quantiles": (0, 2, 4)}

# `make check`'s smoke run, on 1 and 3 ranks: a deflate field, a table, a
# histogram and quantiles, and the dry run.
SMOKE_CASES = {
    "layout/deflate-shuffle", "table/pandas-fields", "histogram/float64-2d-auto",
    "quantiles/int32-2d", "cli/dry-run",
}

CASE_SETS = ("all", "sanitized", "smoke", "mpich")


def selected(name, cases):
    """Whether a case belongs to the named set of cases (CASE_SETS)."""
    if cases == "all":
        return True
    if cases == "smoke":
        return name in SMOKE_CASES
    if cases == "mpich":
        return name in MPICH_MODES
    return name.startswith(COMMAND_PREFIXES) or name in SANITIZED_CASES


def modes_for(name, requested, cases="all", every_mode=False):
    """The launch modes, from those requested, that case `name` runs in
    when the named set of cases (CASE_SETS) runs."""
    if every_mode:
        return list(requested)
    if cases == "sanitized":
        wanted = (0,) + SANITIZED_MPI_MODES.get(name, ())
    elif cases == "mpich":
        wanted = MPICH_MODES.get(name, ())
    else:
        wanted = (ALL_MODES if name in LAUNCH_CASES else
                  P2P_MODES if name.startswith(P2P_FAMILIES) else CORE_MODES)
    wanted = ONLY_MODES.get(name, wanted)
    return [r for r in requested if r in wanted]


def mode_sets(ranks, name=""):
    """The --set arguments a mode adds to case `name`'s own."""
    sets = list(MODE_SETS.get(ranks, []))
    if ranks == ALL_READS_RANKS and name.startswith(P2P_FAMILIES):
        sets += ALL_READS_SETS
    return [a for s in sets for a in ("--set", s)]
