# Two commands on a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= $(or $(PLANSEARCH_HOST),127.0.0.1)
PORT ?= $(or $(PLANSEARCH_PORT),8000)
INDEX_DIR ?= $(or $(PLANSEARCH_INDEX_DIR),index)

.PHONY: install index run serve test lint screenshots bench eval clean

install: $(STAMP)

# Re-runs only when pyproject.toml changes. torch==2.13.0 goes first so pip takes the
# CPU wheel instead of resolving a CUDA build for sentence-transformers.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "torch==2.13.0"
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

index: install
	$(BIN)/python scripts/build_index.py

# Build the bundled corpus only if there is no published index yet.
$(INDEX_DIR)/CURRENT:
	$(MAKE) install
	$(BIN)/python scripts/build_index.py --index $(INDEX_DIR)

run: install $(INDEX_DIR)/CURRENT
	PLANSEARCH_INDEX_DIR=$(INDEX_DIR) $(BIN)/gunicorn --config python:service.web.gunicorn_conf \
		--bind $(HOST):$(PORT) "service:create_app()"

serve: run

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check service scripts tests
	$(BIN)/mypy

# The tests write screenshots to test-artifacts/ (git-ignored); this refreshes the ones
# the README shows, on purpose.
screenshots: install
	PLANSEARCH_REQUIRE_BROWSER=1 $(BIN)/python -m pytest -q tests/test_browser.py \
		-k test_two_turn_conversation --screenshot-dir docs

# The full run takes 30-60 min on 2 cores; BENCH_ARGS=--quick for the 3-minute version.
bench: install
	$(BIN)/python scripts/bench.py $(BENCH_ARGS)

eval: install
	$(BIN)/python scripts/evaluate.py --questions tests/data/seed-questions.jsonl --corpus corpus

clean:
	rm -rf $(VENV) $(INDEX_DIR)/gen-* $(INDEX_DIR)/CURRENT
