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

# Trains RetinaNet-R18 with AP-Loss and with focal loss on the embedded demo data (CPU), evaluates
# both (COCO and VOC metrics), prints the table and writes work_dirs/demo/{curves,predictions}.png.
demo: $(STAMP)
	$(PYTHON) tools/demo.py

# The sizes recorded in docs/benchmarks.md.
bench: $(STAMP)
	$(PYTHON) tools/benchmark_aploss.py
