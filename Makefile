# Fangzhi: `make run` installs everything and serves the demo; `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test install install-test system translations viewer bench clean

run: install
	$(BIN)/fangzhi demo
	$(BIN)/fangzhi serve

# The suite runs on every core (pytest-xdist): each worker starts its own test servers.
TEST_WORKERS ?= 2

test: install-test
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

bench: install-test
	$(BIN)/python bench/storage.py
	bash scripts/install-system.sh --bench
	$(BIN)/python bench/iiif.py
	$(BIN)/python bench/ocr.py
	$(BIN)/python bench/analysis.py
	$(BIN)/python bench/search.py
	$(BIN)/python bench/alliance.py
	$(BIN)/python bench/scale.py

install: system $(VENV)/.installed translations viewer
install-test: system $(VENV)/.installed-test translations viewer

system:
	bash scripts/install-system.sh

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# setup.py builds the C part of the search analysis (search/_analysis.c: gcc and the Python headers).
$(VENV)/.installed: setup.cfg pyproject.toml setup.py search/_analysis.c | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: setup.cfg pyproject.toml setup.py search/_analysis.c | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $(VENV)/.installed $@

# The item page's IIIF viewer (Mirador), exactly as pinned in package-lock.json.
viewer: node_modules/.installed

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

translations: $(VENV)/.installed
	$(BIN)/pybabel compile -d web/translations

# Refresh the message catalogue after changing user-facing text (then translate the .po file).
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -o web/translations/messages.pot .
	$(BIN)/pybabel update -i web/translations/messages.pot -d web/translations

clean:
	rm -rf $(VENV) .pytest_cache node_modules
