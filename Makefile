# One entry point for humans and CI. Every target builds the virtual environment
# it needs from the requirements files, so a fresh clone needs only Python 3.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 9100
SHIPPED := index.py sts_core

.PHONY: test lint run clean

$(VENV)/.runtime: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	# SCF's newest Python is 3.10: the shipped code must not need more than 3.9.
	$(BIN)/vermin --target=3.9- --violations --eval-annotations --no-tips $(SHIPPED)

test: lint
	$(BIN)/python -m pytest

run: $(VENV)/.runtime
	$(BIN)/python -m sts_core.emulator --port $(PORT)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis build dist
