"""The store interface: what the engine and the API need from persistence.

Reads may happen from any thread. Writes happen only inside `transaction()`,
and only the engine (the one write path) and login bookkeeping (tokens, and the
attempts that throttle logins) open one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from conso.domain.alerts import AlertSettings
from conso.domain.line import Line
from conso.domain.outbox import OutboxMessage, SentPart, StatusChange
from conso.domain.rating import CycleUsage
from conso.domain.sessions import CreditSession
from conso.errors import Unavailable


class StaleOffset(RuntimeError):
    """A partition's offset moved under this process: another worker owns it now."""


class StoreError(RuntimeError):
    """The store is unreachable or refused an operation."""


class StoreUnavailable(StoreError, Unavailable):
    """The database cannot be reached or cannot write right now (it went away, is
    restarting, its disk is full): nothing was done; the same call later may succeed."""


class CommitInDoubt(StoreUnavailable):
    """A COMMIT failed without saying whether it took (the connection broke while it was
    sent). The transaction is all there or not at all, never in part; what was read
    before it must be read again (its records are found by their ids if it took)."""


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
class Attempts:
    """The login attempts of one subject (a login name, a client address) in its current
    window: how many (the one just counted included), and when that window began."""

    count: int
    window_start: datetime


@dataclass(frozen=True, slots=True)
class Token:
    login: str
    expires_at: datetime


# -- repositories: one per aggregate. Reads go through `Store`'s, writes through the
# transaction's (a command's writes are one transaction). --------------------------


class AccountReads(Protocol):
    def get(self, account_id: str) -> Account | None: ...
    def get_many(self, account_ids: Sequence[str]) -> dict[str, Account]: ...


class AccountWrites(Protocol):
    def put(self, account: Account, now: datetime) -> None: ...
    def put_many(self, accounts: Sequence[Account], now: datetime) -> None: ...


class UserReads(Protocol):
    def get(self, login: str) -> User | None: ...
    def get_many(self, logins: Sequence[str]) -> dict[str, User]: ...
    def of_account(self, account_id: str) -> list[User]: ...


class UserWrites(Protocol):
    def put(self, user: User, now: datetime) -> None: ...
    def put_many(self, users: Sequence[User], now: datetime) -> None: ...


class LineReads(Protocol):
    def get(self, line_id: str) -> Line | None: ...
    def get_many(self, line_ids: Sequence[str]) -> dict[str, Line]: ...
    def existing(self, line_ids: Sequence[str]) -> set[str]: ...
    def by_imsi(self, imsi: str) -> str | None: ...
    def imsi_holders(self, imsis: Sequence[str]) -> dict[str, str]: ...
    def of_account(self, account_id: str) -> list[str]: ...
    def of_user(self, login: str) -> list[str]: ...
    def alerts(self, line_id: str) -> AlertSettings | None: ...
    def alerts_many(self, line_ids: Sequence[str]) -> dict[str, AlertSettings]: ...
    def audit_log(self, line_id: str, limit: int) -> list[AuditEntry]: ...
    def account_audit(self, account_id: str, limit: int, offset: int = 0,
                      line_id: str | None = None) -> list[AuditEntry]:
        """The audit entries of the account's lines (of one of them, with `line_id`),
        newest first, `limit` of them after skipping `offset`."""
        ...


class LineWrites(Protocol):
    def lock(self, line_ids: Sequence[str]) -> None: ...
    def announce(self, channel: str, payloads: Sequence[str]) -> None: ...
    def put(self, line: Line, now: datetime) -> None: ...
    def put_many(self, lines: Sequence[Line], now: datetime) -> None: ...
    def put_alerts(self, line_id: str, settings: AlertSettings | None, by: str | None,
                   now: datetime) -> None: ...
    def audit(self, entry: AuditEntry) -> None: ...


class UsageReads(Protocol):
    def load_cycle(self, line_id: str, start: date) -> CycleUsage | None: ...
    def load_cycles(
        self, keys: Sequence[tuple[str, date]]
    ) -> dict[tuple[str, date], CycleUsage]: ...
    def existing_record_ids(self, ids: Sequence[str]) -> set[str]: ...
    def records_by_id(self, ids: Sequence[str]) -> dict[str, StoredRecord]: ...
    def line_has_usage(self, line_id: str) -> bool: ...
    def line_records(self, line_id: str, start: date) -> Iterator[StoredRecord]: ...
    # A page of a line's records of a cycle, oldest first by (at, id): those after
    # `after` (an (at, id) position; None: from the start), of `service` only when given,
    # at most `limit`. Keyset paging (engine/history.py): no OFFSET, no whole cycle read.
    def records_page(self, line_id: str, start: date, *, service: str | None = None,
                     after: tuple[datetime, str] | None = None,
                     limit: int = 100) -> list[StoredRecord]: ...
    # The starts of the cycles a line has records in, newest first, at most `limit`.
    def cycle_starts(self, line_id: str, limit: int) -> list[date]: ...
    # Whether `conso prune` removed records of the cycle (its totals are kept).
    def cycle_pruned(self, line_id: str, start: date) -> bool: ...
    def hourly(self, line_id: str, start: date, service: str) -> list[tuple[datetime, int]]: ...
    def rejected(self, limit: int) -> list[RejectedRecord]: ...


