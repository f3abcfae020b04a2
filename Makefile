# Every target creates .venv and installs what it needs when missing (a fresh Debian + Python 3.11).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RUNTIME := $(VENV)/.runtime-installed
DEV := $(VENV)/.dev-installed
CHROMIUM := /usr/bin/chromium

.PHONY: run test test-fast lint bench bench-crash chromium clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(RUNTIME): requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(DEV): requirements-dev.txt requirements.txt $(RUNTIME)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

## run: the console on the embedded SQLite default (data/review.sqlite, or $$REVIEW_DB)
run: $(RUNTIME)
	$(PY) -m streamlit run serve.py

## chromium: Debian's Chromium for the browser tests (Playwright's own download does not work here)
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  elif command -v sudo >/dev/null; then sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium missing and no root: browser tests will skip (fail with CI=true)"; fi; \
	fi

## test: every test, browser tests included
test: $(DEV) chromium
	$(PY) -m pytest

## test-fast: everything but the browser tests
test-fast: $(DEV)
	$(PY) -m pytest -m "not e2e"

## lint: ruff (style, imports, docstrings) and mypy (types of the review core, the demo agent and the UI)
lint: $(DEV)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

## bench: the benchmarks, figures and ratios printed side by side
bench: $(DEV)
	$(PY) -m bench

## bench-crash: crash-safety figures: children killed / paused at the worst moment, recovery, effects counted
bench-crash: $(DEV)
	$(PY) -m bench.crash --trials 20

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache tests/e2e/artifacts
