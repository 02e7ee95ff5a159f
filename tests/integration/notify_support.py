"""Helpers for the notification tests: a real SMTP server on loopback (aiosmtpd),
conso servers started with extra environment, the outbox read straight from SQLite,
and polling with deadlines."""

from __future__ import annotations

import asyncio
import contextlib
import email
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator
from email.message import EmailMessage, Message
from email.policy import default as default_policy
from email.utils import parseaddr
from pathlib import Path
from typing import Any, TypeVar

import orjson
from aiosmtpd.controller import Controller

from conso.bootstrap import DEFAULT_EMAIL_FROM

from .helpers import (
    free_port,
)

T = TypeVar("T")


# -- polling ---------------------------------------------------------------------------





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


def message_id_of(outbox_id: str, sender: str = DEFAULT_EMAIL_FROM) -> str:
    """The Message-ID of an outbox e-mail: its id under the domain of the From address."""
    return f"<{outbox_id}@{parseaddr(sender)[1].rpartition('@')[2]}>"


def text_of(message: Message) -> str:
    """The text/plain part of an e-mail (multipart/alternative with an HTML part), with
    the line ends a mailbox would have (the wire's CRLF survive quoted-printable)."""
    assert isinstance(message, EmailMessage)
    body = message.get_body(("plain",))
    assert body is not None, message
    return str(body.get_content()).replace("\r\n", "\n")


# -- conso servers with their own environment -----------------------------------------





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
