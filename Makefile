# Every target creates or refreshes .venv itself, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
EXTRAS ?= test,flytekit,flyte,fsspec

.PHONY: venv test test-full serve bench bench-quick lint clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[$(EXTRAS)]'
	touch $(STAMP)

venv: $(STAMP)

## make test: the whole suite, fast hypothesis profile (CI runs exactly this).
test: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider

## make test-full: the long profiles (more hypothesis examples, longer soak).
test-full: $(STAMP)
	FULL=1 $(PY) -m pytest -q -p no:cacheprovider

## make serve: the bridge on :8000 (gRPC, both generations) and :9090 (Prometheus), built-in connectors.
serve: $(STAMP)
	$(VENV)/bin/flyte-bridge serve

## make bench: benchmarks/RESULTS.md (QUICK=1 for a smoke run); the endurance figure alone:
## `$(PY) -m benchmarks --figure endurance [--endurance-calls N]`.
bench: $(STAMP)
	$(PY) -m benchmarks $(if $(QUICK),--quick,)

bench-quick:
	$(MAKE) bench QUICK=1

lint: $(STAMP)
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) build *.egg-info
