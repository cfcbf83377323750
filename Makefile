# h5batch -- plain Makefile.  `make run` and `make test` install what is
# missing (Debian packages) and need nothing else on a fresh machine.

# ---- settings -------------------------------------------------------------
PREFIX    ?= /usr/local
CC        := mpicc
HOSTCC    ?= gcc
PYTHON    ?= /usr/bin/python3
NP        ?= 3
SANITIZE  ?=
# The MPI implementation: openmpi (the default, into build/) or mpich
# (Debian's MPICH, into build/mpich/; README.md, "MPI implementations").
MPI       ?= openmpi

PKGS      := hdf5-serial inih json-c
WARN      := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
             -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral -Wno-format-truncation
CSTD      := -std=c11 -D_POSIX_C_SOURCE=200809L
OPT       ?= -O2 -g
# What `make test` runs after the build (the MPICH build runs fewer).
TEST_SUITES := unit integration bad faults test-plugins test-man $(if $(SANITIZE),,test-memory)
ifeq ($(SANITIZE),1)
OPT       := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
BUILD     := build/asan
# Open MPI's own one-time allocations are suppressed by library name; the
# slow unwinder and keeping MCA components loaded let LSan see those names.
export ASAN_OPTIONS := fast_unwind_on_malloc=0:detect_leaks=1
export LSAN_OPTIONS := suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS := print_stacktrace=1:halt_on_error=1
export OMPI_MCA_mca_base_component_disable_dlclose := 1
# Under mpirun a sanitized run costs 10-20 s (the slow unwinder over Open
# MPI's start-up), alone under a second: the suites run their sanitized
# subsets, mostly alone (tests/README.md has the matrix).
INTEGRATION_ARGS := --cases sanitized
BAD_ARGS         := --ranks 0
BAD_MPI_ARGS     := --ranks 3 -k 16-not-hdf5
FAULTS_ARGS      := -k sigterm-solo,refused,resume-without
PLUGIN_ARGS      := --ranks 0 --fail-ranks 0
# The two unit tests of a million keys and a million probe values take
# minutes under ASan; the plain build runs them, this one the rest.
UNIT_ENV         := H5BATCH_UNIT_QUICK=1
else ifeq ($(MPI),mpich)
BUILD     := build/mpich
else
BUILD     := build
endif
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs inih json-c 2>/dev/null)
CFLAGS    := $(CSTD) $(OPT) $(WARN) -pthread -Iinclude -Isrc -MMD -MP
LDLIBS     = $(PKG_LIBS) $(HDF5_LIBS) -lm -ldl -pthread
# HDF5 is linked from Debian's static archives when they are there: the
# shared library needs libcurl and some 30 libraries more (for a driver
# h5batch never uses), and loading them took 10 of the 16 ms of
# `h5batch --version` and of every run's start (README, "Start-up").
# HDF5_LINK=shared links the shared library instead.  Evaluated where used,
# after `make deps` may have installed HDF5.
HDF5_LINK ?= static
comma := ,
HDF5_LIBDIR = $(patsubst -L%,%,$(filter -L%,$(shell pkg-config --libs hdf5-serial 2>/dev/null)))
HDF5_A      = $(if $(filter static,$(HDF5_LINK)),$(wildcard $(HDF5_LIBDIR)/libhdf5.a))
# Linked statically, HDF5's functions and variables are exported from the
# executable: filter plugins (lzf, blosc) take them from their host.
HDF5_LIBS   = $(if $(HDF5_A),$(HDF5_LIBDIR)/libhdf5_hl.a $(HDF5_A) -lsz \
                  -Wl$(comma)--export-dynamic-symbol=H5*,\
                  -L$(HDF5_LIBDIR) -lhdf5_hl -lhdf5) -lz

MPIRUN_ENV := OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MPIRUN     := $(MPIRUN_ENV) mpirun --oversubscribe -q

