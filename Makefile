# One entry point for humans and CI. Every target builds the virtual environment
# it needs from the requirements files, so a fresh clone needs only Python 3.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 9000
COS_PORT ?= 9001
SHIPPED := index.py sts_core

.PHONY: test lint run package bench clean system-deps

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

# Debian packages some tests drive (redis-server, Chromium): installed when root.
system-deps:
	bash scripts/system_deps.sh

test: lint system-deps
	$(BIN)/python -m pytest

# The local endpoint: HTTP -> API Gateway event -> index.main_handler, on the
# built-in STS emulator and a local COS unless Tencent keys are in the environment.
run: $(VENV)/.runtime
	$(BIN)/python -m sts_core serve --port $(PORT) --cos-port $(COS_PORT)

# build/scf and build/cos-sts-scf.zip: what SCF runs (see scripts/package.py).
# JWKS=1 adds cryptography for tokens from an OIDC provider's key set.
package: $(VENV)/.runtime
	$(BIN)/python scripts/package.py $(if $(JWKS),--with-jwks)

# Ours vs qcloud-python-sts vs the official SDK, in one run (see bench/bench.py).
bench: $(VENV)/.dev
	$(BIN)/python bench/bench.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis build dist
