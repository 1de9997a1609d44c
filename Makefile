# Two commands on a fresh machine:  `make run` (the pipeline on the sample handle) and
# `make test` (the whole suite, what CI runs). While you work, `make test-fast` runs every test
# but those marked slow (training, whole pipelines, DVC remotes): a few minutes on 2 cores.
# All build .venv first. TORCH pins the CPU wheel this project is tested with; on a GPU
# machine use your CUDA build, e.g. `make run TORCH=torch`.
VENV ?= .venv
TORCH ?= torch==2.13.0
PYTHON ?= python3

export PATH := $(abspath $(VENV))/bin:$(PATH)
export DVC_NO_ANALYTICS := 1

.PHONY: run test test-fast bench clean-venv

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet "$(TORCH)"
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $@

# validate first: DVC names stages after the handles (ingest@alice) before any stage runs, so
# a handle such as @alice would get DVC's "Stage 'ingest@@alice' not found", not tweetlm's line.
run: $(VENV)/.installed
	tweetlm validate
	dvc repro

test: $(VENV)/.installed
	pytest

test-fast: $(VENV)/.installed
	pytest -m "not slow"

bench: $(VENV)/.installed
	python benchmarks/bench_data.py
	python benchmarks/bench_train.py
	python benchmarks/bench_repro.py

clean-venv:
	rm -rf $(VENV)
