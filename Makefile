# One-command set-up, demo and tests. Works on a fresh Debian/Ubuntu machine:
#   make demo   # venv + pip install + CP2K (apt, as root) + the demo campaign
#   make test   # the same set-up + the whole test suite (what CI runs)
#   make test-fast  # tests that run no physics code or workflow (seconds to minutes)
#   make lint   # ruff, snakefmt and snakemake --lint (what CI runs first)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CORES  ?= 2

.PHONY: setup cp2k demo test test-fast lint clean-demo

setup: $(VENV)/.installed cp2k

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev,teacher]"
	touch $@

# CP2K from the distribution's packages when cp2k.psmp is missing (root only).
cp2k:
	@if command -v cp2k.psmp >/dev/null 2>&1; then \
	  echo "cp2k.psmp found: $$(command -v cp2k.psmp)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cp2k; \
	else \
	  echo "cp2k.psmp is missing. Install CP2K (Debian/Ubuntu: sudo apt-get install cp2k," \
	       "or load your cluster's CP2K module) and run make again." >&2; exit 1; \
	fi

demo: setup
	$(BIN)/snakemake --cores $(CORES) --configfile config/demo.yaml

test: setup
	$(BIN)/python -m pytest

test-fast:
	$(BIN)/python -m pytest -m "not slow"

lint:
	$(BIN)/ruff check src tests workflow/scripts
	$(BIN)/ruff format --check src tests workflow/scripts
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/snakemake --lint --configfile config/demo.yaml
