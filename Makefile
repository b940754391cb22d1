# Build, run and test the kiosk. GNU make. Works with no terminal (CI=true, no stdin).
#
#   make run     system packages + .venv, then a whole demo store under supervisord (var/run-store)
#   make stop    shut that store down
#   make test    system packages + .venv, then lint, typecheck, contracts and pytest, in order
#
# System packages come from provisioning/install-deps.sh (apt-get as root, sudo otherwise);
# Python packages go into $(VENV). Both steps are stamped and only run again when their
# inputs change.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin

DEPS_SCRIPT := provisioning/install-deps.sh
DEPS_STAMP := $(VENV)/.deps-stamp
VENV_STAMP := $(VENV)/.venv-stamp

LINT_PATHS := kiosk central provisioning tests bench
DEMO_DIR := var/demo

export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PIP_NO_INPUT := 1

.PHONY: help deps venv run stop test lint typecheck contracts pytest bench demo-data clean i18n

help:
	@echo "make run        install what is missing, then start a demo store under supervisord"
	@echo "make stop       stop the store that make run started"
	@echo "make test       install what is missing, then lint, typecheck, contracts and pytest"
	@echo "make deps       system packages (provisioning/install-deps.sh; root or sudo)"
	@echo "make venv       $(VENV) with the kiosk installed editable, with its test extras"
	@echo "make lint       ruff check and ruff format --check on $(LINT_PATHS)"
	@echo "make typecheck  mypy --strict on kiosk/ and central/ (config in setup.cfg)"
	@echo "make contracts  import-linter dependency contracts (config in setup.cfg)"
	@echo "make pytest     the pytest suite only"
	@echo "make bench      benchmarks (python -m bench), JSON output"
	@echo "make demo-data  regenerate kiosk/demo/*.csv from provisioning/make_demo_data.py"
	@echo "make i18n       extract the touchscreen's strings, update and compile its catalogs"
	@echo "make clean      remove $(VENV), caches, build output and $(DEMO_DIR)"

# --- set-up -------------------------------------------------------------------------------

$(DEPS_STAMP): $(DEPS_SCRIPT)
	bash $(DEPS_SCRIPT)
	mkdir -p $(VENV)
	touch $@

deps: $(DEPS_STAMP)

# The deps stamp is order-only: a changed system script must not force a pip reinstall.
$(VENV_STAMP): setup.cfg pyproject.toml | $(DEPS_STAMP)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

venv: $(VENV_STAMP)

# --- main job -----------------------------------------------------------------------------

# Broker, central consumers, kiosk sync and the kiosk (Kivy with a display, else the headless
# lane) under supervisord in $(STORE_DIR); provisioning/run_store.py. HEADLESS=1: no Kivy.
STORE_DIR := var/run-store
run: $(DEPS_STAMP) $(VENV_STAMP)
	$(PY) -m provisioning.run_store start --dir $(STORE_DIR) $(if $(HEADLESS),--headless)

stop:
	@if test -x $(PY); then $(PY) -m provisioning.run_store stop --dir $(STORE_DIR); \
	else echo "no store is running (no $(VENV))"; fi

# --- checks -------------------------------------------------------------------------------

# Each step runs in its own make so that the order holds even under `make -j`.
test: $(DEPS_STAMP) $(VENV_STAMP)
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory typecheck
	$(MAKE) --no-print-directory contracts
	$(MAKE) --no-print-directory pytest

lint: $(VENV_STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

typecheck: $(VENV_STAMP)
	$(BIN)/mypy kiosk central

contracts: $(VENV_STAMP)
	$(BIN)/lint-imports

pytest: $(VENV_STAMP)
	$(BIN)/pytest

bench: $(DEPS_STAMP) $(VENV_STAMP)
	$(PY) -m bench

# The touchscreen's gettext catalogs (Babel, babel.cfg). The compiled .mo files are committed,
# so a clean clone runs and tests without this step; tests/unit/ui/test_catalogs.py fails when
# a string is not extracted, not translated in every language, or a .mo is stale.
LOCALE_DIR := kiosk/ui/locale
I18N_LANGS := zh_CN en ja
i18n: $(VENV_STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k n_:1,2 -k t --no-location \
		--sort-output --project=kiosk -o $(LOCALE_DIR)/kiosk.pot .
	for lang in $(I18N_LANGS); do \
		$(BIN)/pybabel update --init-missing -D kiosk -d $(LOCALE_DIR) -l $$lang \
			--no-fuzzy-matching --ignore-obsolete -i $(LOCALE_DIR)/kiosk.pot; \
	done
	$(BIN)/pybabel compile -D kiosk -d $(LOCALE_DIR) --statistics

demo-data: $(VENV_STAMP)
	$(PY) -m provisioning.make_demo_data

clean:
	rm -rf $(VENV) build dist ./*.egg-info .mypy_cache .ruff_cache .pytest_cache \
		.hypothesis .import_linter_cache $(DEMO_DIR)
	find . -path ./.git -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
