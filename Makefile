# Two entry points for a fresh machine: `make bench` and `make test`.
# Each creates .venv and installs what it needs the first time, then runs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# torch/torchvision are pinned here (not in pyproject) so pip takes the builds on local disk
# instead of resolving the newest release with gigabytes of CUDA wheels.
TORCH_PINS ?= torch==2.14.1 torchvision==0.29.1
DEMO_N ?= 2000
DEMO_CLASSES ?= 10

.PHONY: test test-lowest bench bench-suite lint install-dev install-bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-dev: pyproject.toml | $(PY)
	$(PY) -m pip install -q $(TORCH_PINS)
	$(PY) -m pip install -q -e '.[dev]' $(TORCH_PINS)
	touch $@

$(VENV)/.installed-bench: pyproject.toml | $(PY)
	$(PY) -m pip install -q $(TORCH_PINS)
	$(PY) -m pip install -q -e '.[bench]' $(TORCH_PINS)
	touch $@

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
