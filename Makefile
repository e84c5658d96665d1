# Two commands: `make run` (set up, start the local host with demo data) and `make test` (set up, run all tests).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 7071

.PHONY: run test test-deps bench clean

run: $(VENV)/.local-installed local.settings.json
	$(BIN)/python manage.py serve --demo --port $(PORT)

test: $(VENV)/.dev-installed test-deps
	$(BIN)/python -m pytest

bench: $(VENV)/.dev-installed
	$(BIN)/python -m bench

local.settings.json:
	cp local.settings.sample.json local.settings.json

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.local-installed: requirements.txt requirements-local.txt | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -r requirements-local.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-local.txt requirements-dev.txt | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.local-installed

# Node packages for the tests (the Cosmos-protocol server), installed from the lock file; Debian's Chromium for
# the browser tests (Playwright drives /usr/bin/chromium), installed when missing.
test-deps:
	@if [ -f tests/cosmos_server/package.json ]; then \
		cd tests/cosmos_server && (npm ci --no-audit --no-fund --silent || npm install --no-audit --no-fund --silent); fi
	@if [ ! -x /usr/bin/chromium ]; then \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; fi

clean:
	rm -rf $(VENV) .data .pytest_cache
