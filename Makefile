# One entry point for humans. `make demo` and `make test` are the two that matter.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install demo test lint synth bench openapi samples clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[cli,infra,dev]"
	touch $@

demo: install ## ingest the bundled sample files on the embedded local AWS and print what happened
	$(VENV)/bin/saiken demo

test: install ## unit, integration (moto), infra (CDK + cdk-nag + cfn-lint), e2e (local stack)
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

synth: install ## synthesize the CDK app into cdk.out (builds the layer with pip, no Docker)
	$(PY) infra/app.py

bench: install ## intake throughput vs a bare csv.reader, handler import times
	$(PY) bench/run.py

openapi: install ## regenerate docs/openapi.json from the API's routes and models
	$(PY) scripts/export_openapi.py

samples: install ## regenerate the sample files in samples/
	$(PY) scripts/make_samples.py

clean:
	rm -rf cdk.out build demo-output .pytest_cache .mypy_cache .ruff_cache
