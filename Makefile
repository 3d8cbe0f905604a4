# Two entry points: `make demo` runs the main example, `make test` runs lint, types and tests.
# Each creates its own virtual environment in .venv (Python 3.11 preferred) with the CPU build
# of torch pinned, so a fresh machine needs nothing but Python (and, for the documentation
# tests, Debian's chromium, which `make test` installs).

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
TORCH_PIN ?= torch==2.13.0
PIP := $(BIN)/python -m pip install --disable-pip-version-check --no-input

.PHONY: demo test lint typecheck pytest docs bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The pinned torch first (a CPU build), then the package; an unpinned torch could pull CUDA.
$(VENV)/.demo-installed: pyproject.toml | $(BIN)/python
	$(PIP) $(TORCH_PIN)
	$(PIP) -e ".[data]"
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(PIP) $(TORCH_PIN)
	$(PIP) -e ".[data,dev,docs]"
	touch $@

demo: $(VENV)/.demo-installed
	$(BIN)/python examples/quickstart.py

lint: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.test-installed
	$(BIN)/mypy

pytest: $(VENV)/.test-installed
	./.ci/install-chromium
	MMCONTRAST_REQUIRE_BROWSER=1 NO_MKDOCS_2_WARNING=1 $(BIN)/python -m pytest

test: lint typecheck pytest

docs: $(VENV)/.test-installed
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

bench: $(VENV)/.test-installed
	$(PIP) -e ".[bench]"
	$(PIP) --no-deps lightly==1.6.0
	$(BIN)/python benchmarks/bench_losses.py
	$(BIN)/python benchmarks/bench_encoders.py
	$(BIN)/python benchmarks/bench_augment.py
	$(BIN)/python benchmarks/bench_fusion.py
	$(BIN)/python benchmarks/bench_data.py
	$(BIN)/python benchmarks/bench_training.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache site
