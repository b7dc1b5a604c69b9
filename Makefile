# greenbench: the two commands (README). Both create .venv when missing.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
# torch first, pinned: an open range would pull a multi-GB CUDA build on a CPU machine.
TORCH  ?= torch==2.13.0
# Exact pins of every package (pip constraints): a fresh venv gets the tested version set.
CONSTRAINTS ?= constraints.txt
CORES  ?= all
PYTEST_ARGS ?=

.PHONY: study test venv lint bench constraints clean-results help

help:
	@echo "make study   run the default study end to end (config/config.yaml) and print the report path"
	@echo "make test    run the test suite"
	@echo "make lint    ruff + snakefmt + snakemake --lint"
	@echo "make bench   run the benchmarks in bench/"
	@echo "make constraints  rewrite constraints.txt from the installed venv (after a deliberate upgrade)"

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found (greenbench needs Python >= 3.11); set PYTHON=..."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade -c $(CONSTRAINTS) pip

$(VENV)/.installed: $(BIN)/python pyproject.toml $(CONSTRAINTS)
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) "$(TORCH)"
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e ".[dev]"
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

# torch loses its local label (+cpu) so that the pin also gives a CUDA build on a GPU machine.
constraints: venv
	{ sed -n '/^#/p' $(CONSTRAINTS); $(BIN)/python -m pip freeze --all --exclude-editable \
	  | grep -vi '^greenbench' | sed -E 's/^(torch==[^+]*)\+.*/\1/'; } > $(CONSTRAINTS).new
	mv $(CONSTRAINTS).new $(CONSTRAINTS)
	@touch $(VENV)/.installed

clean-results:
	rm -rf results logs .snakemake/metadata
