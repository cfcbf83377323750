# tests/bench/bench.mk -- `make bench`: h5batch against the bare HDF5 read and
# the peers (numpy + h5py, dask).  Included by the top-level Makefile.
#
#   make bench                         full run (~2 GiB per case, REPS=5)
#   make bench BENCH_SIZE_GB=0.25 REPS=3   quick run
#   make bench BENCH_ARGS="--sweep"    also partition_size / prefetch sweeps
#   make bench BENCH_ARGS="--rss-scale" also peak RSS with 1 GiB vs 8 GiB
#   make bench BENCH_GROUPBY_ARGS=     without the group-by row (1M keys)
#   make bench BENCH_ARGS="--no-main --whole-gb 2" only the whole-process
#                                      rows (2 GiB; default 0.25,2,8 GiB), the
#                                      1,000 files and the packed field
#
# Data go to data/bench/ (reused between runs), results to results/bench.json.
#
#   make bench-nodes                   2 nodes x 2 ranks, links capped with tc
#                                      at 1 Gbit/s: worker_reads = off vs all
#   make bench-nodes BENCH_NODES_GIB=0.25 BENCH_NODES_REPS=3   quick run
#
# bench-nodes (tests/bench/nodes.py) starts a 2-node Slurm of its own on port
# 6857 (root: ip netns, tc) and always stops it; results to
# results/bench-nodes.json.  Not in CI, not in `make test`.

BENCH_CFLAGS := -std=c11 -O2 -g -Wall -Wextra -Werror \
                $(shell pkg-config --cflags hdf5-serial 2>/dev/null)
BENCH_LIBS   := $(shell pkg-config --libs hdf5-serial 2>/dev/null)
BENCH_ARGS   ?=

BENCH_NODES_GIB  ?= 1
BENCH_NODES_REPS ?= 5

.PHONY: bench bench-nodes
$(BUILD)/bare_read: tests/bench/bare_read.c tests/bench/bench.mk | $(BUILD)/obj
	$(HOSTCC) $(BENCH_CFLAGS) $< -o $@ $(BENCH_LIBS)

# The peers the bench runs beside h5batch (dask; cdo for the packed field).
BENCH_DEB_PKGS := cdo python3-dask
.PHONY: bench-deps
bench-deps:
	@$(MAKE) --no-print-directory deps DEB_PKGS="$(BENCH_DEB_PKGS)"

# After bench.py, the group-by row of issue 19: a million int64 keys, 3
# columns, 1 and 3 ranks against pandas (tests/bench/groupby_keys.py;
# BENCH_GROUPBY_ARGS= "" skips it).
BENCH_GROUPBY_ARGS ?= --kinds int --ranks 1,3 --reps 3

bench: deps bench-deps
	$(MAKE) all $(BUILD)/bare_read
	$(MPIRUN_ENV) $(PYTHON) tests/bench/bench.py --bin $(BUILD)/h5batch \
	    --gen $(BUILD)/h5batch-gen --bare $(BUILD)/bare_read $(BENCH_ARGS)
	$(if $(strip $(BENCH_GROUPBY_ARGS)),$(MPIRUN_ENV) $(PYTHON) \
	    tests/bench/groupby_keys.py --bin $(BUILD)/h5batch $(BENCH_GROUPBY_ARGS))

bench-nodes: deps slurm-deps multinode-deps
	$(MAKE) all
	BENCH_NODES_GIB=$(BENCH_NODES_GIB) BENCH_NODES_REPS=$(BENCH_NODES_REPS) \
	    $(PYTHON) tests/bench/nodes.py --bin $(BUILD)/h5batch --gen $(BUILD)/h5batch-gen

# `make bench-groupby`: a million group-by keys (string and int64) on 1,
# 2, 3 and 4 ranks against pandas, results checked
# (tests/bench/groupby_keys.py); GROUPBY_ARGS="--ranks 1,3 --reps 3" for
# medians of 3 on 1 and 3 ranks; "--kinds q" for per-key quantiles of the
# int64 table against pandas' groupby().quantile.
GROUPBY_ARGS ?=

# `make bench-gbmerge`: rank 0's group-by merge alone, no MPI and no file
# (tests/bench/gb_merge.c: 92 partials over 1 million keys, 5 rounds).
GB_MERGE_OBJS := $(addprefix $(BUILD)/obj/,groupby.o gbdist.o op_hist.o \
                                           op_quantile.o err.o utf8.o exactsum.o xfold.o xscan.o \
                                           results.o hugepage.o)
$(BUILD)/gb_merge: tests/bench/gb_merge.c $(GB_MERGE_OBJS) tests/bench/bench.mk
	$(HOSTCC) $(BENCH_CFLAGS) -D_POSIX_C_SOURCE=200809L -Iinclude -Isrc $< \
	    $(GB_MERGE_OBJS) -o $@ $(BENCH_LIBS) -lm
.PHONY: bench-gbmerge
bench-gbmerge: $(BUILD)/gb_merge
	$(BUILD)/gb_merge 5

# `make bench-clim`: a monthly climatology of a CF field against cdo
# ymonmean and xarray, whole processes, means checked
# (tests/bench/clim.py); CLIM_ARGS="--gib 0.5 --reps 3" for a quick run.
CLIM_ARGS ?=
.PHONY: bench-clim
bench-clim: deps bench-deps
	$(MAKE) all
	$(PYTHON) tests/bench/clim.py --bin $(BUILD)/h5batch $(CLIM_ARGS)

.PHONY: bench-groupby
bench-groupby: all
	$(PYTHON) tests/bench/groupby_keys.py --bin $(BUILD)/h5batch $(GROUPBY_ARGS)

# `make bench-xsum`: the exact-sum kernel alone, no MPI and no file
# (tests/bench/xs_kernel.c: 2^24 standard-normal values and 2^24 of issue
# 21's 1e9 +- 1e3, ns a value of xs_add_f64s_skipnan and of the fold
# kernel at each vector level, 5 rounds).
XS_KERNEL_OBJS := $(addprefix $(BUILD)/obj/,exactsum.o xfold.o xscan.o)
$(BUILD)/xs_kernel: tests/bench/xs_kernel.c $(XS_KERNEL_OBJS) tests/bench/bench.mk
	$(HOSTCC) $(BENCH_CFLAGS) -D_GNU_SOURCE -Isrc $< $(XS_KERNEL_OBJS) -o $@ -lm
.PHONY: bench-xsum
bench-xsum: $(BUILD)/xs_kernel
	$(BUILD)/xs_kernel 5
