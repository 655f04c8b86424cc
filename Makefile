# civetta: `make run` serves at once, `make test` checks everything. Both set themselves up.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CONFIG ?= config.example.yaml

.PHONY: all install run sandbox test lint typecheck unit bench clean

all: test

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## run: start the sandbox incumbent and civetta on config.example.yaml (Ctrl-C stops both)
run: $(STAMP)
	$(BIN)/civetta dev --config $(CONFIG)

## sandbox: only the simulated incumbent
sandbox: $(STAMP)
	$(BIN)/civetta sandbox --config $(CONFIG)

lint: $(STAMP)
	$(BIN)/ruff check proxy tests bench
	$(BIN)/ruff format --check proxy tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

## test: lint, type checks and the whole test suite
test: lint typecheck unit

## bench: the benchmarks in bench/ (figures printed, never asserted)
bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache var
