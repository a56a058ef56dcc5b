# Every target creates or refreshes .venv itself, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
EXTRAS ?= test,flytekit,flyte,fsspec,docs

.PHONY: venv sdk-envs test test-full test-matrix serve bench bench-quick lint docs docs-serve clean image image-test constraints-image

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[$(EXTRAS)]'
	touch $(STAMP)

venv: $(STAMP)

## make sdk-envs: .venvs/flytekit-1.11 (the declared floor), -1.13 and -1.15 (old SDKs beside the project, for the interop tests).
sdk-envs: $(STAMP)
	$(PY) -m tests.sdkenv

## make test: the whole suite, fast hypothesis profile (CI runs exactly this): first at the lowest declared
## versions (constraints/lowest.txt, its own venv, this venv's Python), then in .venv at the newest.
test: $(STAMP) sdk-envs
	$(PYTHON) .ci/matrix.py --no-record --sets lowest --pythons $$($(PY) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
	$(PY) -m pytest -q -p no:cacheprovider
	$(MAKE) image-test

## make test-matrix: the suite per installed Python x {lowest, newest} dependencies, plus the translators
## under pure-Python protobuf; writes the matrix table in docs/compatibility.md (slow: about an hour here).
test-matrix:
	$(PYTHON) .ci/matrix.py $(if $(PYTHONS),--pythons $(PYTHONS),) $(if $(SETS),--sets $(SETS),)

## make test-full: the long profiles (more hypothesis examples, longer soak).
test-full: $(STAMP)
	FULL=1 $(PY) -m pytest -q -p no:cacheprovider

## make serve: the bridge on :8000 (gRPC, both generations) and :9090 (Prometheus), built-in connectors.
## Flags go in ARGS: make serve ARGS="--prometheus_port 9091 --modules my_connector".
serve: $(STAMP)
	$(VENV)/bin/flyte-bridge serve $(ARGS)

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

## make image: the container image (deploy/Containerfile) with podman, installed from Debian's packages
## when missing. IMAGE, BASE (an image, or `local` for one made here from Debian's packages: registries
## unreachable), EXTRAS and PLUGINS (build arguments; EXTRAS only on make's command line, since the venv
## targets read an EXTRAS from the environment) may be set:
##   make image BASE=local EXTRAS=flytekit,flyte PLUGINS="flyteplugins-snowflake"
IMAGE  ?= localhost/flyte-connector-bridge:0.1.0
BASE   ?=
IMAGE_EXTRAS ?= $(if $(filter command line,$(origin EXTRAS)),$(EXTRAS),)
PLUGINS ?=
image:
	$(PYTHON) deploy/image.py --tag $(IMAGE) $(if $(BASE),--base $(BASE),) --extras '$(IMAGE_EXTRAS)' --plugins '$(PLUGINS)'

## make image-test: build the image on a local Debian base (with both SDK extras), run it and check it from
## the host (tests/deploy/test_image.py; skipped with the reason when podman cannot be installed or run).
## Writes deploy/IMAGE-FIGURES.md (size, time from `podman run` to SERVING).
image-test: $(STAMP)
	BRIDGE_IMAGE_TEST=1 $(PY) -m pytest -q -p no:cacheprovider tests/deploy/test_image.py

## make constraints-image: constraints/image.txt (the image's pins) from the versions .venv resolved.
constraints-image: $(STAMP)
	{ sed -n '/^#/p' constraints/image.txt; $(PY) -m pip freeze --exclude-editable --disable-pip-version-check | grep -v -i -E '^(py-spy)=='; } > constraints/image.txt.new
	mv constraints/image.txt.new constraints/image.txt

lint: $(STAMP)
	$(VENV)/bin/lint-imports

## make docs: the documentation site in site/ (MkDocs, strict: a broken link, anchor or API reference fails).
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --clean

## make docs-serve: the same site on http://127.0.0.1:8001, rebuilt on every change.
docs-serve: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs serve --dev-addr 127.0.0.1:8001

clean:
	rm -rf $(VENV) .venvs build site *.egg-info
