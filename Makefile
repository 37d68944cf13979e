# The README's commands. `make demo` and `make test` first run `make install`, which (re)creates
# .venv/ when it is missing or older than what it is built from.
SHELL := /bin/bash
VENV := .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed
INSTALL_INPUTS := tools/install_env.sh setup.py $(wildcard requirements/*.txt) \
	$(shell find mmdet_losses/ops/csrc -type f)

.PHONY: install test test-fast demo demo-harmonic demo-classification demo-rank-sort demo-rank-sort-mask demo-rank-sort-solov2 demo-alrp demo-detr reproduce bench

install: $(STAMP)

$(STAMP): $(INSTALL_INPUTS)
	bash tools/install_env.sh

test: $(STAMP)
	$(PYTHON) -m pytest tests mmdet_losses --doctest-modules

# The development loop: every test but the trainings and process launches (marked slow).
test-fast: $(STAMP)
	$(PYTHON) -m pytest tests mmdet_losses --doctest-modules -m "not slow"

# Trains RetinaNet-R18 with AP-Loss and with focal loss on the embedded demo data (CPU), evaluates
# both (COCO and VOC metrics), prints the table and writes work_dirs/demo/{curves,predictions}_aploss.png.
demo: $(STAMP)
	$(PYTHON) tools/demo.py

# The same for the Harmonic loss, with and without HIoU, against the focal-loss run of `make demo`
# (trained here if absent): work_dirs/demo/{curves,predictions}_harmonic.png.
demo-harmonic: $(STAMP)
	$(PYTHON) tools/demo.py --compare harmonic

# Anchor Loss, the Two-way loss and UniLoss against the same focal-loss run:
# work_dirs/demo/{curves,predictions}_classification.png.
demo-classification: $(STAMP)
	$(PYTHON) tools/demo.py --compare classification

# RS-ATSS (Rank & Sort loss) against mmdet's ATSS with focal loss, on the same small detector:
# work_dirs/demo/{curves,predictions}_rank_sort.png.
demo-rank-sort: $(STAMP)
	$(PYTHON) tools/demo.py --compare rank_sort

# RS-Mask R-CNN against mmdet's Mask R-CNN on the demo data with its instance masks, box and mask AP
# side by side (about 8.5 minutes on 2 cores): work_dirs/demo/{curves,predictions}_rank_sort_mask.png.
demo-rank-sort-mask: $(STAMP)
	$(PYTHON) tools/demo.py --compare rank_sort_mask

# RS-SOLOv2 against mmdet's SOLOv2 (focal and Dice losses) on the demo data with its instance masks,
# mask AP, 1600 iterations (about 9 minutes on 2 cores): work_dirs/demo/{curves,predictions}_rank_sort_solov2.png.
demo-rank-sort-solov2: $(STAMP)
	$(PYTHON) tools/demo.py --compare rank_sort_solov2

# aLRP Loss on the demo's RetinaNet against the AP-Loss and focal-loss runs of `make demo` (trained
# here if absent): work_dirs/demo/{curves,predictions}_alrp.png.
demo-alrp: $(STAMP)
	$(PYTHON) tools/demo.py --compare alrp

# RS-DINO (Rank & Sort in every decoder layer) against mmdet's DINO, both small, 600 iterations
# (about 12 minutes on 2 cores): work_dirs/demo/{curves,predictions}_detr.png.
demo-detr: $(STAMP)
	$(PYTHON) tools/demo.py --compare detr

# The classification papers' experiments at small scale on scikit-learn's digits (CPU, a few
# minutes): the table and work_dirs/reproduce/classification_curves.png of docs/classification_losses.md.
reproduce: $(STAMP)
	$(PYTHON) tools/reproduce_classification.py

# The sizes recorded in docs/benchmarks.md.
bench: $(STAMP)
	$(PYTHON) tools/benchmark_aploss.py
