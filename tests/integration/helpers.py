"""Helpers for the integration tests: real `conso serve` processes and API shortcuts.

Every server is a separate process started the way an operator starts it
(`python -m conso.cli serve ...`), on a free port, with its own SQLite file.
"""

from __future__ import annotations

import itertools
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import orjson
import pytest

from support import ports

T = TypeVar("T")

OPERATOR_KEY = "integration-test-operator-key-5f1c"
PASSWORD = "correct-horse-battery"
STARTUP_DEADLINE = 30.0
STOP_DEADLINE = 10.0
PROBLEM_JSON = "application/problem+json"

# The reference catalogue (shared/spec/catalog.toml), in the API's units.
KING_VOICE_SECONDS = 300 * 60
KING_SMS = 500
KING_DATA_BYTES = 10 * 10**9


# -- server processes -----------------------------------------------------------


def free_port() -> int:
    """A port nobody listens on right now; under pytest-xdist, from this worker's own
    range, which no other worker hands out (tests/support/ports.py)."""
    return ports.free_port()


def conso_env(operator_key: str | None = OPERATOR_KEY) -> dict[str, str]:
    """The environment of a conso process: none of the caller's CONSO_* settings leak in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSO_")}
    env["PYTHONUNBUFFERED"] = "1"
    if operator_key is not None:
        env["CONSO_OPERATOR_KEY"] = operator_key
    return env


def conso_command(*args: str) -> list[str]:
    """The command line of the `conso` CLI, run by the interpreter of the tests."""
    return [sys.executable, "-m", "conso.cli", *args]


@dataclass
class Server:
    base_url: str
    operator_key: str
    process: subprocess.Popen[bytes]
    db_path: Path
    stdout_path: Path
    stderr_path: Path
    port: int
    url: str | None = None  # the store's URL when it is not the SQLite file db_path

    @property
    def db_url(self) -> str:
        return self.url or f"sqlite:///{self.db_path}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def client(self, token: str | None = None, timeout: float = 30.0) -> httpx.Client:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)

    def operator(self) -> httpx.Client:
        return self.client(self.operator_key)


def start_server(
    workdir: Path,
    db_path: Path,
    *,
    operator_key: str = OPERATOR_KEY,
    extra_args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    db_url: str | None = None,
    deadline: float = STARTUP_DEADLINE,
    attempts: int = 3,
) -> Server:
    """Start `conso serve` on a free port and wait until /healthz answers 200.

    The port is free when chosen but another process may take it before the server
    binds it; then the start is retried on another port.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    for attempt in range(attempts):
        server = _spawn(workdir, db_path, operator_key, extra_args=extra_args, env=env or {},
                        db_url=db_url)
        try:
            wait_healthy(server, deadline)
        except BaseException:
            stop_server(server)
            if attempt + 1 < attempts and "address already in use" in server.stderr().lower():
                continue
            raise
        return server
    raise AssertionError("unreachable")


def _spawn(workdir: Path, db_path: Path, operator_key: str, *,
           extra_args: Sequence[str], env: Mapping[str, str],
           db_url: str | None = None) -> Server:
    port = free_port()
    tag = f"{port}-{uuid.uuid4().hex[:6]}"
    stdout_path = workdir / f"serve-{tag}.out"
    stderr_path = workdir / f"serve-{tag}.err"
    command = conso_command("serve", "--port", str(port), "--db",
                            db_url or f"sqlite:///{db_path}", *extra_args)
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, cwd=workdir,
                                   env={**conso_env(operator_key), **env})
    return Server(f"http://127.0.0.1:{port}", operator_key, process, db_path,
                  stdout_path, stderr_path, port, db_url)


def start_server_env(workdir: Path, db_path: Path, env: Mapping[str, str], *,
                     operator_key: str = OPERATOR_KEY) -> Server:
    """`conso serve` with extra CONSO_* settings in its environment, healthy when returned."""
    return start_server(workdir, db_path, operator_key=operator_key, env=env)


def wait_for(check: Callable[[], T], what: str, deadline: float = 20.0,
             interval: float = 0.02) -> T:
    """Call `check` until it returns something truthy; fail after `deadline` seconds."""
    end = time.monotonic() + deadline
    last: T = check()
    while not last:
        if time.monotonic() >= end:
            pytest.fail(f"after {deadline}s still waiting for: {what} (last: {last!r})",
                        pytrace=False)
        time.sleep(interval)
        last = check()
    return last


def wait_collected(seen: threading.Condition, found: Callable[[], list[T]], *, count: int,
                   timeout: float, what: Callable[[], str]) -> list[T]:
    """What a receiver thread has collected, once `found` holds `count` items: `seen` is
    notified by the receiver after each; fail after `timeout` seconds with `what()`."""
    end = time.monotonic() + timeout
    with seen:
        while True:
            items = found()
            if len(items) >= count:
                return items
            left = end - time.monotonic()
            if left <= 0:
                pytest.fail(what(), pytrace=False)
            seen.wait(left)


