# Every target creates .venv and installs what it needs when missing (a fresh Debian + Python 3.11).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RUNTIME := $(VENV)/.runtime-installed
DEV := $(VENV)/.dev-installed
CHROMIUM := /usr/bin/chromium
# make run-postgres: a private cluster in data/pg/ on this loopback port, and the console on it
PG_PORT ?= 54329
PG_URL := postgresql://postgres@127.0.0.1:$(PG_PORT)/review

.PHONY: run run-postgres stop-postgres test test-fast lint bench bench-crash chromium postgresql clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(RUNTIME): requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(DEV): requirements-dev.txt requirements.txt $(RUNTIME)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

## run: the console on the embedded SQLite default (data/review.sqlite, or $$REVIEW_DB);
##      GRAPH=file.py:ATTR or CONFIG=langgraph.json reviews your own graphs, POLICY=team.toml its rules
run: $(RUNTIME)
	$(PY) -m streamlit run serve.py -- $(if $(GRAPH),--graph "$(GRAPH)") $(if $(CONFIG),--config "$(CONFIG)") \
	  $(if $(POLICY),--policy "$(POLICY)")

## run-postgres: a local PostgreSQL (data in data/pg/, port $(PG_PORT)) and the console on it, for a demo
run-postgres: $(RUNTIME) postgresql
	$(PY) -m scripts.pg_cluster start data/pg $(PG_PORT) --database review
	@echo "console on $(PG_URL); a second replica: REVIEW_DB=$(PG_URL) $(PY) -m streamlit run app.py --server.port 8502"
	REVIEW_DB=$(PG_URL) $(PY) -m streamlit run serve.py

## stop-postgres: stop the cluster of make run-postgres (its data stays in data/pg/)
stop-postgres: | $(PY)
	$(PY) -m scripts.pg_cluster stop data/pg

## postgresql: Debian's PostgreSQL server for the tests and run-postgres (the tests start private clusters)
postgresql:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && [ -z "$$REVIEW_PG_BIN" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	  elif command -v sudo >/dev/null; then sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	  else echo "postgresql missing and no root: PostgreSQL tests will skip (fail with CI=true)"; fi; \
	fi

## chromium: Debian's Chromium for the browser tests (Playwright's own download does not work here)
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  elif command -v sudo >/dev/null; then sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium missing and no root: browser tests will skip (fail with CI=true)"; fi; \
	fi

## test: every test, browser tests included
test: $(DEV) chromium postgresql
	$(PY) -m pytest

## test-fast: everything but the browser tests
test-fast: $(DEV) postgresql
	$(PY) -m pytest -m "not e2e"

## lint: ruff (style, imports, docstrings) and mypy (types of the review core, the demo agent and the UI; the
##       core under --strict)
lint: $(DEV)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(PY) -m mypy --strict review

## bench: the benchmarks, figures and ratios printed side by side
bench: $(DEV) postgresql
	$(PY) -m bench

## bench-crash: crash-safety figures: children killed / paused at the worst moment, recovery, effects counted
bench-crash: $(DEV)
	$(PY) -m bench.crash --trials 20

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache tests/e2e/artifacts
