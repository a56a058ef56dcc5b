# Every target creates or refreshes .venv itself, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
EXTRAS ?= test,flytekit,flyte,fsspec

.PHONY: venv sdk-envs test test-full test-matrix serve bench bench-quick lint clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[$(EXTRAS)]'
	touch $(STAMP)

venv: $(STAMP)

## make sdk-envs: .venvs/flytekit-1.13 and -1.15 (old SDKs beside the project, for the interop tests).
sdk-envs: $(STAMP)
	$(PY) -m tests.sdkenv

## make test: the whole suite, fast hypothesis profile (CI runs exactly this): first at the lowest declared
## versions (constraints/lowest.txt, its own venv, this venv's Python), then in .venv at the newest.
test: $(STAMP) sdk-envs
	$(PYTHON) .ci/matrix.py --no-record --sets lowest --pythons $$($(PY) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
	$(PY) -m pytest -q -p no:cacheprovider

## make test-matrix: the suite per installed Python x {lowest, newest} dependencies, plus the translators
## under pure-Python protobuf; writes the README's matrix table (slow: about an hour here).
test-matrix:
	$(PYTHON) .ci/matrix.py $(if $(PYTHONS),--pythons $(PYTHONS),) $(if $(SETS),--sets $(SETS),)

## make test-full: the long profiles (more hypothesis examples, longer soak).
test-full: $(STAMP)
	FULL=1 $(PY) -m pytest -q -p no:cacheprovider

## make serve: the bridge on :8000 (gRPC, both generations) and :9090 (Prometheus), built-in connectors.
serve: $(STAMP)
	$(VENV)/bin/flyte-bridge serve

BENCH_STAMP := $(VENV)/.bench-stamp

## The bench extra (matplotlib, for benchmarks/plots); not part of the core or test installs.
$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install -q -e '.[$(EXTRAS),bench]'
	touch $(BENCH_STAMP)

## make bench: benchmarks/RESULTS.md and benchmarks/plots/*.svg (QUICK=1 for a smoke run); one figure alone,
## merged into the last results: `make bench FIGURE=waiting` (endurance, gateway, real-io, waiting, payload,
## jitter), or `$(PY) -m benchmarks --figure endurance [--endurance-calls N]`.
bench: $(BENCH_STAMP)
	$(PY) -m benchmarks $(if $(QUICK),--quick,) $(if $(FIGURE),--figure $(FIGURE),)

bench-quick:
	$(MAKE) bench QUICK=1

lint: $(STAMP)
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) .venvs build *.egg-info
