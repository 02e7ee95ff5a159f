# The two commands of the README: `make demo` and `make test`.
# Both create .venv when it is missing and (re)install when pyproject.toml changed
# (or a module that the install compiles: see COMPILED_SOURCES).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: install demo demo-reset test lint unit e2e browser tshark peers bench-quick clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Again when the domain modules that setup.py compiles change: their extensions are used
# only while they are the build of their source (src/conso/compiled.py).
COMPILED_SOURCES := setup.py $(wildcard src/conso/domain/*.pxd) \
  src/conso/domain/records.py src/conso/domain/rating.py

$(STAMP): pyproject.toml $(COMPILED_SOURCES) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

bench-quick: $(STAMP)
	mkdir -p test-artifacts
	$(BIN)/conso bench --quick --json test-artifacts/bench-quick.json \
	  --plot test-artifacts/bench-quick.png

demo: $(STAMP)
	$(BIN)/conso serve --demo --port $(PORT) --diameter 127.0.0.1:3868 --nchf 127.0.0.1:8443

# Start the demo afresh: deletes the demo's SQLite database (./conso.db and its -wal,
# -shm and .operator-key files). It stops nothing: stop `make demo` first (Ctrl-C).
demo-reset:
	rm -f conso.db conso.db-wal conso.db-shm conso.db-journal conso.db.operator-key

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/mypy --strict src

browser:
	bash scripts/ensure-chromium.sh

# Wireshark's tshark decodes conso's Diameter bytes in tests/integration/test_diameter_wire.py.
tshark:
	bash scripts/ensure-tshark.sh

# The SMS centre on the npm `smpp` package (tests/peers/smsc-node) and Debian's Exim,
# the peers of the SMPP and e-mail tests, and the portal's audit tools (axe-core,
# Lighthouse: tests/peers/portal-audit); each installed once and reused.
peers:
	bash scripts/ensure-node-peers.sh
	bash scripts/ensure-exim.sh

# `make test` runs pytest twice (README "Tests"): first the tests marked `serial`, which
# measure the machine, alone (exit 5, none selected, is fine); then all the others on
# TEST_WORKERS pytest-xdist workers (one per core), each test file on one worker
# (--dist loadfile: a file's module and session fixtures start once), in collection
# order: the long browser and integration files first, the many short unit files last.
# Both always run; the first failure's status is the result. At most 4 workers: each
# starts its own servers, PostgreSQL connections and Chromium.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ $$n -le 4 ] || n=4; echo $$n)

test: lint browser tshark peers
	status=0; \
	$(BIN)/python -m pytest -p no:xdist -m serial || { code=$$?; [ $$code -eq 5 ] || status=$$code; }; \
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder \
	  -m "not serial" || { code=$$?; [ $$status -ne 0 ] || status=$$code; }; \
	exit $$status

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

e2e: $(STAMP) browser
	bash scripts/ensure-node-peers.sh  # axe-core and Lighthouse (tests/peers/portal-audit)
	$(BIN)/python -m pytest tests/e2e

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis test-artifacts
	rm -f src/conso/domain/*.so src/conso/domain/*.c src/conso/domain/compiled.json
