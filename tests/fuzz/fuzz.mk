# tests/fuzz/fuzz.mk -- fuzzing, the hostile-input corpus and valgrind,
# pulled in by the top-level Makefile (-include).
#
#   make fuzz            build the libFuzzer targets (clang) and run each for
#                        FUZZ_SECONDS (default 60); fails on any crash
#   make fuzz-regress    run every input kept in tests/fuzz/corpus once
#   make fuzz-seeds      regenerate the encoded seed inputs of the corpus
#   make test-hostile    tests/hostile/run.py on the normal and the
#                        SANITIZE=1 build
#   make test-valgrind   tests/valgrind/run.py: memcheck, 1 and 3 ranks
#
# The fuzz targets link the logic modules (LOGIC in the Makefile: no MPI,
# no HDF5 calls) compiled here with clang, -fsanitize=fuzzer-no-link,address,
# undefined, into FUZZ_BUILD.  HDF5's include path is given because
# summary.h reaches hdf5.h through output.h and master.h; nothing links it.
# json-c (summary.c's JSON writer) is linked like inih.
# fuzz_ckpt is built when src/checkpoint.c exists.  Inputs that once crashed
# stay in the corpus and run first, so `make fuzz` fails until they are
# fixed.  New inputs found while fuzzing go to FUZZ_BUILD/work/<target>,
# never into the tree; a crash leaves its input in FUZZ_BUILD/artifacts
# (copy it to tests/fuzz/corpus/<target>/ to keep it as a regression).

# ---- settings -------------------------------------------------------------
# What these targets need beyond the rest: `make deps` installs them too.
DEB_PKGS      += clang libclang-rt-14-dev valgrind
FUZZ_CC       ?= clang
FUZZ_SECONDS  ?= 60
# A fixed seed makes a run a prefix of every longer run with the same seed,
# so a CI run explores nothing that a longer run here has not.
FUZZ_SEED     ?= 1
FUZZ_BUILD    ?= build/fuzz
FUZZ_MAX_LEN  ?= 4096
FUZZ_RSS_MB   ?= 2048
# Sources of the modules under test (another tree, e.g. with a fix applied).
FUZZ_SRC      ?= src
FUZZ_SAN      := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS   := $(CSTD) -O1 -g -fno-omit-frame-pointer $(FUZZ_SAN) \
                 $(filter-out -Werror,$(WARN)) -Wno-unknown-warning-option \
                 -Iinclude -I$(FUZZ_SRC) -Itests/fuzz -MMD -MP \
                 $(shell pkg-config --cflags hdf5-serial 2>/dev/null)
FUZZ_LIBS     := $(shell pkg-config --libs inih 2>/dev/null || echo -linih) \
                 $(shell pkg-config --libs json-c 2>/dev/null || echo -ljson-c) -lz -lm
FUZZ_HAVE_CKPT := $(wildcard $(FUZZ_SRC)/checkpoint.c)
FUZZ_MODULES  := $(sort $(LOGIC) $(if $(FUZZ_HAVE_CKPT),checkpoint))
FUZZ_TARGETS  := fuzz_job fuzz_wire $(if $(FUZZ_HAVE_CKPT),fuzz_ckpt) fuzz_chunk
FUZZ_LOGIC    := $(addprefix $(FUZZ_BUILD)/obj/,$(addsuffix .o,$(FUZZ_MODULES)))
FUZZ_BINS     := $(addprefix $(FUZZ_BUILD)/,$(FUZZ_TARGETS))
FUZZ_CORPUS   := tests/fuzz/corpus
# libFuzzer's own leak check and ASan's: on; a crash stops the run.
FUZZ_RUN_ENV  := ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
                 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# test-hostile and test-valgrind use the normal build and the SANITIZE=1
# build; with BUILD=DIR on the command line, DIR and DIR/asan.
HOSTILE_PLAIN := $(if $(filter command line,$(origin BUILD)),$(BUILD),build)
HOSTILE_ASAN  := $(if $(filter command line,$(origin BUILD)),$(BUILD)/asan,build/asan)

.PHONY: fuzz fuzz-build fuzz-regress fuzz-seeds test-hostile test-valgrind

# ---- build ----------------------------------------------------------------
fuzz-build: $(FUZZ_BINS)

$(FUZZ_BUILD)/obj/%.o: $(FUZZ_SRC)/%.c Makefile tests/fuzz/fuzz.mk | $(FUZZ_BUILD)/obj
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_BUILD)/obj/fz_%.o: tests/fuzz/%.c Makefile tests/fuzz/fuzz.mk | $(FUZZ_BUILD)/obj
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Werror $(if $(FUZZ_HAVE_CKPT),-DHAVE_CKPT) \
	    -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/obj/fz_fuzz_%.o $(FUZZ_BUILD)/obj/fz_fixture.o $(FUZZ_LOGIC)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer $^ -o $@ $(FUZZ_LIBS)

