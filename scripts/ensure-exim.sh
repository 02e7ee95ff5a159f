#!/usr/bin/env bash
# Installs Debian's Exim (exim4-daemon-light) for the e-mail tests against a real MTA
# (tests/integration/test_email_exim.py) when it is missing. Does nothing when `exim4`
# or `exim` is already there. The tests start a private Exim of their own (their own
# configuration, loopback, a free port: tests/integration/exim_support.py); the system
# daemon that the package may start on port 25 is stopped and disabled right after the
# install, so nothing is left listening.
set -euo pipefail
have_exim() {
  command -v exim4 >/dev/null 2>&1 || command -v exim >/dev/null 2>&1 \
    || [ -x /usr/sbin/exim4 ] || [ -x /usr/sbin/exim ]
}
if have_exim; then
  exit 0
fi
# No way to install here (no apt-get, no root): say so and let the tests skip (they fail
# instead under CONSO_REQUIRE_SERVICES=1). An install that was attempted and failed
# stops `make test` with a non-zero status, like ensure-tshark.sh.
skip() {
  echo "ensure-exim: $*" >&2
  echo "ensure-exim: the Exim e-mail tests will skip (or fail under CONSO_REQUIRE_SERVICES=1)" >&2
  exit 0
}
fail() {
  echo "ensure-exim: FAILED: $*" >&2
  exit 1
}
if ! command -v apt-get >/dev/null 2>&1; then
  skip "no apt-get here; install Exim (e.g. your OS package 'exim4-daemon-light') yourself"
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    skip "not root and no password-less sudo; run as root: DEBIAN_FRONTEND=noninteractive apt-get install -y exim4-daemon-light"
  fi
fi
echo "ensure-exim: installing Debian's exim4-daemon-light (apt-get)" >&2
if ! $SUDO apt-get update -qq; then
  fail "apt-get update failed; check the network / APT sources and retry: bash scripts/ensure-exim.sh"
fi
if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq exim4-daemon-light >/dev/null; then
  fail "apt-get install exim4-daemon-light failed; run by hand: DEBIAN_FRONTEND=noninteractive apt-get install -y exim4-daemon-light"
fi
# The package starts the system MTA where services may start (not in a container whose
# policy-rc.d forbids it): stop it and keep it from starting at boot. The tests run
# their own Exim; nothing of ours needs port 25.
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  $SUDO systemctl disable --now exim4 >/dev/null 2>&1 || true
else
  if command -v invoke-rc.d >/dev/null 2>&1; then
    $SUDO invoke-rc.d exim4 stop >/dev/null 2>&1 || true
  fi
  if command -v update-rc.d >/dev/null 2>&1; then
    $SUDO update-rc.d exim4 disable >/dev/null 2>&1 || true
  fi
fi
if [ -r /run/exim4/exim.pid ] && $SUDO kill -0 "$(cat /run/exim4/exim.pid)" 2>/dev/null; then
  # Still there (no init script could stop it): end that one daemon, by its pid file.
  $SUDO kill "$(cat /run/exim4/exim.pid)" || fail "could not stop the system Exim daemon"
fi
if ! have_exim; then
  fail "apt-get reported success but neither exim4 nor exim is installed"
fi
exim_bin=$(command -v exim4 || command -v exim || echo /usr/sbin/exim4)
echo "ensure-exim: $("$exim_bin" -bV 2>/dev/null | head -n 1)" >&2
