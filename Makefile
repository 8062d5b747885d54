# rivalscope — `make run` and `make test` work on a fresh machine: they install what is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

URLS ?=
PROMPT ?=
WATCHLIST ?=
# make run DEMO_CHANGE=1: the demo sites with the edits of demo/changes.yaml (or some, by name)
DEMO_CHANGE ?=

.PHONY: run serve test unit integration lint bench reanalyze report system-deps clean

$(STAMP): requirements/dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements/dev.txt
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

system-deps:
	@scripts/ensure-system-deps

# The whole pipeline on this machine (rivalscope_local/run.py); data persists under data/.
# Default: the watch list demo/watchlist.yaml (the bundled demo competitors).
run: $(STAMP) system-deps
	$(BIN)/python -m rivalscope_local.run $(if $(WATCHLIST),--watchlist "$(WATCHLIST)") $(if $(URLS),--urls "$(URLS)") $(if $(PROMPT),--prompt $(PROMPT)) $(if $(SHARDS),--shards $(SHARDS)) $(if $(DEMO_CHANGE),--demo-change "$(DEMO_CHANGE)")

# The front door on 127.0.0.1 (rivalscope_local/serve.py): the API, the Slack endpoint and a web
# page, over the same local stack; the key is RIVALSCOPE_API_KEY or one printed at start.
PORT ?= 8765
serve: $(STAMP) system-deps
	$(BIN)/python -m rivalscope_local.serve --port $(PORT)

# On the local archive (default RUN: the latest in data/): make reanalyze PROMPT=file [RUN=s3://...]
# [MODEL=m] [ARGS="--dry-run"]; make report [RUN=...] [PROMPT=...]
RUN ?=
MODEL ?=
ARGS ?=
reanalyze: $(STAMP)
	$(BIN)/python -m rivalscope_local.archive reanalyze $(RUN) $(if $(PROMPT),--prompt $(PROMPT)) $(if $(MODEL),--model $(MODEL)) $(ARGS)

report: $(STAMP)
	$(BIN)/python -m rivalscope_local.archive report $(RUN) $(if $(PROMPT),--prompt $(PROMPT)) $(ARGS)

# The suite on every core (pytest-xdist; tests/parallel.py: one file, or one xdist_group, per
# unit of work, the slowest first; the 40 slowest tests listed at the end). make test JOBS=1:
# one process, in collection order.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
PYTEST := $(BIN)/python -m pytest $(if $(filter-out 0 1,$(JOBS)),-n $(JOBS))

test: $(STAMP) system-deps
	$(PYTEST) --durations=40

unit: $(STAMP)
	$(PYTEST) tests/unit

integration: $(STAMP) system-deps
	$(PYTEST) -m integration

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP) system-deps
	$(BIN)/python -m bench.crawl

# Build and push both images, deploy infra/template.yaml: make deploy VPC_ID=vpc-.. SUBNET_IDS=..
.PHONY: deploy
deploy:
	scripts/deploy

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
