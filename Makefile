# Build, run and test the kiosk. GNU make. Works with no terminal (CI=true, no stdin).
#
#   make run     system packages + .venv, then the headless lane sells the scripted demo basket
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

.PHONY: help deps venv run test lint typecheck contracts pytest bench demo-data clean

help:
	@echo "make run        install what is missing, then sell the demo basket in the headless lane"
	@echo "make test       install what is missing, then lint, typecheck, contracts and pytest"
	@echo "make deps       system packages (provisioning/install-deps.sh; root or sudo)"
	@echo "make venv       $(VENV) with the kiosk installed editable, with its test extras"
	@echo "make lint       ruff check and ruff format --check on $(LINT_PATHS)"
	@echo "make typecheck  mypy --strict on kiosk/ and central/ (config in setup.cfg)"
	@echo "make contracts  import-linter dependency contracts (config in setup.cfg)"
	@echo "make pytest     the pytest suite only"
	@echo "make bench      benchmarks (python -m bench), JSON output"
	@echo "make demo-data  regenerate kiosk/demo/*.csv from provisioning/make_demo_data.py"
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

run: $(DEPS_STAMP) $(VENV_STAMP)
	$(BIN)/kiosk demo init --dir $(DEMO_DIR)
	$(BIN)/kiosk sim --config $(DEMO_DIR)/kiosk.toml --demo

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

demo-data: $(VENV_STAMP)
	$(PY) -m provisioning.make_demo_data

clean:
	rm -rf $(VENV) build dist ./*.egg-info .mypy_cache .ruff_cache .pytest_cache \
		.hypothesis .import_linter_cache $(DEMO_DIR)
	find . -path ./.git -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
