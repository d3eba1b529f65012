# One entry point for people and CI. Every target installs what it needs, pinned by constraints.txt
# with sha256 hashes (installs require them); the virtualenv is rebuilt only when the lock changes.
SHELL := /bin/bash
PYTHON ?= python3.11
UV_VERSION := 0.13.9
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum constraints.txt pyproject.toml requirements-uv.txt | sha1sum | cut -c1-12)
UV_STAMP := $(VENV)/.uv-$(UV_VERSION)

.PHONY: help install lint format dist test test-unit test-dev test-model test-dags test-integration test-e2e chromium test-package test-distributed soak demo bench bench-quick bench-distributed lock lock-uv clean

help:  ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{ printf "%-18s %s\n", $$1, $$2 }'

# The pinned uv alone, in .venv, checked against the hashes in requirements-uv.txt: enough for
# `make lock`, which must work before anything is installed.
$(UV_STAMP): requirements-uv.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@grep -q '^uv==$(UV_VERSION) ' requirements-uv.txt || { echo "requirements-uv.txt does not pin uv $(UV_VERSION): run make lock-uv"; exit 1; }
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements-uv.txt
	rm -f $(VENV)/.uv-*
	touch $@

# uv is order-only: installing it (or a new UV_VERSION) does not make the environment stale.
# Every distribution is checked against its hash; the project itself is built with the locked
# setuptools already installed (no build isolation, so no unpinned build backend is fetched).
# Bytecode is compiled at install, as pip and the Astro image do: uv does not by default, and with
# PYTHONDONTWRITEBYTECODE set every Airflow process then compiled Airflow again (7-8 CPU-s to import
# airflow.sdk against 3.4 with .pyc files; docs/benchmarks.md, benchmark 6).
$(STAMP): constraints.txt requirements.txt requirements-dev.txt pyproject.toml | $(UV_STAMP)
	$(BIN)/uv pip install --quiet --python $(BIN)/python --require-hashes --compile-bytecode -r constraints.txt
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps --no-build-isolation -e .
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)  ## create .venv with the pinned dependencies

# The distribution any Airflow 3.3 installs (docs/installing.md): built from the sdist, with the locked
# setuptools (no build isolation, so no unpinned build backend is fetched).
dist: install  ## build the sdist and the wheel into dist/
	rm -rf dist
	$(BIN)/uv build --quiet --python $(BIN)/python --no-build-isolation --out-dir dist
	@ls dist

lint: install  ## ruff check and format check; mypy --strict on include/, tests/, dev/ and bench/
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install  ## apply ruff's formatting and safe fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint chromium  ## lint, then every test layer: unit, dev, dags, integration, end to end, distributed, package
	$(BIN)/pytest

test-unit: install  ## unit tests only: one module each, the HTTP transport scripted
	$(BIN)/pytest -m unit

test-dev: install  ## tests of the local Auth0 tenant emulator and webhook sink in dev/
	$(BIN)/pytest -m dev

test-model: install  ## the checkpoint invariant: a hypothesis state machine over the real steps (1,000 examples)
	$(BIN)/pytest -m model

soak: install  ## the model test with 100,000 seeded examples (SOAK_EXAMPLES, SOAK_SEED to change); about an hour
	MODEL_EXAMPLES=$${SOAK_EXAMPLES:-100000} MODEL_RANDOM=1 $(BIN)/pytest -m model -p no:cacheprovider \
		--hypothesis-seed=$${SOAK_SEED:-20261126} --hypothesis-show-statistics

test-integration: install  ## the pipeline over real HTTP against the emulator and sink
	$(BIN)/pytest -m integration

test-dags: install  ## the real DAGs in process with dag.test() against the emulator and sink
	$(BIN)/pytest -m dag

# The browser tests drive Debian's Chromium with Playwright; install it when it is missing.
chromium:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

test-e2e: install chromium  ## a real airflow standalone: DAG runs, backfill, crashes, secret scan, the UI in Chromium
	$(BIN)/pytest -m e2e

test-package: install  ## the built wheel in a new venv with only Airflow: providers list, a DAG run, the health page
	$(BIN)/pytest -m package

test-distributed: install  ## the real DAGs on PostgreSQL, Celery (2 workers on Redis) and S3 (moto)
	$(BIN)/pytest -m distributed

demo: install  ## run the main DAG end to end against the local emulator and sink
	$(BIN)/python -m dev.demo $(ARGS)

bench: install  ## every benchmark, full form (over an hour); ARGS='--only NAME' for one; prints numbers, verdicts, a summary
	$(BIN)/python -m bench $(ARGS)

bench-quick: install  ## every default benchmark's headline, smaller sizes and shorter windows (target: under 5 minutes)
	$(BIN)/python -m bench --quick $(ARGS)

bench-distributed: install  ## one run of 1,000,000 logs on PostgreSQL + Celery + S3; prints its numbers
	$(BIN)/python -m bench --only distributed

lock: $(UV_STAMP)  ## re-resolve constraints.txt (with hashes) from requirements-dev.txt
	$(BIN)/uv pip compile --python-version 3.11 --no-header --generate-hashes requirements-dev.txt -o constraints.txt

lock-uv:  ## pin uv $(UV_VERSION) by hash in requirements-uv.txt (after changing UV_VERSION)
	echo "uv==$(UV_VERSION)" | $(or $(wildcard $(BIN)/uv),uv) pip compile --no-header --generate-hashes - -o requirements-uv.txt

clean:  ## remove .venv, the pytest and ruff caches and .demo
	rm -rf $(VENV) .pytest_cache .ruff_cache .demo