# Debian packages: what building, running and testing need.
DEB_PKGS  := openmpi-bin libopenmpi-dev libhdf5-dev hdf5-tools libinih-dev \
             libcmocka-dev pkg-config python3-h5py python3-numpy make gcc \
             python3-tables python3-netcdf4 python3-pandas zlib1g-dev \
             libjson-c-dev python3-xarray python3-h5netcdf netcdf-bin \
             mandoc man-db python3-matplotlib python3-cftime \
             hdf5-filter-plugin hdf5-filter-plugin-blosc-serial

# The alternatives that choose which MPI mpicc and mpirun/mpiexec run.
MPI_ALTS  := mpi mpirun

# MPICH beside Open MPI.  Debian's alternatives keep mpicc, mpirun and
# mpiexec on Open MPI (priority 50 against MPICH's 40), which the rest of
# the project relies on; this build names MPICH's own mpicc.mpich and
# mpiexec.mpich (Hydra) and never touches the alternatives.
ifeq ($(MPI),mpich)
ifeq ($(SANITIZE),1)
$(error SANITIZE=1 supports Open MPI only (README.md, "MPI implementations"))
endif
CC         := mpicc.mpich
MPIRUN     := mpiexec.mpich
DEB_PKGS   += mpich libmpich-dev
# `make test MPI=mpich`: the unit tests (quick ones: they use no MPI, and
# the default build runs the long ones) and the integration subset that
# reaches every path through MPI under MPICH's mpiexec, every result file
# byte-identical to the Open MPI build's (tests/integration/matrix.py).
UNIT_ENV         := H5BATCH_UNIT_QUICK=1
INTEGRATION_ARGS := --mpi mpich --cases mpich --same-as build/h5batch
TEST_SUITES      := unit integration
else ifneq ($(MPI),openmpi)
$(error MPI=$(MPI): openmpi or mpich)
endif

# ---- sources --------------------------------------------------------------
# Logic modules: no MPI, no HDF5; unit-tested without mpirun.
LOGIC     := err atomicfile samefile job plan wire chunkdec op exactsum xfold xscan op_moments \
             memplan memlimits cfmeta suggest \
             op_hist op_quantile table results summary utf8 progress cli \
             checkpoint interrupt groupby gbdist readahead fileread fileid launch \
             nodes mpienv startup select op_weighted weights op_records \
             cftime keyed hugepage
# Modules that talk to HDF5 or MPI.
SYSTEM    := h5util h5head srctype source ncdims output transport shm worker master plugin \
             filecheck wreader selread weightsread timekey \
             memrun dryrun rangepass run
OBJS      := $(addprefix $(BUILD)/obj/,$(addsuffix .o,$(LOGIC) $(SYSTEM)))
LOGIC_OBJS := $(addprefix $(BUILD)/obj/,$(addsuffix .o,$(LOGIC)))
UNIT      := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))
UNIT_BINS := $(addprefix $(BUILD)/tests/,$(UNIT)) \
             $(BUILD)/tests/test_op_hist_base $(BUILD)/tests/test_op_hist_avx2

.PHONY: all run test check unit integration bad faults test-memory test-man examples deps \
        install clean
all: $(BUILD)/h5batch $(BUILD)/h5batch-gen

# ---- build ----------------------------------------------------------------
$(BUILD)/obj/%.o: src/%.c Makefile | $(BUILD)/obj
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c $< -o $@

$(BUILD)/h5batch: $(BUILD)/obj/main.o $(OBJS)
	$(CC) $(OPT) $^ -o $@ $(LDLIBS)

$(BUILD)/h5batch-gen: src/gen.c Makefile | $(BUILD)/obj
	$(HOSTCC) $(CSTD) $(OPT) $(WARN) $(shell pkg-config --cflags hdf5-serial) \
	    -MMD -MP -MF $(BUILD)/obj/gen.d $< -o $@ \
	    $(shell pkg-config --libs hdf5-serial) -lm

