# tests/multinode/multinode.mk -- `make test-multinode`: h5batch on a
# 2-node Slurm on this machine (slurm/local-cluster.sh start --nodes 2:
# network and UTS namespaces joined by a bridge), included by the Makefile.
# Needs root (ip netns).  Installs what is missing (`make deps`, then
# Slurm's packages through test-slurm's recipe, iproute2 and util-linux), builds `all` and
# data/demo.h5, and runs tests/multinode/run.py, which starts a cluster of
# its own on port 6837 (test-slurm's is 6817, so both can run at once) and
# always stops it.  About 4 minutes.

MULTINODE_DEB_PKGS := iproute2 util-linux
# MULTINODE_ARGS=--all-cases: every case of the layout, multi, table, CF
# and tile families on 2 nodes (off against all), about 10 minutes more
# (with MULTINODE_TIMEOUT=1800).
MULTINODE_ARGS    ?=
MULTINODE_TIMEOUT ?= 900

.PHONY: test-multinode multinode-deps
test-multinode: deps slurm-deps multinode-deps
	$(MAKE) all data/demo.h5
	timeout $(MULTINODE_TIMEOUT) $(PYTHON) tests/multinode/run.py --bin $(BUILD)/h5batch \
	    --gen $(BUILD)/h5batch-gen $(MULTINODE_ARGS)

# ip (iproute2), nsenter, unshare and mountpoint (util-linux).
multinode-deps:
	@$(MAKE) --no-print-directory deps DEB_PKGS="$(MULTINODE_DEB_PKGS)"
