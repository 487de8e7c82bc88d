# Two commands for a newcomer: `make demo` and `make test`. Everything installs into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast lint format bench clean crosscheck

# Re-install only when the dependency list changes.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "==> installing daybook and its dependencies into $(VENV)"
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/python -m pip install --quiet --progress-bar on -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/daybook demo

test: install
	$(BIN)/python -m pytest

# The fast tier alone (tests/README.md): what to run between edits.
test-fast: install
	$(BIN)/python -m pytest -m fast

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/sqlfluff lint models dbt_project

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	@command -v wrk >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
	$(BIN)/daybook bench $(BENCH_ARGS)

# Daybook's answers against MetricFlow's on the same semantic manifest (docs/CROSSCHECK.md).
# MetricFlow gets its own environment, so the main one keeps its pins; not part of `make test`.
CROSSCHECK_VENV := .venv-crosscheck
CROSSCHECK_STAMP := $(CROSSCHECK_VENV)/.installed
CROSSCHECK_PACKAGES := 'dbt-metricflow[dbt-duckdb]==0.15.0' 'dbt-core==1.11.16' 'dbt-duckdb==1.11.1' 'duckdb>=1.5,<1.6'

$(CROSSCHECK_STAMP): Makefile
	@test -x $(CROSSCHECK_VENV)/bin/python || $(PYTHON) -m venv $(CROSSCHECK_VENV)
	@echo "==> installing dbt-metricflow into $(CROSSCHECK_VENV)"
	$(CROSSCHECK_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CROSSCHECK_VENV)/bin/python -m pip install --quiet $(CROSSCHECK_PACKAGES)
	@touch $(CROSSCHECK_STAMP)

crosscheck: install $(CROSSCHECK_STAMP)
	$(BIN)/python -m daybook.crosscheck --mf $(CROSSCHECK_VENV)/bin/mf $(CROSSCHECK_ARGS)

clean:
	rm -rf .daybook target logs
