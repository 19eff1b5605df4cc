# Every target creates the virtual environment first if it is missing or stale.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench docs clean

# examples/hub-ebay is installed from its folder after the hub, exactly as a third party
# installs a plugin (not editable: a change to it reinstalls through this stamp)
EBAY := examples/hub-ebay

$(STAMP): pyproject.toml $(EBAY)/pyproject.toml $(wildcard $(EBAY)/hub_ebay/*.py $(EBAY)/hub_ebay/reference/*)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,docs]"
	$(PY) -m pip install --quiet ./$(EBAY)
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/hub demo

# one worker per core, each test file on one worker (its module fixtures built once)
test: $(STAMP)
	$(PY) -m pytest -n auto --dist loadfile --durations=30

lint: $(STAMP)
	$(VENV)/bin/ruff check hub plugins tests bench tools examples
	$(VENV)/bin/ruff format --check hub plugins tests bench tools examples
	$(VENV)/bin/mypy hub

# The site is built into site/; --strict fails on a broken link or a missing reference.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

bench: $(STAMP)
	@for script in bench/*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) .demo .pytest_cache .mypy_cache .ruff_cache site
