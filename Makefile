# Every target sets up its own virtual environment; nothing but Python and PyPI is needed.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: test figures figures-quick bench clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest

figures: $(STAMP)
	$(PY) -m figures

figures-quick: $(STAMP)
	$(PY) -m figures --quick

bench: $(STAMP)
	$(PY) -m bench

clean:
	rm -rf $(VENV) .cache build dist *.egg-info .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
