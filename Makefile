# playout: `make demo` and `make test` are the only set-up a newcomer needs.
# Everything they use is installed into the work tree (.venv, .tools), never system-wide,
# except ffmpeg, which comes from the distribution's packages.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
KUBECONFIG_LOCAL := $(CURDIR)/.cluster/kubeconfig
TOOLS := $(CURDIR)/.tools/bin
export PATH := $(TOOLS):$(PATH)

.PHONY: help
help: ## Show the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

# --- Python ----------------------------------------------------------------------------

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	  || { echo "playout needs Python 3.11 or newer (found $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

.PHONY: deps
deps: $(STAMP) ## Install the Python dependencies into .venv

# What the distribution provides: installed with apt-get when root, otherwise a clear
# instruction. $(1): the commands needed, $(2): the packages, $(3): what for.
define apt_install
	@if command -v $(firstword $(1)) >/dev/null && command -v $(lastword $(1)) >/dev/null; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "Installing $(2) from Debian's packages..."; \
	  apt-get update -q >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(2) >/dev/null; \
	else \
	  echo "$(3) need $(2): install it (Debian/Ubuntu: sudo apt-get install $(2))"; \
	  exit 1; \
	fi
endef

# ffmpeg and ffprobe: Debian's build has every filter the engines use.
.PHONY: system-deps
system-deps: ## Install ffmpeg/ffprobe from the distribution if missing
	$(call apt_install,ffmpeg ffprobe,ffmpeg,The streamer and prober)

# The local real node (hack/node.py): Debian's containerd, runc, CNI plugins and iptables,
# and buildah and debootstrap to build the images without Docker. It needs root; elsewhere
# the real-node tier is skipped and says why.
NODE_PACKAGES := containerd runc containernetworking-plugins iptables buildah debootstrap
.PHONY: node-deps
node-deps: ## Install what a real local node needs, if root on Debian/Ubuntu
	@if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then \
	  echo "No real node on this machine (it needs root and apt-get): pods will run on kwok nodes only."; \
	  exit 0; \
	fi; \
	missing=$$(for p in $(NODE_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "Installing" $$missing "from Debian's packages..."; \
	  apt-get update -q >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing >/dev/null; \
	fi

# The XMLTV DTD that the guide tests validate against: Debian ships it in libxmltv-perl
# (with its dependencies about 30 packages, 18 MB; xmltv-util, the other package that has
# it, pulls in over 100). Where this cannot install it, the guide tests say what to install.
DTD_PACKAGE := libxmltv-perl
.PHONY: guide-deps
guide-deps: ## Install the XMLTV DTD for the guide tests, if root on Debian/Ubuntu
	@if dpkg -s $(DTD_PACKAGE) >/dev/null 2>&1; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then \
	  echo "The guide tests need the XMLTV DTD: install $(DTD_PACKAGE) (Debian/Ubuntu: sudo apt-get install --no-install-recommends $(DTD_PACKAGE))"; \
	  exit 0; \
	fi; \
	echo "Installing $(DTD_PACKAGE) (the XMLTV DTD) from Debian's packages..."; \
	apt-get update -q >/dev/null && \
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(DTD_PACKAGE) >/dev/null

# The web player's hls.js comes from the npm registry at the version package-lock.json pins.
PLAYER_JS := operator/playout/streamer/static/hls.min.js
$(PLAYER_JS): hack/player/package.json hack/player/package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed for the web player's hls.js (Debian: apt-get install npm)"; exit 1; }
	cd hack/player && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	cp hack/player/node_modules/hls.js/dist/hls.min.js $@

.PHONY: player-assets
player-assets: $(PLAYER_JS) ## Install the web player's hls.js

# Debian's Chromium, for the browser tier (hls.js playing the live stream).
.PHONY: browser-deps
browser-deps:
	$(call apt_install,chromium,chromium,The browser tests)

# --- quality ---------------------------------------------------------------------------

.PHONY: lint
lint: $(STAMP) ## ruff, mypy --strict (the package and hack/) and the CRD drift check
	$(BIN)/ruff check operator tests hack bench
	$(BIN)/ruff format --check operator tests hack bench
	$(BIN)/mypy
	$(BIN)/mypy --strict hack
	$(BIN)/playout crds --output-dir crds --check
	$(BIN)/playout crds --chart --output-dir charts/playout/templates/crds --check

.PHONY: crds
crds: $(STAMP) ## Regenerate crds/ and the chart's CRD templates from the API models
	$(BIN)/playout crds --output-dir crds
	$(BIN)/playout crds --chart --output-dir charts/playout/templates/crds

.PHONY: unit
unit: $(STAMP) ## Unit tests (pure code, no cluster, no ffmpeg)
	$(BIN)/pytest tests/unit

.PHONY: test
test: lint system-deps browser-deps node-deps guide-deps player-assets tools ## Everything: lint, type checks and every test tier
	$(BIN)/pytest tests

# For users with Docker: a kind cluster, the images built and loaded, then the real-node
# tier (which installs the chart). KEEP=1 keeps the cluster. Not run where there is no Docker.
.PHONY: e2e-kind
e2e-kind: $(STAMP) system-deps player-assets ## The real-node tests on a kind cluster (needs Docker)
	hack/kind.sh

# Debian's nginx and wrk, for the HLS serving benchmark (nginx is its baseline, wrk its
# saturating load).
.PHONY: bench-deps
bench-deps: ## Install nginx and wrk for the serving benchmark
	$(call apt_install,nginx wrk,nginx wrk,The serving benchmark)

# The operator benchmark starts (or reuses) the local cluster, as the e2e tier does.
BENCHES := timeline streamer serving prober library renditions images soak operator
.PHONY: bench
bench: $(STAMP) system-deps node-deps bench-deps ## Benchmarks (ratios against a baseline measured in the same run)
	for name in $(BENCHES); do echo "== bench/$$name.py"; $(BIN)/python -m bench.$$name; echo; done

# --- local cluster ---------------------------------------------------------------------

.PHONY: tools
tools: ## Build kube-apiserver, etcd, kwok, kubectl, helm... into .tools (cached)
	hack/tools.sh

# `kubectl playout`: kubectl runs plugins it finds on PATH by name, and every target here
# has the tools directory on PATH (so has make demo's kubectl). Not part of `make tools`,
# which runs before any virtualenv exists; by hand: put .venv/bin/kubectl-playout on PATH.
.PHONY: kubectl-plugin
kubectl-plugin: $(STAMP) ## Install `kubectl playout` (the kubectl plugin) into .tools/bin
	mkdir -p $(TOOLS)
	ln -sf $(CURDIR)/$(BIN)/kubectl-playout $(TOOLS)/kubectl-playout

.PHONY: cluster-up
cluster-up: tools ## Start the local control plane (etcd, apiserver, controllers, kwok)
	$(PYTHON) hack/cluster.py up

.PHONY: cluster-down
cluster-down: ## Stop the local control plane (and its real node) and remove its state
	$(PYTHON) hack/cluster.py down

.PHONY: images
images: player-assets ## Build the streamer, prober and operator images (docker, or buildah)
	hack/images.sh

.PHONY: operator
operator: $(STAMP) ## Run the operator on this machine against the local cluster
	KUBECONFIG=$(KUBECONFIG_LOCAL) $(BIN)/playout operator

# --- demo ------------------------------------------------------------------------------

.PHONY: demo
demo: $(STAMP) system-deps node-deps player-assets cluster-up kubectl-plugin ## Local cluster (a real node where possible), the operator, a sample Channel and ProbeJob
	KUBECONFIG=$(KUBECONFIG_LOCAL) $(BIN)/python hack/demo.py up

.PHONY: demo-down
demo-down: ## Remove everything `make demo` made
	-KUBECONFIG=$(KUBECONFIG_LOCAL) $(BIN)/python hack/demo.py down
	$(PYTHON) hack/cluster.py down

.PHONY: clean
clean: ## Remove the virtualenv and caches (keeps the built tools)
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
