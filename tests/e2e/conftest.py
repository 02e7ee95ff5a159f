"""Fixtures for the portal's browser tests: a real `conso serve --demo` process and Chromium.

The server is started the way an operator starts it (`python -m conso.cli serve --demo`),
on a free port, with its own SQLite file; the demo account is seeded and its live traffic
generator runs. The browser is Debian's Chromium driven by Playwright's sync API: no
browser is ever downloaded.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import httpx
import pytest

from support import ports

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
INSTALL_HINT = "install Debian's chromium: apt-get install -y chromium"
OPERATOR_KEY = "e2e-test-operator-key-8d2a"
STARTUP_DEADLINE = 30.0
STOP_DEADLINE = 10.0
ACTION_TIMEOUT_MS = 5_000
REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"


def _unavailable(reason: str) -> NoReturn:
    """Fail when the services are required (CI), skip otherwise."""
    if os.environ.get("CONSO_REQUIRE_SERVICES") == "1":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


# -- the server ---------------------------------------------------------------------


@dataclass
class PortalServer:
    base_url: str
    operator_key: str
    process: subprocess.Popen[bytes]
    stderr_path: Path

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def api(self) -> httpx.Client:
        """A client of the HTTP API with the operator key."""
        return httpx.Client(base_url=self.base_url, timeout=10.0,
                            headers={"Authorization": f"Bearer {self.operator_key}"})


def _free_port() -> int:
    # Under pytest-xdist, from this worker's own range (tests/support/ports.py).
    return ports.free_port()


def _spawn(workdir: Path) -> PortalServer:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSO_")}
    env["PYTHONUNBUFFERED"] = "1"
    env["CONSO_OPERATOR_KEY"] = OPERATOR_KEY
    command = [sys.executable, "-m", "conso.cli", "serve", "--demo", "--port", str(port),
               "--db", f"sqlite:///{workdir / 'conso.db'}"]
    stdout_path = workdir / f"serve-{port}.out"
    stderr_path = workdir / f"serve-{port}.err"
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, cwd=workdir, env=env)
    return PortalServer(f"http://127.0.0.1:{port}", OPERATOR_KEY, process, stderr_path)


def _stop(server: PortalServer) -> None:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(STOP_DEADLINE)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(STOP_DEADLINE)


def _wait_healthy(server: PortalServer) -> None:
    end = time.monotonic() + STARTUP_DEADLINE
    last = "no answer yet"
    while time.monotonic() < end:
        code = server.process.poll()
        if code is not None:
            raise RuntimeError(f"conso serve --demo exited with {code}; stderr:\n"
                               f"{server.stderr()}")
        try:
            answer = httpx.get(f"{server.base_url}/healthz", timeout=1.0)
            if answer.status_code == 200:
                return
            last = f"/healthz answered {answer.status_code}"
        except httpx.TransportError as exc:
            last = repr(exc)
        time.sleep(0.05)
    raise RuntimeError(f"conso serve --demo not healthy after {STARTUP_DEADLINE}s ({last}); "
                       f"stderr:\n{server.stderr()}")


@pytest.fixture(scope="session")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PortalServer]:
    """One demo server for the whole e2e session (retried if its port was taken)."""
    workdir = tmp_path_factory.mktemp("conso-e2e")
    for attempt in range(3):
        server = _spawn(workdir)
        try:
            _wait_healthy(server)
        except RuntimeError as exc:
            _stop(server)
            if attempt < 2 and "address already in use" in server.stderr().lower():
                continue
            pytest.fail(str(exc), pytrace=False)
        break
    try:
        yield server
    finally:
        _stop(server)


@pytest.fixture(scope="session")
def base_url(portal: PortalServer) -> str:
    return portal.base_url


@pytest.fixture(scope="session")
def op_api(portal: PortalServer) -> Iterator[httpx.Client]:
    with portal.api() as client:
        yield client


# -- the browser --------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (never a downloaded browser)."""
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing; {INSTALL_HINT}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the Python playwright package is missing: pip install -e '.[test]'")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def context(browser: Any, base_url: str) -> Iterator[Any]:
    """A fresh browser profile (no cookies) per test."""
    ctx = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(ACTION_TIMEOUT_MS)
    ctx.set_default_navigation_timeout(ACTION_TIMEOUT_MS * 2)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page(context: Any) -> Any:
    return context.new_page()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


# -- the audit tools (axe-core, Lighthouse) ----------------------------------------

AUDIT_PEER = REPO_ROOT / "tests" / "peers" / "portal-audit"


@pytest.fixture(scope="session")
def audit_peer() -> Path:
    """tests/peers/portal-audit with its npm packages (axe-core, lighthouse), which
    scripts/ensure-node-peers.sh installs once."""
    for package in ("axe-core", "lighthouse"):
        if not (AUDIT_PEER / "node_modules" / package / "package.json").is_file():
            _unavailable(f"{AUDIT_PEER}/node_modules/{package} is missing; "
                         "run: bash scripts/ensure-node-peers.sh")
    return AUDIT_PEER
