# tests/slurm/slurm.mk -- `make test-slurm`: the Slurm scripts on a real
# single-node Slurm (slurm/local-cluster.sh), included by the Makefile.
# Installs what is missing (`make deps`, then slurm-wlm and munge through
# the same recipe), builds `all` and data/demo.h5 (the demo job's input;
# generated once, ~20 s), and runs tests/slurm/run.py, which starts a
# cluster of its own and always stops it.  About 3 minutes.

SLURM_DEB_PKGS := slurm-wlm munge

.PHONY: test-slurm slurm-deps
# all is built after the packages are in, as `make test` does.
test-slurm: deps slurm-deps
	$(MAKE) all data/demo.h5
	timeout 900 $(PYTHON) tests/slurm/run.py --bin $(BUILD)/h5batch --gen $(BUILD)/h5batch-gen

# The Makefile's deps recipe, for Slurm's packages.
slurm-deps:
	@$(MAKE) --no-print-directory deps DEB_PKGS="$(SLURM_DEB_PKGS)"
