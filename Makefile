# lakeml: two commands on a fresh machine.
#   make book   set-up + the Jupyter Book, notebooks executed on the offline sample
#   make test   set-up + every test (unit, servers, notebooks, book build, browser)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.lakeml-installed
export LAKEML_SAMPLE_DIR ?= $(CURDIR)/_build/sample
export LAKEML_CACHE_DIR ?= $(CURDIR)/_build/scene-cache
PYTEST_WORKERS ?= 2

.PHONY: all book test sysdeps setup sample serve validate bench bench-reliability lint clean

all: book

# System packages (PostgreSQL + PostGIS, Chromium): apt-get when root, else a message.
sysdeps:
	@bash scripts/sysdeps.sh

# The virtual environment, reinstalled only when the package list or the pins change.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[dev]"
	@touch $@

setup: sysdeps $(STAMP)

# The offline sample (deterministic; cached in $(LAKEML_SAMPLE_DIR)).
sample: setup
	$(BIN)/lakeml sample build

# A local STAC API + COG server on loopback, Ctrl-C stops it.
serve: sample
	$(BIN)/lakeml sample serve

book: sample
	rm -rf _build/html _build/jupyter_execute _build/.doctrees
	$(BIN)/lakeml sample run -- $(BIN)/jupyter-book build . -W -n --keep-going
	@echo "book: $(CURDIR)/_build/html/index.html"

# lakeml's water on the five real scenes (through the local STAC API) vs USGS DSWE, WOfS,
# MNDWI-Otsu, their consensus and the USGS qa_pixel water bit, with a sweep of the number of
# clusters: writes _build/reports/real_scenes.json.
validate: sample
	$(BIN)/lakeml validate --sweep --out _build/reports/real_scenes.json

# --dist loadfile: each test file on one worker (its module fixtures, e.g. the book build or the
# 41-year run, are made once). Not loadgroup: with pytest 9.2 its xdist_group marks are silently
# ignored (pytest-dev/pytest-xdist#1386) and the book was built twice.
test: sample
	$(BIN)/ruff check lakeml tests
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile --durations=12

lint: setup
	$(BIN)/ruff check lakeml tests
	$(BIN)/ruff format --check lakeml tests

# Clustering benchmark: the original dask-ml recipe vs lakeml.cluster on the sample's full
# 2017 scene (1,071,600 pixels), each run in its own process under a distributed.Client,
# repeated; writes _build/bench/cluster.json (5-10 minutes on 2 cores: the recipe is slow).
BENCH_REPEATS ?= 3
BENCH_FITS ?= 20
bench: sample
	$(BIN)/python benchmarks/bench_cluster.py --repeats $(BENCH_REPEATS)

# 20 consecutive lakeml fits under one Client (in-process, then a 2-process LocalCluster).
bench-reliability: sample
	$(BIN)/python benchmarks/bench_cluster.py --reliability $(BENCH_FITS)
	$(BIN)/python benchmarks/bench_cluster.py --reliability $(BENCH_FITS) --processes

clean:
	rm -rf _build .pytest_cache
