#!/usr/bin/env bash
# Installs Debian's tshark (Wireshark's command-line dissector) for the Diameter wire
# test (tests/integration/test_diameter_wire.py) when it is missing. Does nothing when
# `tshark` is already on PATH. Non-interactive: the wireshark-common debconf question
# ("Should non-superusers be able to capture packets?") is preseeded to "false", so the
# test captures as root (as here and in CI); a non-root runner needs
# `setcap cap_net_raw,cap_net_admin+eip /usr/bin/dumpcap` or the wireshark group.
set -euo pipefail
if command -v tshark >/dev/null 2>&1; then
  exit 0
fi
# No way to install here (no apt-get, no root): say so and let the test skip (it fails
# instead under CONSO_REQUIRE_SERVICES=1). An install that was attempted and failed
# stops `make test` with a non-zero status, like ensure-chromium.sh.
skip() {
  echo "ensure-tshark: $*" >&2
  echo "ensure-tshark: the Diameter wire test will skip (or fail under CONSO_REQUIRE_SERVICES=1)" >&2
  exit 0
}
fail() {
  echo "ensure-tshark: FAILED: $*" >&2
  exit 1
}
if ! command -v apt-get >/dev/null 2>&1; then
  skip "no apt-get here; install Wireshark's tshark (e.g. your OS package 'tshark') yourself"
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    skip "not root and no password-less sudo; run as root: DEBIAN_FRONTEND=noninteractive apt-get install -y tshark"
  fi
fi
echo "ensure-tshark: installing Debian's tshark (apt-get)" >&2
if command -v debconf-set-selections >/dev/null 2>&1; then
  echo "wireshark-common wireshark-common/install-setuid boolean false" \
    | $SUDO debconf-set-selections \
    || echo "ensure-tshark: could not preseed wireshark-common (continuing)" >&2
fi
if ! $SUDO apt-get update -qq; then
  fail "apt-get update failed; check the network / APT sources and retry: make tshark"
fi
if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tshark >/dev/null; then
  fail "apt-get install tshark failed; run by hand: DEBIAN_FRONTEND=noninteractive apt-get install -y tshark"
fi
if ! command -v tshark >/dev/null 2>&1; then
  fail "apt-get reported success but tshark is not on PATH"
fi
echo "ensure-tshark: $(tshark --version | head -n 1)" >&2