def wait_healthy(server: Server, deadline: float) -> None:
    end = time.monotonic() + deadline
    last_error = "no answer yet"
    while time.monotonic() < end:
        code = server.process.poll()
        if code is not None:
            pytest.fail(f"conso serve exited with {code} before it was healthy; stderr:\n"
                        f"{server.stderr()}", pytrace=False)
        try:
            answer = httpx.get(f"{server.base_url}/healthz", timeout=1.0)
            if answer.status_code == 200:
                return
            last_error = f"/healthz answered {answer.status_code}"
        except httpx.TransportError as exc:
            last_error = repr(exc)
        time.sleep(0.05)
    pytest.fail(f"conso serve not healthy after {deadline}s ({last_error}); stderr:\n"
                f"{server.stderr()}", pytrace=False)


def stop_server(server: Server) -> None:
    """SIGTERM, then SIGKILL if it does not stop in time."""
    process = server.process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_DEADLINE)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_DEADLINE)


def kill_server(server: Server) -> None:
    """SIGKILL: the process gets no chance to clean up."""
    os.kill(server.pid, signal.SIGKILL)
    server.process.wait(STOP_DEADLINE)


# -- ids and times ----------------------------------------------------------------

_numbers = itertools.count(random.randrange(1_000_000, 8_000_000))


def new_number() -> str:
    """A fresh E.164 mobile number (+3247 and seven digits)."""
    return f"+3247{next(_numbers):07d}"


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def now_utc() -> datetime:
    return datetime.now(UTC)


def rfc3339(at: datetime) -> str:
    return at.isoformat()


# -- the API ------------------------------------------------------------------------


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """An RFC 9457 problem answer with this status; returns its body."""
    assert response.status_code == status, (response.status_code, response.text)
    content_type = response.headers.get("content-type", "")
    assert content_type.startswith(PROBLEM_JSON), content_type
    body: dict[str, Any] = response.json()
    for key in ("type", "title", "status", "detail"):
        assert key in body, (key, body)
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    if status == 422:
        errors = body.get("errors")
        assert isinstance(errors, list) and errors, body
        for error in errors:
            assert set(error) >= {"loc", "msg"}, error
            assert isinstance(error["loc"], list)
            assert isinstance(error["msg"], str) and error["msg"]
    return body


def error_fields(problem: Mapping[str, Any]) -> set[str]:
    """Every name that appears in the `loc` of a 422 problem's errors."""
    return {str(part) for error in problem["errors"] for part in error["loc"]}


def record(
    line: str, service: str, quantity: float | None = None, *, at: datetime | str | None = None,
    record_id: str | None = None, **extra: Any,
) -> dict[str, Any]:
    """One usage record as the network sends it; `at` defaults to now."""
    when = at if at is not None else now_utc()
    body: dict[str, Any] = {
        "id": record_id or new_id("cdr"),
        "line": line,
        "service": service,
        "at": when if isinstance(when, str) else rfc3339(when),
    }
    if quantity is not None:
        body["quantity"] = quantity
    body.update(extra)
    return body


def ndjson(records: Iterable[Any]) -> bytes:
    return b"\n".join(orjson.dumps(r) for r in records) + b"\n"


@dataclass
class Api:
    """Operator shortcuts on one server: provisioning, feeding usage, reading usage."""

    client: httpx.Client
    created_accounts: list[str] = field(default_factory=list)

    def account(self, kind: str = "business", account_id: str | None = None) -> str:
        account_id = account_id or new_id("acct")
        answer = self.client.put(f"/api/v1/accounts/{account_id}",
                                 json={"name": f"Account {account_id}", "kind": kind})
        assert answer.status_code == 201, answer.text
        self.created_accounts.append(account_id)
        return account_id

    def user(self, account_id: str, role: str = "user", login: str | None = None,
             password: str = PASSWORD, **extra: Any) -> str:
        login = login or new_id("u")
        answer = self.client.put(f"/api/v1/accounts/{account_id}/users/{login}",
                                 json={"password": password, "role": role, **extra})
        assert answer.status_code == 201, answer.text
        return login

    def line(self, account_id: str, plan: str = "king", line_id: str | None = None,
             **extra: Any) -> str:
        line_id = line_id or new_number()
        answer = self.client.put(f"/api/v1/lines/{line_id}",
                                 json={"account_id": account_id, "plan": plan, **extra})
        assert answer.status_code == 201, answer.text
        return line_id

    def feed(self, records: Sequence[Any]) -> dict[str, Any]:
        answer = self.client.post("/api/v1/usage", json=list(records))
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def feed_ndjson(self, records: Sequence[Any]) -> dict[str, Any]:
        answer = self.client.post("/api/v1/usage", content=ndjson(records),
                                  headers={"Content-Type": "application/x-ndjson"})
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def usage(self, line_id: str, at: datetime | None = None) -> dict[str, Any]:
        params = {} if at is None else {"at": rfc3339(at)}
        answer = self.client.get(f"/api/v1/lines/{line_id}/usage", params=params)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body


def login(server: Server, user_login: str, password: str = PASSWORD) -> str:
    answer = httpx.post(f"{server.base_url}/api/v1/auth/login",
                        json={"login": user_login, "password": password}, timeout=30.0)
    assert answer.status_code == 200, answer.text
    token = answer.json()["token"]
    assert isinstance(token, str) and token
    return token
