# greenbench: the two commands (README). Both create .venv when missing.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
# torch first, pinned: an open range would pull a multi-GB CUDA build on a CPU machine.
TORCH  ?= torch==2.13.0
CORES  ?= all
PYTEST_ARGS ?=

.PHONY: study test venv lint bench clean-results help

help:
	@echo "make study   run the default study end to end (config/config.yaml) and print the report path"
	@echo "make test    run the test suite"
	@echo "make lint    ruff + snakefmt + snakemake --lint"
	@echo "make bench   run the benchmarks in bench/"

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found (greenbench needs Python >= 3.11); set PYTHON=..."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $@

venv: $(VENV)/.installed

study: venv
	@mkdir -p logs
	$(BIN)/snakemake --cores $(CORES)
	@$(BIN)/python -m greenbench.where

test: venv
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check lib tests scripts bench examples
	$(BIN)/snakefmt --check Snakefile workflow/
	$(BIN)/snakemake --lint

bench: venv
	@for f in bench/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean-results:
	rm -rf results logs .snakemake/metadata
