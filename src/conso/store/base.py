"""The store interface: what the engine and the API need from persistence.

Reads may happen from any thread. Writes happen only inside `transaction()`,
and only the engine (the one write path) and login-token bookkeeping open one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from conso.domain.alerts import AlertSettings
from conso.domain.control import CreditSession
from conso.domain.line import Line
from conso.domain.outbox import OutboxMessage
from conso.domain.rating import CycleUsage


class StaleOffset(RuntimeError):
    """A partition's offset moved under this process: another worker owns it now."""


class StoreError(RuntimeError):
    """The store is unreachable or refused an operation."""


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    name: str
    kind: str


@dataclass(frozen=True, slots=True)
class User:
    login: str
    account_id: str
    password_hash: str
    role: str
    email: str | None
    language: str


# Not frozen: one is built per record on the hot path, and frozen dataclasses cost
# several times more to build. Treated as immutable all the same.
@dataclass(slots=True)
class StoredRecord:
    """A rated usage record as kept for audit and idempotency."""

    id: str
    line_id: str
    cycle_start: date
    service: str
    direction: str
    quantity: int
    amount_micros: int
    country: str
    at: datetime
    charge_micros: int
    meter: str = ""               # what rating counted it on (see domain/rating.py)


@dataclass(frozen=True, slots=True)
class RejectedRecord:
    """A record that failed validation, as received, with the reason."""

    record_id: str | None
    payload: str
    error: str


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """An admin action: who, when, on which line, what before and after."""

    at: datetime
    actor: str
    line_id: str | None
    action: str
    before: Any
    after: Any


@dataclass(frozen=True, slots=True)
class Token:
    login: str
    expires_at: datetime


class StoreTransaction(Protocol):
    def put_account(self, account: Account, now: datetime) -> None: ...
    def put_user(self, user: User, now: datetime) -> None: ...
    def put_line(self, line: Line, now: datetime) -> None: ...
    def insert_records(self, records: Sequence[StoredRecord], now: datetime) -> None: ...
    def save_cycles(self, line_cycles: Sequence[tuple[str, CycleUsage]], now: datetime) -> None: ...
    def insert_rejected(self, rejected: Sequence[RejectedRecord], now: datetime) -> None: ...
    def put_alerts(self, line_id: str, settings: AlertSettings | None, by: str | None,
                   now: datetime) -> None: ...
    def insert_messages(self, messages: Sequence[OutboxMessage]) -> None: ...
    def mark_sending(self, message_id: str, now: datetime) -> bool: ...
    def mark_sent(self, message_id: str, now: datetime) -> None: ...
    def mark_retry(self, message_id: str, error: str, next_attempt: datetime) -> None: ...
    def mark_failed(self, message_id: str, error: str) -> None: ...
    def requeue_interrupted(self, now: datetime,
                            claimed_before: datetime | None = None) -> int: ...
    def lock_lines(self, line_ids: Sequence[str]) -> None: ...
    def advance_offset(self, part: int, seq: int, expected: int, now: datetime) -> None: ...
    def audit(self, entry: AuditEntry) -> None: ...
    def put_session(self, session: CreditSession) -> None: ...
    def put_token(self, token_hash: str, token: Token, now: datetime) -> None: ...
    def delete_token(self, token_hash: str) -> None: ...
    def delete_expired_tokens(self, now: datetime) -> int: ...


class Store(Protocol):
    url: str

    def migrate(self) -> list[str]: ...
    def close(self) -> None: ...
    def ping(self) -> None: ...
    def transaction(self) -> AbstractContextManager[StoreTransaction]: ...

    def get_account(self, account_id: str) -> Account | None: ...
    def get_user(self, login: str) -> User | None: ...
    def get_line(self, line_id: str) -> Line | None: ...
    def get_lines(self, line_ids: Sequence[str]) -> dict[str, Line]: ...
    def account_line_ids(self, account_id: str) -> list[str]: ...
    def user_line_ids(self, login: str) -> list[str]: ...
    def load_cycle(self, line_id: str, start: date) -> CycleUsage | None: ...
    def load_cycles(
        self, keys: Sequence[tuple[str, date]]
    ) -> dict[tuple[str, date], CycleUsage]: ...
    def existing_record_ids(self, ids: Sequence[str]) -> set[str]: ...
    def line_has_usage(self, line_id: str) -> bool: ...
    def line_records(self, line_id: str, start: date) -> Iterator[StoredRecord]: ...
    def hourly_usage(self, line_id: str, start: date,
                     service: str) -> list[tuple[datetime, int]]: ...
    def get_token(self, token_hash: str) -> Token | None: ...
    def rejected_records(self, limit: int) -> list[RejectedRecord]: ...
    def get_alerts(self, line_id: str) -> AlertSettings | None: ...
    def get_alerts_many(self, line_ids: Sequence[str]) -> dict[str, AlertSettings]: ...
    def due_messages(self, now: datetime, limit: int,
                     channel: str | None = None) -> list[OutboxMessage]: ...
    def next_due_at(self, channel: str | None = None) -> datetime | None: ...
    def outbox_counts(self) -> dict[str, int]: ...
    def messages(self, *, to: str | None = None, line_id: str | None = None,
                 since: datetime | None = None, limit: int = 1000,
                 newest_first: bool = False) -> list[OutboxMessage]: ...
    def message(self, message_id: str) -> OutboxMessage | None: ...
    def audit_log(self, line_id: str, limit: int) -> list[AuditEntry]: ...
    def open_sessions(self, line_ids: Sequence[str] | None = None) -> list[CreditSession]: ...
    def stream_offsets(self) -> dict[int, int]: ...
    def session_lines(self, session_ids: Sequence[str]) -> dict[str, str]: ...
    def existing_line_ids(self, line_ids: Sequence[str]) -> set[str]: ...
    def get_session(self, session_id: str) -> CreditSession | None: ...


def open_store(url: str) -> Store:
    """Open the store a URL names: `sqlite:///path` (the default) or `postgresql://...`."""
    if url.startswith("sqlite:") or "://" not in url:
        from conso.store.sqlite import SQLiteStore

        return SQLiteStore.from_url(url)
    if url.startswith(("postgresql://", "postgres://")):
        from conso.store.postgres import PostgresStore

        return PostgresStore.from_url(url)
    raise StoreError(f"unknown store URL {url!r}; expected sqlite:///PATH or postgresql://...")
