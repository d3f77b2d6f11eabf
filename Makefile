# lakeml: two commands on a fresh machine.
#   make book   set-up + the Jupyter Book, notebooks executed on the offline sample
#   make test   set-up + every test (unit, servers, notebooks, book build, browser)
# `make` alone (or `make help`) lists the targets: each target's `## ` comment is its line.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.lakeml-installed
export LAKEML_SAMPLE_DIR ?= $(CURDIR)/_build/sample
export LAKEML_CACHE_DIR ?= $(CURDIR)/_build/scene-cache
PYTEST_WORKERS ?= 2
# make test's pytest options (make test-latest runs the same)
PYTEST_ALL = -n $(PYTEST_WORKERS) --dist loadfile --durations=12

.PHONY: help all book book-online test test-fast test-latest sysdeps setup sample serve validate bench \
	bench-reliability bench-notebooks lint student clean

help: ## list the targets (this text)
	@echo "make TARGET, one of:"
	@awk 'BEGIN {FS = ":[^#]*## "} /^[a-zA-Z][a-zA-Z_-]*:[^#]*## / {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

all: book ## the same as make book

# System packages (PostgreSQL + PostGIS, Chromium): apt-get when root, else a message.
sysdeps: ## PostgreSQL + PostGIS, Chromium, libpq-dev (apt-get when root, else a message)
	@bash scripts/sysdeps.sh

# The virtual environment, reinstalled only when the package list or the pins change.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[dev]"
	@touch $@

setup: sysdeps $(STAMP) ## system packages + the virtual environment .venv (pinned)

# The offline sample (deterministic; cached in $(LAKEML_SAMPLE_DIR)).
sample: setup ## build the offline sample into $LAKEML_SAMPLE_DIR (cached)
	$(BIN)/lakeml sample build

# A local STAC API + COG server on loopback, Ctrl-C stops it.
serve: sample ## the local STAC API + COG server on loopback (Ctrl-C stops it)
	$(BIN)/lakeml sample serve

book: sample ## set-up + the Jupyter Book in _build/html, every notebook executed offline
	rm -rf _build/html _build/jupyter_execute _build/.doctrees
	$(BIN)/lakeml sample run -- $(BIN)/jupyter-book build . -W -n --keep-going
	@echo "book: $(CURDIR)/_build/html/index.html"

# The book on REAL data: every notebook executed against Planetary Computer (their default: no
# local server, LAKEML_STAC_URL unset), as publish.yml publishes it. Fails in seconds, with one
# line, where Planetary Computer cannot be reached (scripts/online_preflight.py): no network here.
book-online: setup ## the Jupyter Book with every notebook executed against Planetary Computer
	env -u LAKEML_STAC_URL $(BIN)/python scripts/online_preflight.py
	rm -rf _build/html _build/jupyter_execute _build/.doctrees
	env -u LAKEML_STAC_URL $(BIN)/jupyter-book build . -W -n --keep-going
	@echo "book (online): $(CURDIR)/_build/html/index.html"

# The student edition of the lessons: solutions removed; under each exercise an empty cell for
# the learner's code and a check cell (lakeml.exercises) that says right, wrong with a hint, or
# not tried yet. Open them from there: lakeml sample run -- jupyter lab _build/student
student: setup ## the student edition: the lessons without solutions, with checks: _build/student
	$(BIN)/python scripts/make_student.py

# lakeml's water on the five real scenes (through the local STAC API) vs USGS DSWE, WOfS,
# MNDWI-Otsu, their consensus and the USGS qa_pixel water bit, with a sweep of the number of
# clusters: writes _build/reports/real_scenes.json.
validate: sample ## water on the 5 real scenes vs DSWE, WOfS, MNDWI-Otsu, QA: _build/reports
	$(BIN)/lakeml validate --sweep --out _build/reports/real_scenes.json

# --dist loadfile: each test file on one worker (its module fixtures, e.g. the book build or the
# 41-year run, are made once). Not loadgroup: with pytest 9.2 its xdist_group marks are silently
# ignored (pytest-dev/pytest-xdist#1386) and the book was built twice.
# ruff (format and lint), mypy and the wheel's py.typed are tests/test_code_health.py; the
# doctests of lakeml/ run through --doctest-modules (pyproject.toml addopts).
test: sample ## set-up + every test (also servers, notebooks, the book build, the browser)
	$(BIN)/pytest $(PYTEST_ALL)

