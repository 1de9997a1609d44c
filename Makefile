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

.PHONY: run test test-fast bench clean-venv remote

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet "$(TORCH)"
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $@

# The shipped remote (.dvc/config: url = ../../tweetlm-dvc-storage) is the folder beside this
# checkout for `dvc push`, but DVC resolves it against the root of the git tree (/) for
# `dvc exp push` / `dvc exp pull`, which read an experiment's config from its commit. It
# reads .dvc/config.local from the checkout in both cases: pin the same folder there, as an
# absolute path, unless config.local already names one or the shipped url was changed.
STORAGE := $(abspath ..)/tweetlm-dvc-storage
remote: $(VENV)/.installed
	@dvc config --local remote.storage.url >/dev/null 2>&1 || \
	  [ "$$(dvc config --project remote.storage.url 2>/dev/null)" != "$(STORAGE)" ] || \
	  dvc remote modify --local storage url "$(STORAGE)"

# validate first: a pipeline file out of step with params.yaml, or a handle such as @alice,
# is tweetlm's one line before DVC loads any stage.
run: $(VENV)/.installed remote
	tweetlm validate
	dvc repro

# Two workers (pytest-xdist), a test file each at a time: most tests wait on subprocesses
# (DVC, training), so 2 cores run the suite in about half the time.
PYTEST ?= pytest -n 2 --dist loadfile
test: $(VENV)/.installed
	$(PYTEST)

test-fast: $(VENV)/.installed
	$(PYTEST) -m "not slow"

bench: $(VENV)/.installed
	python benchmarks/bench_data.py
	python benchmarks/bench_train.py
	python benchmarks/bench_repro.py

clean-venv:
	rm -rf $(VENV)
