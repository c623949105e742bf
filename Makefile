# Polyglot TensorFlow model interchange: train in Python, serve from Go and Java, prove parity.
#
#   make all    set up what is missing, train and export, build both consumers, parity table
#   make test   the pytest suite (sets up, trains and builds first)
#   make check MODELS=DIR   the parity table for your own models (python -m python_producer import)
#   make help   list the targets
#
# Re-running is incremental: the venv, the models and both builds are only redone when their
# inputs change.  One TensorFlow runtime for all three languages: 2.21.0.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := all
.DELETE_ON_ERROR:

PYTHON ?= python3
VENV := $(CURDIR)/.venv
PY := $(VENV)/bin/python
STAMPS := .stamps
MODELS := models

.PHONY: all setup models build go java floor bench parity check test test-fast test-python test-go test-java lint \
	clean distclean help

all: setup models build parity ## set up, train and export, build Go and Java, print the parity table

setup: $(STAMPS)/venv ## create .venv with tensorflow-cpu 2.21.0, numpy, pytest, grpcio-tools, tensorflow-serving-api

# tensorflow-serving-api (the client and protocol of go_consumer serve's gRPC API) requires the
# full tensorflow package, which tensorflow-cpu already is: installed without its dependencies
# (grpcio and protobuf come with grpcio-tools).
$(STAMPS)/venv: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps tensorflow-serving-api==2.21.0
	@mkdir -p $(STAMPS) && touch $@

# The model zoo: every module of python_producer/producer/models/ is one model, trained and exported as
# a new version (python_producer.producer.models.ZOO reads the same folder).
ZOO := $(sort $(basename $(notdir $(filter-out %/__init__.py,$(wildcard python_producer/producer/models/*.py)))))
# What every export depends on besides the model's own module.
EXPORT_SOURCES := python_producer/tf_runtime.py python_producer/producer/export.py \
	python_producer/producer/models/__init__.py \
	$(addprefix python_producer/reference/,version_writer.py tfjson.py predictor.py model_dir.py)

models: $(ZOO:%=$(MODELS)/.%.stamp) ## train every model of the zoo and export new versions under models/

# The stamps live inside models/, so deleting models/ retrains.
$(MODELS)/.%.stamp: python_producer/producer/models/%.py $(EXPORT_SOURCES) $(STAMPS)/venv
	@start=$$(date +%s); \
	$(PY) -m python_producer train $* --models $(MODELS); \
	echo "trained $* in $$(( $$(date +%s) - start )) s"
	@touch $@

# affine's export also uses the training helpers (its manifest's training section, checkpoints).
$(MODELS)/.affine.stamp: python_producer/reference/training.py

build: go java ## build go_consumer/bin/go_consumer and java_consumer/bin/java_consumer

go: $(STAMPS)/venv ## build the Go consumer (links the C library of the installed wheel)
	$(MAKE) -C go_consumer VENV=$(VENV)

java: ## build the Java consumer (TensorFlow Java native 1.2.0 = TF 2.21.0, from Maven Central)
	$(MAKE) -C java_consumer

floor: go ## build bench/floor/bin/floor, the C loop over TF_SessionRun (links go_consumer/lib)
	$(MAKE) -C bench/floor VENV=$(VENV)

bench: setup models build floor ## time every runtime side by side (bench/results.{json,md}, latency.png), soak each consumer's memory (bench/memory.{json,md}), load-test go_consumer serve against a Python server (bench/loadtest.{json,md})
	$(PY) -m tests.harness.bench --models $(MODELS) --out bench
	$(PY) -m tests.harness.memory --models $(MODELS) --out bench
	$(PY) -m tests.harness.loadtest --models $(MODELS) --out bench

parity: $(STAMPS)/venv ## every golden request through every language and format, then train in each
	$(PY) -m tests.harness.parity --models $(MODELS) --tolerances tests/tolerances.json --latest
	$(PY) -m tests.harness.training --models $(MODELS)

# The cross-language check on any model folder (what a team puts in its CI): every version and
# signature under MODELS through every language and format; MODELS/tolerances.json, if there,
# grants per-cell tolerances.  make check MODELS=path/to/models
check: setup build ## parity table of every version under MODELS=DIR (yours: python -m python_producer import), non-zero on any difference
	$(PY) -m tests.harness.parity --models $(MODELS)

test: setup models build floor test-go test-java ## go test, JUnit 5, then the pytest suite (all languages)
	$(PY) -m pytest tests

# The edit-run loop: the pytest suite without the tests marked slow (servers, load test, training
# runs, killed exports), optionally for some consumers only: make test-fast CONSUMERS=go
# (the reference consumer still answers where others are compared with it).
CONSUMERS ?=
test-fast: setup models build ## pytest without the slow tests, in a couple of minutes; CONSUMERS=go,java to pick
	TEST_CONSUMERS='$(CONSUMERS)' $(PY) -m pytest -m 'not slow' tests

test-go: go models ## go vet and go test of the Go consumer
	$(MAKE) -C go_consumer VENV=$(VENV) test

test-java: java models ## JUnit 5 tests of the Java consumer, and its public API's Javadoc (no warning)
	$(MAKE) -C java_consumer test javadoc

lint: $(STAMPS)/venv ## ruff (check and format) and gofmt
	$(VENV)/bin/ruff check python_producer tests
	$(VENV)/bin/ruff format --check python_producer tests
	@test -z "$$(gofmt -l go_consumer examples)" || { gofmt -l go_consumer examples; exit 1; }

clean: ## remove build outputs (keeps the venv and the models)
	$(MAKE) -C go_consumer clean
	$(MAKE) -C java_consumer clean

distclean: clean ## also remove the venv, the stamps and every exported model
	rm -rf $(VENV) $(STAMPS) $(MODELS)/*/ $(MODELS)/.*.stamp

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 12
