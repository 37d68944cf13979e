# The README's commands. `make demo` and `make test` first run `make install`, which (re)creates
# .venv/ when it is missing or older than what it is built from.
SHELL := /bin/bash
VENV := .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed
INSTALL_INPUTS := tools/install_env.sh setup.py $(wildcard requirements/*.txt) \
	$(shell find mmdet_losses/ops/csrc -type f)

.PHONY: install test demo bench

install: $(STAMP)

$(STAMP): $(INSTALL_INPUTS)
	bash tools/install_env.sh

test: $(STAMP)
	$(PYTHON) -m pytest tests mmdet_losses --doctest-modules

# Until the training demo lands: the ranking benchmark at a laptop-friendly size.
demo: $(STAMP)
	$(PYTHON) tools/benchmark_aploss.py --sizes 2e5:200 2e6:1000

# The sizes recorded in docs/benchmarks.md.
bench: $(STAMP)
	$(PYTHON) tools/benchmark_aploss.py