$(BUILD)/tests/%: tests/unit/%.c $(LOGIC_OBJS) Makefile | $(BUILD)/tests
	$(HOSTCC) $(CFLAGS) $(shell pkg-config --cflags cmocka) $< $(LOGIC_OBJS) \
	    -o $@ $(shell pkg-config --libs cmocka) $(LDLIBS)

# test_op_hist again on the histogram's baseline slots and on its AVX2
# ones, which a machine with AVX2 or AVX-512 would otherwise never run
# (the picked version runs in test_op_hist).  An AVX2 build on a CPU
# without AVX2 falls back to the baseline.
$(BUILD)/obj/op_hist_base.o: src/op_hist.c Makefile | $(BUILD)/obj
	$(CC) $(CFLAGS) -DHIST_NO_AVX2 -c $< -o $@

$(BUILD)/obj/op_hist_avx2.o: src/op_hist.c Makefile | $(BUILD)/obj
	$(CC) $(CFLAGS) -DHIST_NO_AVX512 -c $< -o $@

$(BUILD)/tests/test_op_hist_%: tests/unit/test_op_hist.c $(LOGIC_OBJS) \
        $(BUILD)/obj/op_hist_%.o Makefile | $(BUILD)/tests
	$(HOSTCC) $(CFLAGS) -MF $@.d $(shell pkg-config --cflags cmocka) $< \
	    $(filter-out %/op_hist.o,$(LOGIC_OBJS)) $(BUILD)/obj/op_hist_$*.o \
	    -o $@ $(shell pkg-config --libs cmocka) $(LDLIBS)

$(BUILD)/obj $(BUILD)/tests:
	mkdir -p $@

# Logic objects are built by mpicc too (same flags); they never include mpi.h.

