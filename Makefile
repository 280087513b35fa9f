# Two commands on a fresh machine with Python 3.11+ and make:
#   make run    create .venv, install vecloss with every extra, run the example and a short comparison
#   make test   run every test (and the notebooks), ruff and mypy
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/vecloss run examples/data.json
	$(BIN)/vecloss bench --quick

test: $(STAMP) lint
	$(BIN)/python -m pytest -rA
	$(BIN)/python -m pytest --nbmake notebooks -p no:logging

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/vecloss bench --output-dir benchmarks/results

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
