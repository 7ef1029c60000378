# One command to run, one to test; both set everything up first (Python deps, bundled model,
# browser for the UI test). The venv is rebuilt only when pyproject.toml changes.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test stress eval install browser serve clean

run: install  ## ingest corpus/ and open the web chat on http://127.0.0.1:7860
	$(BIN)/assistant ingest corpus/
	$(BIN)/assistant serve

test: install browser  ## set up and run the test suite (what CI runs)
	$(BIN)/python -m pytest -m "not stress"

stress: install  ## slow load and fault tests
	$(BIN)/python -m pytest -m stress

eval: install  ## both suites on fresh collections, beside the peer baselines; reports in evals/runs/
	$(BIN)/assistant eval evals/suites/seed.jsonl --corpus corpus/ \
		--baseline langchain-default --baseline newsrag --gate evals/thresholds.json
	$(BIN)/assistant eval evals/suites/newsroom.jsonl --corpus evals/corpora/newsroom/ \
		--baseline langchain-default --baseline newsrag

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# CPU torch first and pinned: unpinned, pip resolves a multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

browser:  ## Debian's chromium for the headless UI test (no browser downloads offline)
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
		$(SUDO) apt-get install -y -qq chromium; }

clean:
	rm -rf $(VENV) data tests/artifacts