-include $(wildcard $(BUILD)/obj/*.d $(BUILD)/tests/*.d)

# ---- dependencies ---------------------------------------------------------
# Install the Debian packages that are missing (needs root or sudo).
# Installing leaves Debian's alternatives for mpicc and mpirun/mpiexec as
# they were (MPICH's priority, 40, is below Open MPI's, 50): should an
# install ever flip one, it is set back to what it named before, and said.
deps:
	@SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	saved=""; for g in $(MPI_ALTS); do \
	    saved="$$saved $$g=$$(readlink /etc/alternatives/$$g 2>/dev/null)"; done; \
	missing=""; for p in $(DEB_PKGS); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" \
	        || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    $$SUDO apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing \
	        || exit 1; \
	fi; \
	for pair in $$saved; do g=$${pair%%=*}; was=$${pair#*=}; \
	    now=$$(readlink /etc/alternatives/$$g 2>/dev/null); \
	    [ -z "$$was" ] || [ "$$now" = "$$was" ] && continue; \
	    echo "deps: the install set alternative $$g to $$now; back to $$was"; \
	    $$SUDO update-alternatives --set $$g "$$was" || exit 1; \
	done

# ---- demo -----------------------------------------------------------------
data/demo.h5: | $(BUILD)/h5batch-gen
	mkdir -p data
	$(BUILD)/h5batch-gen -o $@ -d /sensors/temperature -t f32 \
	    -s 4000000x16 -c 16384x16 -z 1 --shuffle -D sensor --nan-frac 0.001 \
	    --seed 42

run: deps
	$(MAKE) all
	$(MAKE) data/demo.h5
	mkdir -p results
	$(MPIRUN) -n $(NP) $(BUILD)/h5batch jobs/demo.ini

# ---- examples: jobs/examples/*.ini on generated data ------------------------
data/examples/stations.h5 data/examples/climate.h5: jobs/examples/make_data.py
	$(PYTHON) jobs/examples/make_data.py data/examples

data/examples/field.h5: | $(BUILD)/h5batch-gen
	mkdir -p data/examples
	$(BUILD)/h5batch-gen -o $@ -d /t2m -t f32 -s 100x1000x1000 \
	    -c 10x100x500 -D normal --mean 285 --std 12 --nan-frac 0.0001 --seed 3

# What plot.py draws: maps, histograms, quantiles and per-key statistics.
EXAMPLE_RESULTS := results/climate.h5 results/distribution.h5 results/groupby.h5 \
                   results/field.h5
examples: deps
	$(MAKE) all data/demo.h5 data/examples/stations.h5 data/examples/field.h5
	mkdir -p results
	for j in jobs/examples/*.ini; do echo "== $$j"; \
	    $(MPIRUN) -n $(NP) $(BUILD)/h5batch -q $$j || exit 1; done
	$(PYTHON) jobs/examples/plot.py -o results $(EXAMPLE_RESULTS)

# ---- tests ----------------------------------------------------------------
test: deps
	$(MAKE) all
	$(MAKE) $(TEST_SUITES)

# The edit-compile loop: units and a smoke run on 1 and 3 ranks (< 2 min).
check: all $(UNIT_BINS)
	H5BATCH_UNIT_QUICK=1 $(MAKE) unit
	$(PYTHON) tests/integration/run.py --bin $(BUILD)/h5batch \
	    --gen $(BUILD)/h5batch-gen --mpi $(MPI) --cases smoke --ranks 1,3 --every-mode

unit: $(UNIT_BINS)
	@fail=0; for t in $(UNIT_BINS); do \
	    $(UNIT_ENV) timeout 120 $$t || fail=1; done; exit $$fail

integration: all
	$(PYTHON) tests/integration/run.py --bin $(BUILD)/h5batch \
	    --gen $(BUILD)/h5batch-gen $(INTEGRATION_ARGS)

bad: all
	$(PYTHON) tests/bad/run.py --bin $(BUILD)/h5batch $(BAD_ARGS)
	$(if $(BAD_MPI_ARGS),$(PYTHON) tests/bad/run.py --bin $(BUILD)/h5batch $(BAD_MPI_ARGS))

faults: all
	$(PYTHON) tests/faults/run.py --bin $(BUILD)/h5batch $(FAULTS_ARGS)

ifeq ($(MPI),mpich)
# The Open MPI build (build/h5batch) whose result files MPICH's must match.
integration: openmpi-reference
openmpi-reference:
	$(MAKE) MPI=openmpi all
.PHONY: openmpi-reference
endif

# The man pages: mandoc lint, man -l, every key and option documented,
# installed by `make install` (~5 s).
test-man: all
	$(PYTHON) tests/man/run.py --bin $(BUILD)/h5batch --gen $(BUILD)/h5batch-gen

# The memory plan's checks on stand-ins for the machine's limits (~10 s).
test-memory: all
	$(PYTHON) tests/memory/run.py --bin $(BUILD)/h5batch

# ---- install / clean ------------------------------------------------------
VERSION   := $(shell sed -n 's/^\#define H5BATCH_VERSION "\(.*\)"/\1/p' src/version.h)

# Binaries, the man pages, the plugin header and a pkg-config file (h5batch.pc) so that a
# plugin builds anywhere with `cc -shared $(pkg-config --cflags h5batch)`.
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/include/h5batch \
	    $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(BUILD)/h5batch $(BUILD)/h5batch-gen $(DESTDIR)$(PREFIX)/bin/
	install -m 644 man/h5batch.1 man/h5batch-gen.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 include/h5batch/operator.h $(DESTDIR)$(PREFIX)/include/h5batch/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' \
	    include/h5batch.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/h5batch.pc

clean:
	rm -rf build

# ---- more suites, each in its own fragment --------------------------------
-include tests/fuzz/fuzz.mk tests/slurm/slurm.mk tests/multinode/multinode.mk tests/bench/bench.mk
-include tests/plugins/plugins.mk