class UsageWrites(Protocol):
    def insert_records(self, records: Sequence[StoredRecord], now: datetime) -> None: ...
    def save_cycles(self, line_cycles: Sequence[tuple[str, CycleUsage]],
                    now: datetime) -> None: ...
    def insert_rejected(self, rejected: Sequence[RejectedRecord], now: datetime) -> None: ...


class OutboxReads(Protocol):
    def due(self, now: datetime, limit: int, channel: str | None = None) -> list[OutboxMessage]: ...
    def next_due_at(self, channel: str | None = None) -> datetime | None: ...
    def counts(self) -> dict[str, int]: ...
    def channel_counts(self) -> dict[tuple[str, str], int]: ...
    def history(self, message_ids: Sequence[str]) -> dict[str, list[StatusChange]]: ...
    # `since` and `until`: created at or after, and before (a cycle's messages).
    def messages(self, *, to: str | None = None, line_id: str | None = None,
                 since: datetime | None = None, limit: int = 1000,
                 newest_first: bool = False,
                 until: datetime | None = None) -> list[OutboxMessage]: ...
    def get(self, message_id: str) -> OutboxMessage | None: ...


class OutboxWrites(Protocol):
    def insert(self, messages: Sequence[OutboxMessage]) -> None: ...
    def mark_sending(self, message_id: str, now: datetime) -> bool: ...
    def mark_sent(self, message_id: str, now: datetime,
                  parts: Sequence[SentPart] = ()) -> None: ...
    def mark_retry(self, message_id: str, error: str, next_attempt: datetime,
                   now: datetime) -> None: ...
    def mark_failed(self, message_id: str, error: str, now: datetime) -> None: ...
    def apply_receipt(self, smsc: str, smsc_message_id: str, state: str | None,
                      now: datetime) -> str | None: ...
    def requeue_interrupted(self, now: datetime,
                            claimed_before: datetime | None = None) -> int: ...


class SessionReads(Protocol):
    def get(self, session_id: str) -> CreditSession | None: ...
    def open(self, line_ids: Sequence[str] | None = None) -> list[CreditSession]: ...
    def lines_of(self, session_ids: Sequence[str]) -> dict[str, str]: ...


class SessionWrites(Protocol):
    def put(self, session: CreditSession) -> None: ...
    def put_many(self, sessions: Sequence[CreditSession]) -> None: ...


class TokenReads(Protocol):
    def get(self, token_hash: str) -> Token | None: ...


class TokenWrites(Protocol):
    def put(self, token_hash: str, token: Token, now: datetime) -> None: ...
    def delete(self, token_hash: str) -> None: ...
    def delete_expired(self, now: datetime) -> int: ...
    # Every token of `login` but the one whose hash is `keep`; answers how many.
    def delete_of_user(self, login: str, *, keep: str | None = None) -> int: ...


class OffsetReads(Protocol):
    def all(self) -> dict[int, int]: ...


class OffsetWrites(Protocol):
    def advance(self, part: int, seq: int, expected: int, now: datetime) -> None: ...


class LoginReads(Protocol):
    def attempts(self, scope: str, subject: str) -> Attempts | None: ...
    def last_success(self, login: str, client: str) -> datetime | None: ...


class LoginWrites(Protocol):
    # One attempt counted and the count answered by one statement, atomic under
    # concurrency: a window begun at or before `now - window` starts again at `now`, and
    # the count stops growing at `cap`. What it means (allowed or not) is auth.py's.
    def count_attempt(self, scope: str, subject: str, now: datetime, window: timedelta,
                      cap: int) -> Attempts: ...
    def return_attempt(self, scope: str, subject: str) -> None: ...
    def clear_attempts(self, scope: str, subject: str) -> None: ...
    def last_success(self, login: str, client: str) -> datetime | None: ...
    def succeeded(self, login: str, client: str, now: datetime) -> None: ...
    # Attempts whose window began at or before `attempts_before`, and successes at or
    # before `successes_before`; answers how many rows went.
    def prune(self, attempts_before: datetime, successes_before: datetime) -> int: ...


class StoreTransaction(Protocol):
    """One write transaction: its repositories write into it; it commits as a whole."""

    def pipeline(self) -> AbstractContextManager[Any]:
        """Statements of the block sent together, errors raised at its end."""
        ...

    @property
    def accounts(self) -> AccountWrites: ...
    @property
    def users(self) -> UserWrites: ...
    @property
    def lines(self) -> LineWrites: ...
    @property
    def usage(self) -> UsageWrites: ...
    @property
    def outbox(self) -> OutboxWrites: ...
    @property
    def sessions(self) -> SessionWrites: ...
    @property
    def tokens(self) -> TokenWrites: ...
    @property
    def offsets(self) -> OffsetWrites: ...
    @property
    def logins(self) -> LoginWrites: ...


class Store(Protocol):
    """What the engine and the API need from persistence (see the module docstring)."""

    url: str

    def migrate(self) -> list[str]: ...
    def close(self) -> None: ...
    def ping(self) -> None: ...
    def transaction(self) -> AbstractContextManager[StoreTransaction]: ...

    @property
    def accounts(self) -> AccountReads: ...
    @property
    def users(self) -> UserReads: ...
    @property
    def lines(self) -> LineReads: ...
    @property
    def usage(self) -> UsageReads: ...
    @property
    def outbox(self) -> OutboxReads: ...
    @property
    def sessions(self) -> SessionReads: ...
    @property
    def tokens(self) -> TokenReads: ...
    @property
    def offsets(self) -> OffsetReads: ...
    @property
    def logins(self) -> LoginReads: ...
