# Two commands on a fresh machine with Python 3.11+ and make:
#   make run    create .venv, install vecloss with every extra, run the example and a short comparison
#   make test   run every test (and the notebooks), ruff and mypy; then the kernel, engine and
#               CLI tests again in .venv-core, a plain install without any extra (no numba)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CORE   := .venv-core
CORE_STAMP := $(CORE)/.installed
# The tests that prove the core install: formulas and kernels, engines, the CLI, the API rules.
CORE_TESTS := tests/test_formulas.py tests/test_engines.py tests/test_cli.py tests/test_options_checked_once.py \
              tests/test_extras.py tests/test_api.py tests/test_grid.py tests/test_skip.py \
              tests/test_risk.py tests/test_interactive_use.py

.PHONY: run test test-core lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m compileall -q vecloss  # as a wheel install does: the CLI starts 60 ms sooner
	touch $(STAMP)

$(CORE_STAMP): pyproject.toml
	$(PYTHON) -m venv $(CORE)
	$(CORE)/bin/python -m pip install --quiet --upgrade pip
	$(CORE)/bin/python -m pip install --quiet -e '.[test]'
	touch $(CORE_STAMP)

run: $(STAMP)
	$(BIN)/vecloss run examples/data.json
	$(BIN)/vecloss bench --quick

test: $(STAMP) lint
	$(BIN)/python -m pytest -rA --durations=15  # (tests/test_notebooks.py runs the notebooks)
	$(MAKE) test-core

test-core: $(CORE_STAMP)
	$(CORE)/bin/python -m pytest -ra $(CORE_TESTS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/vecloss bench --output-dir benchmarks/results

clean:
	rm -rf $(VENV) $(CORE) .pytest_cache .mypy_cache .ruff_cache .hypothesis
