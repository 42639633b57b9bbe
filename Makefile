# Two commands on a fresh machine:  `make run` (build the index and serve) and `make test` (lint, then the whole suite).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
INDEX  ?= index
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: install models run index serve test test-fast eval eval-check bench lint clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# CPU build of torch first: a bare `torch` requirement would pull GBs of CUDA wheels
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev,milvus]'
	touch $(STAMP)

install: $(STAMP)

models: $(STAMP)
	$(VENV)/bin/qa-engine models prepare e5-small
	$(VENV)/bin/qa-engine models prepare neural-reader
	$(VENV)/bin/qa-engine models prepare english-dictionary

index: $(STAMP) models
	# the package's bytecode written now: a command compiles none of it (0.05-0.1 s), whatever PYTHONDONTWRITEBYTECODE says
	$(PY) -m compileall -q qa_engine
	$(VENV)/bin/qa-engine ingest data/filings --index $(INDEX) --replace --reader-vectors

run: index
	$(VENV)/bin/qa-engine serve --index $(INDEX) --host $(HOST) --port $(PORT)

serve: $(STAMP)
	$(VENV)/bin/qa-engine serve --index $(INDEX) --host $(HOST) --port $(PORT)

EVAL_INDEX := build/eval-index
EVAL := HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(VENV)/bin/qa-engine eval

test: $(STAMP) models
	$(MAKE) lint
	bash scripts/install_chromium.sh
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(PY) -m pytest tests -q -p no:cacheprovider
	$(MAKE) eval-check

# The gold set over both corpora (the five bundled filings act as distractors for the others): every split
# against eval/expected.json, then the test split (filings no reader was fit or tuned on), both readers side
# by side, against eval/expected-test.json.
eval-check: $(STAMP) models
	rm -rf $(EVAL_INDEX)
	$(EVAL) --index $(EVAL_INDEX) --build data/filings --build data/filings-more --out build/eval-run --check
	$(EVAL) --index $(EVAL_INDEX) --split test --readers neural,heuristic --out build/eval-test \
		--expected eval/expected-test.json --check

test-fast: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) -m pytest tests -q -m "not slow and not browser"

eval: $(STAMP)
	$(PY) -m qa_engine.eval --index $(INDEX) --out eval/runs/latest

bench: $(STAMP)
	$(PY) bench/search_bench.py --quick
	$(PY) bench/ask_bench.py

# ruff over the code and tests; mypy --strict (with the pydantic plugin, see pyproject.toml) over the package
lint: $(STAMP)
	$(VENV)/bin/ruff check qa_engine tests bench
	$(VENV)/bin/mypy qa_engine

clean:
	rm -rf $(VENV) $(INDEX)/gen-* $(INDEX)/store.sqlite* $(INDEX)/embedder .pytest_cache
