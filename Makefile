# The README's two commands: `make demo` (set up + main job) and `make test` (set up + whole suite).
# Both create or reuse .venv at the repository root; nothing is downloaded at run time.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_DIR ?= demo_output
STAMP := $(VENV)/.monai-gamanet-installed

.PHONY: setup demo test lint clean

setup: $(STAMP)

$(STAMP): setup.cfg pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[test,label,bench]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m monai_gamanet.demo --out $(DEMO_DIR)

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(PY) -m ruff check monai_gamanet tests benchmarks
	$(PY) -m ruff format --check monai_gamanet tests benchmarks

clean:
	rm -rf $(DEMO_DIR) .pytest_cache
