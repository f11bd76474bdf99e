# Two entry points for a fresh machine: `make bench` and `make test`.
# Each creates .venv and installs what it needs the first time, then runs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# torch/torchvision are pinned here (not in pyproject) so pip takes the builds on local disk
# instead of resolving the newest release with gigabytes of CUDA wheels.
TORCH_PINS ?= torch==2.14.1 torchvision==0.29.1
# The DALI wheel, as an extra of pyproject (docs/install.md): cuda12 (nvidia-dali-cuda120, the
# project's named dependency) or cuda13 (nvidia-dali-cuda130, driver >= 580), e.g.
# `make test DALI_EXTRA=cuda13` in a fresh .venv.
DALI_EXTRA ?= cuda12
DEMO_N ?= 2000
DEMO_CLASSES ?= 10

.PHONY: test test-lowest bench bench-suite lint install-dev install-bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# What the first install takes, said before it starts (pip runs quietly): measured on a fresh
# .venv, 2.5-3.5 min on 2 cores with pip's cache warm (downloads add to it), 7 GB with [dev].
FIRST_INSTALL_TIME ?= about 3 minutes
FIRST_INSTALL_SIZE ?= about 7 GB
DEV_EXTRAS := dev,$(DALI_EXTRA)
BENCH_EXTRAS := bench,$(DALI_EXTRA)
DEV_WHAT := torch, torchvision, NVIDIA DALI ([$(DALI_EXTRA)]), the test, lint and audio tools
BENCH_WHAT := torch, torchvision, NVIDIA DALI ([$(DALI_EXTRA)]), matplotlib and scikit-image

# $(call pip_install,EXTRAS,WHAT): torch first (the pinned builds), then the package with EXTRAS;
# one line before (what, how long) and one after (how long it took). Up to date: nothing runs.
define pip_install
	@if [ -e $(VENV)/.installed-dev ] || [ -e $(VENV)/.installed-bench ]; then \
		echo "updating $(VENV) for [$(1)] (pyproject.toml changed or a new extra): usually under a minute"; \
	else \
		echo "first run: installing $(2) into $(VENV): $(FIRST_INSTALL_TIME), $(FIRST_INSTALL_SIZE) on disk (pip is quiet; later runs skip this)"; \
	fi
	@start=$$(date +%s); \
		$(PY) -m pip install -q $(TORCH_PINS) && \
		$(PY) -m pip install -q -e '.[$(1)]' $(TORCH_PINS) && \
		echo "installed in $$(( $$(date +%s) - start )) s"
	@touch $@
endef

$(VENV)/.installed-dev: pyproject.toml | $(PY)
	$(call pip_install,$(DEV_EXTRAS),$(DEV_WHAT))

$(VENV)/.installed-bench: pyproject.toml | $(PY)
	$(call pip_install,$(BENCH_EXTRAS),$(BENCH_WHAT))

install-dev: $(VENV)/.installed-dev
install-bench: $(VENV)/.installed-bench

lint: install-dev
	$(VENV)/bin/ruff check dali_pipelines tests benchmarks
	$(VENV)/bin/ruff format --check dali_pipelines tests benchmarks
	$(VENV)/bin/mypy dali_pipelines

test: install-dev lint
	$(PY) -m pytest -q -n auto --dist loadscope

# The spec/contract tests at the lowest versions pyproject.toml allows, in .cache/lowest-venv
# (torch/torchvision/DALI shared from $(VENV)): a floor set too low fails here.
test-lowest: install-dev
	VENV=$(VENV) scripts/lowest-deps.sh

bench: install-bench
	$(VENV)/bin/dali-pipelines bench --n $(DEMO_N) --classes $(DEMO_CLASSES) \
		--json out/bench.json --markdown out/bench.md --plot out/bench.png

bench-suite: install-dev
	$(PY) -m pytest benchmarks --benchmark-only --benchmark-autosave

clean:
	rm -rf $(VENV) .cache out .pytest_cache .benchmarks
