# Two commands on a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= $(or $(PLANSEARCH_HOST),127.0.0.1)
PORT ?= $(or $(PLANSEARCH_PORT),8000)
INDEX_DIR ?= $(or $(PLANSEARCH_INDEX_DIR),index)

.PHONY: install index run serve test lint bench eval clean axe

install: $(STAMP)

# Re-runs only when pyproject.toml changes. torch==2.13.0 goes first so pip takes the
# CPU wheel instead of resolving a CUDA build for sentence-transformers.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "torch==2.13.0"
	$(BIN)/pip install --quiet -e ".[test]"
	# the default embedder runs the model through ONNX Runtime: export it once, here,
	# so that serving never imports torch
	HF_HUB_OFFLINE=1 $(BIN)/python -m service.embedding
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

# The full run takes 30-60 min on 2 cores; BENCH_ARGS=--quick for the 3-minute version.
bench: install
	$(BIN)/python scripts/bench.py $(BENCH_ARGS)

eval: install
	$(BIN)/python scripts/evaluate.py --questions tests/data/seed-questions.jsonl --corpus corpus

# axe-core for the accessibility tests only (never served by the app). Bump AXE_VERSION,
# run `make axe`, and commit the new file; npm checks the tarball against the registry.
AXE_VERSION ?= 4.14.1
axe:
	rm -f tests/vendor/axe-core-*.min.js
	tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent axe-core@$(AXE_VERSION) >/dev/null \
		&& tar xzf axe-core-$(AXE_VERSION).tgz package/axe.min.js \
		&& cp package/axe.min.js $(CURDIR)/tests/vendor/axe-core-$(AXE_VERSION).min.js \
		&& cd $(CURDIR) && rm -rf $$tmp

clean:
	rm -rf $(VENV) $(INDEX_DIR)/gen-* $(INDEX_DIR)/CURRENT
