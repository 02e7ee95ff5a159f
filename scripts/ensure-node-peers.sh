#!/usr/bin/env bash
# Installs the Node.js test peers once and reuses them:
# - tests/peers/smsc-node: an SMPP 3.4 SMS centre built on the npm package `smpp`;
# - tests/peers/portal-audit: `axe-core` and `lighthouse` 12.2.3, the portal's
#   accessibility and Lighthouse audits (tests/e2e/test_accessibility.py, test_lighthouse.py).
# Installs Debian's nodejs and npm with apt-get when `node` or `npm` is missing (as root,
# or with password-less sudo), then runs `npm ci` in a peer's folder only when its
# node_modules is missing a package or package-lock.json is newer than
# node_modules/.package-lock.json (what npm writes after an install).
#
# No way to install here (no apt-get, no root): say so and let the tests skip (they fail
# instead under CONSO_REQUIRE_SERVICES=1). An install that was attempted and failed stops
# `make test` with a non-zero status, like ensure-tshark.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
skip() {
  echo "ensure-node-peers: $*" >&2
  echo "ensure-node-peers: the Node.js SMSC, axe-core and Lighthouse tests will skip (or fail under CONSO_REQUIRE_SERVICES=1)" >&2
  exit 0
}
fail() {
  echo "ensure-node-peers: FAILED: $*" >&2
  exit 1
}

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  if ! command -v apt-get >/dev/null 2>&1; then
    skip "node/npm missing and no apt-get here; install Node.js (>= 18) and npm yourself"
  fi
  SUDO=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
      skip "node/npm missing, not root and no password-less sudo; run as root: apt-get install -y nodejs npm"
    fi
  fi
  echo "ensure-node-peers: installing Debian's nodejs and npm (apt-get)" >&2
  if ! $SUDO apt-get update -qq; then
    fail "apt-get update failed; check the network / APT sources and retry"
  fi
  if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; then
    fail "apt-get install nodejs npm failed; run by hand: DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs npm"
  fi
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    fail "apt-get reported success but node or npm is not on PATH"
  fi
  echo "ensure-node-peers: $(node --version), npm $(npm --version)" >&2
fi

# ensure_peer FOLDER PACKAGE...: `npm ci` in tests/peers/FOLDER unless every PACKAGE is
# installed and the lock file is not newer than the install.
ensure_peer() {
  local name="$1"; shift
  local peer="$ROOT/tests/peers/$name" stamp="$ROOT/tests/peers/$name/node_modules/.package-lock.json"
  local package missing=""
  for package in "$@"; do
    [ -f "$peer/node_modules/$package/package.json" ] || missing=1
  done
  if [ -z "$missing" ] && [ -f "$stamp" ] && [ ! "$peer/package-lock.json" -nt "$stamp" ]; then
    return 0
  fi
  echo "ensure-node-peers: npm ci in tests/peers/$name" >&2
  if ! npm ci --prefix "$peer" --no-audit --no-fund --loglevel=error >&2; then
    fail "npm ci in $peer failed; run by hand: npm ci --prefix tests/peers/$name"
  fi
  for package in "$@"; do
    if [ ! -f "$peer/node_modules/$package/package.json" ]; then
      fail "npm ci reported success but $peer/node_modules/$package is missing"
    fi
  done
}

ensure_peer smsc-node smpp
ensure_peer portal-audit axe-core lighthouse
