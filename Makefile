# The two commands of the README: `make demo` and `make test`.
# Both create .venv when it is missing and (re)install when pyproject.toml changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: install demo test lint unit e2e browser tshark peers bench-quick clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

bench-quick: $(STAMP)
	mkdir -p test-artifacts
	$(BIN)/conso bench --quick --json test-artifacts/bench-quick.json \
	  --plot test-artifacts/bench-quick.png

demo: $(STAMP)
	$(BIN)/conso serve --demo --port $(PORT) --diameter 127.0.0.1:3868 --nchf 127.0.0.1:8443

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/mypy --strict src

browser:
	bash scripts/ensure-chromium.sh

# Wireshark's tshark decodes conso's Diameter bytes in tests/integration/test_diameter_wire.py.
tshark:
	bash scripts/ensure-tshark.sh

# The SMS centre on the npm `smpp` package (tests/peers/smsc-node) and Debian's Exim,
# the peers of the SMPP and e-mail tests; each installed once and reused.
peers:
	bash scripts/ensure-node-peers.sh
	bash scripts/ensure-exim.sh

test: lint browser tshark peers
	$(BIN)/python -m pytest

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

e2e: $(STAMP) browser
	$(BIN)/python -m pytest tests/e2e

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis test-artifacts
