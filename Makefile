# The README's two commands: `make demo` (set up + main job) and `make test` (set up + whole suite).
# Both create or reuse .venv at the repository root; nothing is downloaded at run time.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_DIR ?= demo_output
STAMP := $(VENV)/.monai-gamanet-installed
# this machine's pip configuration names local indexes that may be absent; their warnings are noise
PIP_NOISE := is ignored: it is neither a file nor a directory

.PHONY: setup demo test serve lint clean

setup: $(STAMP)

$(STAMP): setup.cfg pyproject.toml constraints.txt
	@echo "Setting up $(VENV): the first time installs several GB (torch with CUDA libraries) and takes minutes."
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -c constraints.txt -e ".[test,label,bench]" 2>&1 | { grep -v "$(PIP_NOISE)" || true; }
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m monai_gamanet.cli.demo --out $(DEMO_DIR)

test: $(STAMP)
	$(PY) -m pytest

# MONAI Label server for 3D Slicer on 127.0.0.1:$(PORT): synthetic studies, brief models if none are trained
PORT ?= 8000
SERVE_DIR ?= serve_output
serve: $(STAMP)
	$(PY) -m monai_gamanet.cli.serve --out $(SERVE_DIR) --port $(PORT)

lint: $(STAMP)
	$(PY) -m ruff check monai_gamanet tests benchmarks apps experiments scripts
	$(PY) -m ruff format --check monai_gamanet tests benchmarks apps experiments scripts

clean:
	rm -rf $(DEMO_DIR) $(SERVE_DIR) .pytest_cache
