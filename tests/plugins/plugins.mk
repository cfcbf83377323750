# tests/plugins/plugins.mk -- operator plugins: the examples and their tests,
# pulled in by the top-level Makefile (-include).
#
#   make plugins        build the example plugins (jobs/plugins/*.c) and the
#                       test-only ones (tests/plugins/*.c) into
#                       build/plugins/lib<name>.so, and print the flags
#   make plugin-check   the same plugins built with ASan/UBSan plus
#                       plugin_check, a driver that loads a plugin without
#                       h5batch (build/plugins/check/)
#   make test-plugins   tests/plugins/run.py: plugin_check against numpy,
#                       then real h5batch runs on 0-4 ranks, failure cases
#                       and an out-of-tree build against `make install`
#
# A plugin needs nothing but include/h5batch/operator.h: it is built with
# the host compiler, not mpicc, and links no library of ours.

# ---- settings -------------------------------------------------------------
PLUGIN_CC      ?= $(or $(HOSTCC),cc)
PLUGIN_DIR     ?= build/plugins
PLUGIN_CFLAGS  := -std=c11 -O2 -g -Wall -Wextra -Werror -fPIC -Iinclude
PLUGIN_LDFLAGS := -shared
PLUGIN_LIBS    := -lm
PLUGIN_SAN     := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
                  -fno-sanitize-recover=undefined

EXAMPLE_PLUGINS := exceed argext
TEST_PLUGINS    := zeros bad_abi no_symbol fails
ALL_PLUGINS     := $(EXAMPLE_PLUGINS) $(TEST_PLUGINS)
PLUGIN_LIBS_SO  := $(addprefix $(PLUGIN_DIR)/lib,$(addsuffix .so,$(ALL_PLUGINS)))
CHECK_LIBS_SO   := $(addprefix $(PLUGIN_DIR)/check/lib,$(addsuffix .so,$(ALL_PLUGINS)))
PLUGIN_DEPS     := include/h5batch/operator.h tests/plugins/plugins.mk

.PHONY: plugins plugin-check test-plugins

# ---- build ----------------------------------------------------------------
plugins: $(PLUGIN_LIBS_SO)
	@echo "plugin flags: $(PLUGIN_CC) $(PLUGIN_CFLAGS) $(PLUGIN_LDFLAGS) NAME.c -o libNAME.so $(PLUGIN_LIBS)"

$(PLUGIN_DIR)/lib%.so: jobs/plugins/%.c $(PLUGIN_DEPS) | $(PLUGIN_DIR)
	$(PLUGIN_CC) $(PLUGIN_CFLAGS) $(PLUGIN_LDFLAGS) $< -o $@ $(PLUGIN_LIBS)

$(PLUGIN_DIR)/lib%.so: tests/plugins/%.c tests/plugins/stub.h $(PLUGIN_DEPS) | $(PLUGIN_DIR)
	$(PLUGIN_CC) $(PLUGIN_CFLAGS) $(PLUGIN_LDFLAGS) $< -o $@ $(PLUGIN_LIBS)

plugin-check: $(CHECK_LIBS_SO) $(PLUGIN_DIR)/check/plugin_check

$(PLUGIN_DIR)/check/lib%.so: jobs/plugins/%.c $(PLUGIN_DEPS) | $(PLUGIN_DIR)/check
	$(PLUGIN_CC) $(PLUGIN_CFLAGS) $(WARN) $(PLUGIN_SAN) $(PLUGIN_LDFLAGS) $< -o $@ $(PLUGIN_LIBS)

$(PLUGIN_DIR)/check/lib%.so: tests/plugins/%.c tests/plugins/stub.h $(PLUGIN_DEPS) | $(PLUGIN_DIR)/check
	$(PLUGIN_CC) $(PLUGIN_CFLAGS) $(WARN) $(PLUGIN_SAN) $(PLUGIN_LDFLAGS) $< -o $@ $(PLUGIN_LIBS)

$(PLUGIN_DIR)/check/plugin_check: tests/plugins/plugin_check.c $(PLUGIN_DEPS) | $(PLUGIN_DIR)/check
	$(PLUGIN_CC) $(CSTD) $(WARN) $(PLUGIN_SAN) -Iinclude $< -o $@ -ldl

$(PLUGIN_DIR) $(PLUGIN_DIR)/check:
	mkdir -p $@

# ---- tests ----------------------------------------------------------------
test-plugins: all plugins plugin-check
	$(PYTHON) tests/plugins/run.py --bin $(BUILD)/h5batch \
	    --gen $(BUILD)/h5batch-gen --plugins $(PLUGIN_DIR) $(PLUGIN_ARGS)
