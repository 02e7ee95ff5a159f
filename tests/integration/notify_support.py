"""Helpers for the notification tests: a real SMTP server on loopback (aiosmtpd),
conso servers started with extra environment, the outbox read straight from SQLite,
and polling with deadlines."""

from __future__ import annotations

import asyncio
import contextlib
import email
import sqlite3
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from email.message import Message
from email.policy import default as default_policy
from pathlib import Path
from typing import Any, TypeVar

import orjson
import pytest
from aiosmtpd.controller import Controller

from .helpers import (
    OPERATOR_KEY,
    STARTUP_DEADLINE,
    Server,
    conso_command,
    conso_env,
    free_port,
    stop_server,
    wait_healthy,
)

T = TypeVar("T")


# -- polling ---------------------------------------------------------------------------


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


# -- a real SMTP server ----------------------------------------------------------------


class SmtpSink:
    """An aiosmtpd handler that records every message it accepts.

    `refuse` holds recipient addresses answered with a 550; `hold` (when set) makes
    the server record the message and then wait before answering the DATA command,
    which is how a crash "between handing over and marking sent" is staged.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.messages: list[Message] = []
        self.refused: list[str] = []
        self.refuse: set[str] = set()
        self.hold: threading.Event | None = None
        self.holding = threading.Event()

    async def handle_RCPT(self,  # noqa: N802 (aiosmtpd's hook name)
                          server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.refuse:
            with self._lock:
                self.refused.append(address)
            return f"550 5.1.1 <{address}>: no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self,  # noqa: N802 (aiosmtpd's hook name)
                          server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        with self._lock:
            self.messages.append(message)
        hold = self.hold
        if hold is not None:
            self.holding.set()
            while not hold.is_set():
                await asyncio.sleep(0.02)
        return "250 2.0.0 OK"

    def received(self) -> list[Message]:
        with self._lock:
            return list(self.messages)

    def by_message_id(self) -> Counter[str]:
        return Counter(str(m["Message-ID"]) for m in self.received())


def start_smtp(sink: SmtpSink, port: int) -> Controller:
    """A real SMTP server on 127.0.0.1:`port`, ready when this returns."""
    controller = Controller(sink, hostname="127.0.0.1", port=port, ready_timeout=10.0)
    controller.start()
    return controller


@contextlib.contextmanager
def smtp_server(sink: SmtpSink, port: int | None = None) -> Iterator[tuple[Controller, int]]:
    port = port or free_port()
    controller = start_smtp(sink, port)
    try:
        yield controller, port
    finally:
        with contextlib.suppress(Exception):
            controller.stop()


def message_id_of(outbox_id: str) -> str:
    return f"<{outbox_id}@conso>"


# -- conso servers with their own environment -----------------------------------------


def start_server_env(
    workdir: Path, db_path: Path, env: Mapping[str, str], *,
    operator_key: str = OPERATOR_KEY, deadline: float = STARTUP_DEADLINE, attempts: int = 3,
) -> Server:
    """Like helpers.start_server, with extra CONSO_* settings in the environment."""
    workdir.mkdir(parents=True, exist_ok=True)
    for attempt in range(attempts):
        port = free_port()
        tag = f"{port}-{uuid.uuid4().hex[:6]}"
        stdout_path = workdir / f"serve-{tag}.out"
        stderr_path = workdir / f"serve-{tag}.err"
        command = conso_command("serve", "--port", str(port), "--db", f"sqlite:///{db_path}")
        full_env = conso_env(operator_key)
        full_env.update(env)
        with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
            process = subprocess.Popen(command, stdout=out, stderr=err, cwd=workdir,
                                       env=full_env)
        server = Server(f"http://127.0.0.1:{port}", operator_key, process, db_path,
                        stdout_path, stderr_path, port)
        try:
            wait_healthy(server, deadline)
        except BaseException:
            stop_server(server)
            if attempt + 1 < attempts and "address already in use" in server.stderr().lower():
                continue
            raise
        return server
    raise AssertionError("unreachable")


# -- the outbox, read with a connection of our own -------------------------------------


def outbox_rows(db_path: Path, line_id: str | None = None) -> list[dict[str, Any]]:
    """The outbox as stored, through a separate read-only SQLite connection."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10.0)
    try:
        conn.row_factory = sqlite3.Row
        query = ("SELECT id, channel, sender, recipient, subject, text, line_id, rule, status, "
                 "attempts, last_error, sent_at FROM outbox")
        params: tuple[Any, ...] = ()
        if line_id is not None:
            query += " WHERE line_id = ?"
            params = (line_id,)
        rows = [dict(r) for r in conn.execute(query + " ORDER BY seq", params)]
    finally:
        conn.close()
    for row in rows:
        row["rule"] = None if row["rule"] is None else orjson.loads(row["rule"])
    return rows