# The same tests (and so the book) on the NEWEST release of every dependency: a virtual
# environment of its own, .venv-latest, installed without constraints.txt (the nightly CI job).
# Its sample and scene cache are its own too, built by its own packages. On a failure it lists
# the packages whose versions differ from the pins (scripts/pins_diff.py). The environment is
# made once (its stamp): rm -rf .venv-latest to get the newest releases again.
LATEST     := .venv-latest
LATEST_BIN := $(LATEST)/bin
LATEST_STAMP := $(LATEST)/.lakeml-installed
test-latest: export LAKEML_SAMPLE_DIR = $(CURDIR)/_build/sample-latest
test-latest: export LAKEML_CACHE_DIR = $(CURDIR)/_build/scene-cache-latest

$(LATEST_STAMP): pyproject.toml
	@test -x $(LATEST_BIN)/python || $(PYTHON) -m venv $(LATEST)
	$(LATEST_BIN)/python -m pip install -q --upgrade pip
	$(LATEST_BIN)/python -m pip install -q --upgrade --upgrade-strategy eager -e ".[dev]"
	@touch $@

test-latest: sysdeps $(LATEST_STAMP) ## every test on the newest release of every dependency (.venv-latest)
	$(LATEST_BIN)/lakeml sample build
	@$(LATEST_BIN)/pytest $(PYTEST_ALL) || { status=$$?; \
		echo "test-latest: failed; packages that differ from constraints.txt:"; \
		$(LATEST_BIN)/python scripts/pins_diff.py --python $(LATEST_BIN)/python; \
		exit $$status; }

# No system packages, sample, servers, notebooks, book or browser: the markers `server` and
# `notebook` are set by tests/conftest_server.py from the fixtures a test uses. --dist load:
# no costly module fixtures here, and test_cluster.py alone would keep one worker busy.
test-fast: $(STAMP) ## unit tests, doctests and code health only (no servers, notebooks, book)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist load --durations=8 \
		-m "not server and not notebook and not slow"

lint: $(STAMP) ## ruff check, ruff format --check and mypy (what make test checks)
	$(BIN)/ruff check lakeml tests scripts benchmarks
	$(BIN)/ruff format --check lakeml tests scripts benchmarks
	$(BIN)/mypy --cache-dir _build/.mypy_cache-tests

# Clustering benchmark: the original dask-ml recipe vs lakeml.cluster on the sample's full
# 2017 scene (1,071,600 pixels), each run in its own process under a distributed.Client,
# repeated, and the floor: the same maths in plain in-memory numpy (floor_s, lakeml_s / floor_s);
# writes _build/bench/cluster.json (5-10 minutes on 2 cores: the recipe is slow).
BENCH_REPEATS ?= 3
BENCH_FITS ?= 20
bench: sample ## clustering benchmark, dask-ml recipe vs lakeml.cluster: _build/bench
	$(BIN)/python benchmarks/bench_cluster.py --repeats $(BENCH_REPEATS)

# Does each notebook fit a Binder session: its time on one CPU (taskset -c 0) against two, its
# kernel's peak memory, and an estimate of the MB it reads online (the pixels it loads): each
# notebook run once per CPU setting and repeat on the offline sample, the fastest run kept;
# writes _build/bench/notebooks.json (about 5 minutes per repeat on 2 quiet cores).
BENCH_NB_REPEATS ?= 2
bench-notebooks: sample ## each notebook on 1 CPU vs 2, kernel peak memory, MB read: _build/bench
	$(BIN)/python benchmarks/bench_notebooks.py --repeats $(BENCH_NB_REPEATS)

# 20 consecutive lakeml fits under one Client (in-process, then a 2-process LocalCluster).
bench-reliability: sample ## 20 consecutive lakeml fits under one dask Client
	$(BIN)/python benchmarks/bench_cluster.py --reliability $(BENCH_FITS)
	$(BIN)/python benchmarks/bench_cluster.py --reliability $(BENCH_FITS) --processes

clean: ## remove _build (sample, caches, book, reports) and .pytest_cache
	rm -rf _build .pytest_cache
