# kbz_eval — `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
CONFIG ?= kbz.toml
OUT    ?= reports/sample
PYTEST_ARGS ?=
TEST_WORKERS ?= 2   # pytest-xdist processes; a test file stays in one process

.PHONY: help install sample report test test-fast bench docs lint clean

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*## "}; {printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "kbz_eval needs Python >= 3.11; set PYTHON=python3.11")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[spark,test,notebook,bench]"
	@touch $(STAMP)

install: $(STAMP) ## build .venv with the package and every extra (fast when nothing changed)

SAMPLE := data/sample/README.md

$(SAMPLE): $(STAMP) $(wildcard kbz_eval/synth/*.py)
	$(PY) -m kbz_eval.cli synth --out data/sample

sample: $(SAMPLE) ## write the synthetic sample extracts to data/sample/ (when the generator changed)

report: $(STAMP) $(SAMPLE) ## run the report on the embedded synthetic sample -> $(OUT)
	MPLBACKEND=Agg $(PY) -m kbz_eval.cli report --config $(CONFIG) --out $(OUT)

# one BLAS thread per test process: the xdist workers (and the pools some tests start)
# already use every core, and threaded BLAS on top of them only oversubscribes
BLAS_ONE := OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

test: $(STAMP) $(SAMPLE) ## run every test (slow statistical validations and Spark included)
	MPLBACKEND=Agg $(BLAS_ONE) $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

test-fast: $(STAMP) $(SAMPLE) ## run the tests without the slow and Spark markers
	MPLBACKEND=Agg $(PY) -m pytest -m "not slow and not spark" $(PYTEST_ARGS)

bench: $(STAMP) $(SAMPLE) ## run the benchmarks in bench/ (figures recorded in bench/RESULTS.md)
	$(PY) bench/engine.py
	$(PY) bench/report.py
	$(PY) bench/loaders.py
	$(PY) bench/readers_memory.py --mb 50

docs: $(STAMP) ## regenerate docs/data-contracts.md from kbz_eval/tables.py
	$(PY) -m kbz_eval.tables docs/data-contracts.md

lint: $(STAMP) ## ruff
	$(PY) -m ruff check kbz_eval tests bench

clean: ## remove the environment, generated sample and reports
	rm -rf $(VENV) reports/* data/sample/*.csv data/sample/*.parquet .pytest_cache
