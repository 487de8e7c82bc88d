# Two commands for a newcomer: `make demo` and `make test`. Everything installs into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast lint format bench clean

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

clean:
	rm -rf .daybook target logs
