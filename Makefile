# Two commands on a fresh machine: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP := $(VENV)/.installed-dev
export PORTAL_INSTANCE_PATH ?= $(CURDIR)/instance

.PHONY: run test lint format catalogs translations clean browser-deps

run: $(RUNTIME_STAMP) catalogs
	$(BIN)/portal db upgrade
	$(BIN)/portal demo
	@echo "Serving the portal at http://127.0.0.1:5000 (Ctrl-C stops it)"
	PORTAL_SCHEDULER=$${PORTAL_SCHEDULER:-on} \
	PORTAL_SALES_EMAIL=$${PORTAL_SALES_EMAIL:-salj@leverantor.example.com} \
	$(BIN)/portal run --host 127.0.0.1 --port 5000

test: $(DEV_STAMP) catalogs browser-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/bandit --quiet --recursive portal
	env -u PORTAL_TEST_DATABASE_URL $(BIN)/pytest
	@if [ -n "$$PORTAL_TEST_DATABASE_URL" ]; then \
		echo "== the same suite on $$PORTAL_TEST_DATABASE_URL (the browser tests ran above) =="; \
		$(BIN)/pytest --ignore=tests/browser; \
	fi

# The browser tests (tests/browser) drive Debian's Chromium; they need axe-core and the W3C Nu
# HTML checker (vnu.jar, run on the machine's Java) from npm. Without /usr/bin/chromium nothing
# is installed and pytest skips them with the reason. They serve the portal from a SQLite
# database of their own, so they run once, in the SQLite pass. npm runs no install scripts:
# vnu-jar's would fetch a Java runtime when none is installed.
CHROMIUM := /usr/bin/chromium
BROWSER_DEPS := tests/browser/node_modules/.installed

browser-deps:
	@if [ -x $(CHROMIUM) ]; then $(MAKE) --no-print-directory $(BROWSER_DEPS); \
	else echo "$(CHROMIUM) is missing: the browser tests will be skipped"; fi

$(BROWSER_DEPS): tests/browser/package.json tests/browser/package-lock.json
	cd tests/browser && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/bandit --quiet --recursive portal

format: $(DEV_STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

catalogs: $(RUNTIME_STAMP)
	$(BIN)/pybabel compile -d portal/translations

# Re-extract the user-facing strings and merge them into the catalogs (then translate them).
translations: $(RUNTIME_STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
		-o portal/translations/messages.pot portal templates
	$(BIN)/pybabel update -i portal/translations/messages.pot -d portal/translations \
		--ignore-obsolete --no-fuzzy-matching --width 100

$(RUNTIME_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(DEV_STAMP): $(RUNTIME_STAMP)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

clean:
	rm -rf $(VENV) build dist .pytest_cache .ruff_cache tests/browser/node_modules