$(FUZZ_BUILD)/gen_seeds: $(FUZZ_BUILD)/obj/fz_gen_seeds.o $(FUZZ_BUILD)/obj/fz_fixture.o $(FUZZ_LOGIC)
	$(FUZZ_CC) $(FUZZ_SAN) $^ -o $@ $(FUZZ_LIBS)

$(FUZZ_BUILD)/obj:
	mkdir -p $@

# Keep the harness objects make would otherwise delete as intermediates.
.SECONDARY: $(patsubst %,$(FUZZ_BUILD)/obj/fz_%.o,$(FUZZ_TARGETS) fixture gen_seeds)

-include $(wildcard $(FUZZ_BUILD)/obj/*.d)

# ---- run ------------------------------------------------------------------
# Each target runs FUZZ_SECONDS from the kept corpus (read only) plus its
# own work directory; the log is kept in FUZZ_BUILD/<target>.log and its
# last lines are shown on failure.
fuzz: $(FUZZ_BINS)
	@$(if $(FUZZ_HAVE_CKPT),,echo "fuzz: src/checkpoint.c not there yet: fuzz_ckpt not built";) \
	fail=0; for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(FUZZ_BUILD)/work/$$t $(FUZZ_BUILD)/artifacts; \
	    dict=""; [ -f tests/fuzz/$$t.dict ] && dict="-dict=tests/fuzz/$$t.dict"; \
	    echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	    if $(FUZZ_RUN_ENV) $(FUZZ_BUILD)/$$t -max_total_time=$(FUZZ_SECONDS) \
	        -seed=$(FUZZ_SEED) \
	        -timeout=10 -rss_limit_mb=$(FUZZ_RSS_MB) -max_len=$(FUZZ_MAX_LEN) \
	        -print_final_stats=1 $$dict \
	        -artifact_prefix=$(FUZZ_BUILD)/artifacts/$$t- \
	        $(FUZZ_BUILD)/work/$$t $(FUZZ_CORPUS)/$$t \
	        >$(FUZZ_BUILD)/$$t.log 2>&1; then \
	        grep -E '^stat::(number_of_executed_units|new_units_added)' \
	            $(FUZZ_BUILD)/$$t.log | sed "s/^/  $$t /"; \
	    else \
	        fail=1; tail -n 60 $(FUZZ_BUILD)/$$t.log; \
	        echo "FAIL fuzz: $$t (log $(FUZZ_BUILD)/$$t.log; inputs in $(FUZZ_BUILD)/artifacts/)"; \
	    fi; \
	done; exit $$fail

# Every kept input once: seeds and former crashes (a quick regression run).
fuzz-regress: $(FUZZ_BINS)
	@fail=0; for t in $(FUZZ_TARGETS); do \
	    n=$$(ls $(FUZZ_CORPUS)/$$t | wc -l); \
	    if $(FUZZ_RUN_ENV) $(FUZZ_BUILD)/$$t $(FUZZ_CORPUS)/$$t/* \
	        >$(FUZZ_BUILD)/$$t.regress.log 2>&1; then \
	        echo "ok      $$t: $$n inputs"; \
	    else \
	        fail=1; tail -n 40 $(FUZZ_BUILD)/$$t.regress.log; echo "FAIL    $$t"; \
	    fi; \
	done; exit $$fail

# The seed inputs: encoded by h5batch's own encoders (gen_seeds.c), plus
# the job files of jobs/ and tests/bad/cases.  Kept crash inputs stay.
fuzz-seeds: $(FUZZ_BUILD)/gen_seeds
	mkdir -p $(addprefix $(FUZZ_CORPUS)/,fuzz_job fuzz_wire fuzz_ckpt fuzz_chunk)
	$(FUZZ_BUILD)/gen_seeds $(FUZZ_CORPUS)/fuzz_wire $(FUZZ_CORPUS)/fuzz_ckpt \
	    $(FUZZ_CORPUS)/fuzz_chunk
	for f in jobs/*.ini; do cp $$f $(FUZZ_CORPUS)/fuzz_job/job-$$(basename $$f); done
	for d in tests/bad/cases/*/; do [ -f $$d/job.ini ] && \
	    cp $$d/job.ini $(FUZZ_CORPUS)/fuzz_job/bad-$$(basename $$d).ini; done; true

# ---- hostile input and memory checking --------------------------------------
test-hostile:
	$(MAKE) SANITIZE= BUILD=$(HOSTILE_PLAIN) all
	$(MAKE) SANITIZE=1 BUILD=$(HOSTILE_ASAN) all
	@fail=0; \
	$(PYTHON) tests/hostile/run.py --bin $(HOSTILE_PLAIN)/h5batch || fail=1; \
	$(PYTHON) tests/hostile/run.py --bin $(HOSTILE_ASAN)/h5batch --sanitized || fail=1; \
	exit $$fail

test-valgrind:
	$(MAKE) SANITIZE= BUILD=$(HOSTILE_PLAIN) all
	$(PYTHON) tests/valgrind/run.py --bin $(HOSTILE_PLAIN)/h5batch \
	    --gen $(HOSTILE_PLAIN)/h5batch-gen
