# One entry point for humans and CI. Every target builds the virtual environment
# it needs from the requirements files, so a fresh clone needs only Python 3.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 9000
COS_PORT ?= 9001
PLAYGROUND_PORT ?= 9002
SHIPPED := index.py sts_core

.PHONY: test test-fast lint run package bench bench-login bench-uploads bench-scale bench-tickets clean system-deps node-deps deploy cam-policy

$(VENV)/.runtime: requirements.txt
	test -x $(BIN)/python || { $(PYTHON) scripts/check_python.py && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

# cos-python-sdk-v5, for the upload snippet `make run` prints and check-deployment.
$(VENV)/.check: $(VENV)/.runtime requirements-check.txt
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements-check.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	# SCF's newest Python is 3.10: the shipped code must not need more than 3.9.
	$(BIN)/vermin --target=3.9- --violations --eval-annotations --no-tips $(SHIPPED)
	# The layers: what ships never imports the tooling; no import cycles.
	$(BIN)/lint-imports --no-cache

# Debian packages some tests drive (redis-server, Chromium): installed when root.
system-deps:
	bash scripts/system_deps.sh

# tencent-component-toolkit for tests/test_deploy_code.py (serverless.yml through
# Tencent's deploy code): `npm ci` from the committed lockfile whenever it changes.
DEPLOY_CHECK := tests/deploy
$(DEPLOY_CHECK)/node_modules/.package-lock.json: $(DEPLOY_CHECK)/package.json $(DEPLOY_CHECK)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  cd $(DEPLOY_CHECK) && npm ci --ignore-scripts --no-audit --no-fund && touch node_modules/.package-lock.json; \
	else echo "note: npm not found, so tests/test_deploy_code.py skips (CI=true: fails); install nodejs and npm"; fi

# cos-js-sdk-v5 and cos-nodejs-sdk-v5 (exact pins) for the playground, browser and
# Node tests (the vendored SDK is checked against this copy; tests/browser/node-example.js
# runs on the other): `npm ci` from the committed lockfile whenever it changes.
BROWSER_CHECK := tests/browser
$(BROWSER_CHECK)/node_modules/.package-lock.json: $(BROWSER_CHECK)/package.json $(BROWSER_CHECK)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  cd $(BROWSER_CHECK) && npm ci --ignore-scripts --no-audit --no-fund && touch node_modules/.package-lock.json; \
	else echo "note: npm not found, so tests/test_node_sdk.py skips (CI=true: fails); install nodejs and npm"; fi

# cos-wx-sdk-v5 (exact pin) for tests/test_wx_sdk.py: the mini-program SDK in Node.
WX_CHECK := tests/wx
$(WX_CHECK)/node_modules/.package-lock.json: $(WX_CHECK)/package.json $(WX_CHECK)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  cd $(WX_CHECK) && npm ci --ignore-scripts --no-audit --no-fund && touch node_modules/.package-lock.json; \
	else echo "note: npm not found, so tests/test_wx_sdk.py skips (CI=true: fails); install nodejs and npm"; fi

node-deps: $(DEPLOY_CHECK)/node_modules/.package-lock.json $(BROWSER_CHECK)/node_modules/.package-lock.json $(WX_CHECK)/node_modules/.package-lock.json

test: lint system-deps node-deps
	$(BIN)/python -m pytest

# The quick loop: lint, then every test but the slow ones (package builds,
# benchmarks, Node and Chromium), property tests on a quarter of their examples
# (tests/conftest.py), on two workers; installs no system or npm packages.
test-fast: lint
	$(BIN)/python -m pytest -m "not slow" --hypothesis-profile=fast -n 2

# The local endpoint: HTTP -> API Gateway event -> index.main_handler, on the
# built-in STS emulator and a local COS unless Tencent keys are in the environment.
run: $(VENV)/.check
	$(BIN)/python -m sts_tools serve --port $(PORT) --cos-port $(COS_PORT) --playground-port $(PLAYGROUND_PORT)

# build/scf and build/cos-sts-scf.zip: what SCF runs (see sts_tools/commands/package.py).
# JWKS=1 adds cryptography for tokens from an OIDC provider's key set; REDIS=1
# adds redis-py and cryptography for shared state on Redis (STS_REDIS_URL).
package: $(VENV)/.runtime
	$(BIN)/python -m sts_tools package $(if $(JWKS),--with-jwks) $(if $(REDIS),--with-redis)

# Preflight (fails fast, naming the variable), make package, then
# scf deploy --stage $(STAGE) --noValidation. STAGE defaults to dev; DRY_RUN=1
# runs the preflight and prints the commands without running them.
deploy: $(VENV)/.runtime
	$(BIN)/python -m sts_tools deploy $(if $(STAGE),--stage $(STAGE)) $(if $(DRY_RUN),--dry-run)

# The CAM policies and trust policies to paste for the roles (or sub-account) the
# function signs STS calls with, derived from config.yml and .env.
cam-policy: $(VENV)/.runtime
	$(BIN)/python -m sts_tools cam-policy

# Ours vs qcloud-python-sts vs the official SDK, in one run (see bench/bench.py).
bench: $(VENV)/.dev
	$(BIN)/python bench/bench.py
	$(BIN)/python bench/login.py
	$(BIN)/python bench/uploads.py

# Sign-in with WeChat: the route's cost besides WeChat's round trip, and /sts with the
# function's session token against an app token (bench/login.py).
bench-login: $(VENV)/.dev
	$(BIN)/python bench/login.py

# COS events, the webhook and quotas: their cost, and STS calls (bench/uploads.py).
bench-uploads: $(VENV)/.dev
	$(BIN)/python bench/uploads.py

# One full SDK round on the local stack: mint keys -> upload -> download.
bench-sdk: $(VENV)/.dev
	$(BIN)/python bench/sdk_round.py

# Upload tickets against the keys they replace: latency, STS calls (bench/tickets.py).
bench-tickets: $(VENV)/.dev
	$(BIN)/python bench/tickets.py

# Many instances, per-instance cache vs Redis, a mobile workload (see bench/scale.py).
bench-scale: $(VENV)/.dev
	$(BIN)/python bench/scale.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis build dist $(DEPLOY_CHECK)/node_modules $(BROWSER_CHECK)/node_modules $(WX_CHECK)/node_modules
