"""An in-memory store: the interface of base.py, and the SQL stores' semantics, in dicts.

It exists so that the charging core's tests run without a database (`open_store(
"memory:")`), and it is held to the same contract as SQLite and PostgreSQL
(tests/integration/test_store_contract.py): a record id stored twice fails the
transaction, a message id queued twice is ignored, a claim (`mark_sending`) succeeds
once, an offset moves only from where it is expected (`StaleOffset`), a token hash is
unique, a user keeps its account, a line's plan periods are only ever added.

A transaction buffers its writes and applies them at its commit, all at once under the
state's lock (readers never see half a transaction); a rollback drops them. As in the
SQL stores, a transaction takes the writer (one at a time) at its first write and reads
never go through it. Nothing is durable and nothing is shared between processes: this
store must not back a real deployment, and it holds no business rule.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import orjson

from conso.domain.alerts import AlertSettings
from conso.domain.line import Line, PlanPeriod
from conso.domain.outbox import OutboxMessage, SentPart, StatusChange, delivery_state
from conso.domain.rating import CycleUsage
from conso.domain.sessions import CreditSession, Status
from conso.store.base import (
    Account,
    Attempts,
    AuditEntry,
    RejectedRecord,
    StaleOffset,
    StoredRecord,
    StoreError,
    Token,
    User,
)

K = TypeVar("K")
V = TypeVar("V")

_INTERRUPTED = "interrupted while sending; sent again with the same id"


@dataclass(frozen=True, slots=True)
class _Queued:
    """An outbox row: the message (its status, attempts...) and when it is due."""

    message: OutboxMessage
    next_attempt_at: datetime


@dataclass(frozen=True, slots=True)
class _Audited:
    entry: AuditEntry      # before/after kept as JSON, as the SQL stores do
    before: bytes
    after: bytes


class _State:
    """What the store holds (committed), keyed as the SQL tables are."""

    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.users: dict[str, User] = {}
        self.lines: dict[str, Line] = {}
        self.alerts: dict[str, AlertSettings] = {}
        self.audit: list[_Audited] = []
        self.records: dict[str, StoredRecord] = {}
        self.by_line: dict[str, dict[date, list[StoredRecord]]] = {}
        self.cycles: dict[tuple[str, date], CycleUsage] = {}   # cycle_usage's rows
        self.rejected: list[RejectedRecord] = []
        self.outbox: dict[str, _Queued] = {}          # in insertion (seq) order
        self.events: list[tuple[str, StatusChange]] = []
        self.sms_parts: dict[tuple[str, str], tuple[str, int, str]] = {}
        self.sessions: dict[str, CreditSession] = {}
        self.tokens: dict[str, Token] = {}
        self.offsets: dict[int, int] = {}
        self.login_attempts: dict[tuple[str, str], Attempts] = {}    # (scope, subject)
        self.login_clients: dict[tuple[str, str], datetime] = {}     # (login, client)


class _Pending:
    """One transaction's writes, not applied yet, over the state they will change.
    `None` in `alerts`, `tokens` and the login tables means deleted."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self.state = store._state
        self.holds_writer = False
        self.accounts: dict[str, Account] = {}
        self.users: dict[str, User] = {}
        self.lines: dict[str, Line] = {}
        self.alerts: dict[str, AlertSettings | None] = {}
        self.audit: list[_Audited] = []
        self.records: dict[str, StoredRecord] = {}
        self.cycles: dict[tuple[str, date], CycleUsage] = {}   # cycle_usage's rows
        self.rejected: list[RejectedRecord] = []
        self.outbox: dict[str, _Queued] = {}
        self.events: list[tuple[str, StatusChange]] = []
        self.sms_parts: dict[tuple[str, str], tuple[str, int, str]] = {}
        self.sessions: dict[str, CreditSession] = {}
        self.tokens: dict[str, Token | None] = {}
        self.offsets: dict[int, int] = {}
        self.login_attempts: dict[tuple[str, str], Attempts | None] = {}
        self.login_clients: dict[tuple[str, str], datetime | None] = {}

    def write(self) -> _State:
        """Take the writer at the first write. Holding it, this transaction is the only
        one that may change the state: reading the state needs no other lock."""
        if not self.holds_writer:
            self._store._write_lock.acquire()
            self.holds_writer = True
        return self.state

    # What this transaction sees: its own writes over the committed state.

    def account(self, account_id: str) -> Account | None:
        return _seen(self.accounts, self.state.accounts, account_id)

    def user(self, login: str) -> User | None:
        return _seen(self.users, self.state.users, login)

    def line(self, line_id: str) -> Line | None:
        return _seen(self.lines, self.state.lines, line_id)

    def queued(self, message_id: str) -> _Queued | None:
        return _seen(self.outbox, self.state.outbox, message_id)

    def session(self, session_id: str) -> CreditSession | None:
        return _seen(self.sessions, self.state.sessions, session_id)

    def token(self, token_hash: str) -> Token | None:
        return _seen(self.tokens, self.state.tokens, token_hash)

    def apply(self) -> None:
        """Make this transaction's writes the state (the caller holds the state lock)."""
        state = self.state
        state.accounts.update(self.accounts)
        state.users.update(self.users)
        state.lines.update(self.lines)
        for line_id, settings in self.alerts.items():
            if settings is None:
                state.alerts.pop(line_id, None)
            else:
                state.alerts[line_id] = settings
        state.audit.extend(self.audit)
        for record in self.records.values():
            state.records[record.id] = record
            state.by_line.setdefault(record.line_id, {}).setdefault(
                record.cycle_start, []).append(record)
        state.cycles.update(self.cycles)
        state.rejected.extend(self.rejected)
        state.outbox.update(self.outbox)
        state.events.extend(self.events)
        state.sms_parts.update(self.sms_parts)
        state.sessions.update(self.sessions)
        for token_hash, token in self.tokens.items():
            if token is None:
                state.tokens.pop(token_hash, None)
            else:
                state.tokens[token_hash] = token
        state.offsets.update(self.offsets)
        _apply(self.login_attempts, state.login_attempts)
        _apply(self.login_clients, state.login_clients)

    def end(self) -> None:
        if self.holds_writer:
            self.holds_writer = False
            self._store._write_lock.release()


def _apply(mine: Mapping[K, V | None], committed: dict[K, V]) -> None:
    """A transaction's rows into the committed ones (None: deleted)."""
    for key, value in mine.items():
        if value is None:
            committed.pop(key, None)
        else:
            committed[key] = value


def _seen(mine: Mapping[K, V | None], committed: Mapping[K, V], key: K) -> V | None:
    """A row as a transaction sees it: as it wrote it (None: deleted), else as committed."""
    if key in mine:
        return mine[key]
    return committed.get(key)


# -- reads ----------------------------------------------------------------------


class _Reads:
    __slots__ = ("_lock", "_state")

    def __init__(self, store: MemoryStore) -> None:
        self._lock = store._state_lock
        self._state = store._state


class MemoryAccountReads(_Reads):
    __slots__ = ()

    def get(self, account_id: str) -> Account | None:
        with self._lock:
            return self._state.accounts.get(account_id)

    def get_many(self, account_ids: Sequence[str]) -> dict[str, Account]:
        with self._lock:
            accounts = self._state.accounts
            return {a: accounts[a] for a in account_ids if a in accounts}


class MemoryUserReads(_Reads):
    __slots__ = ()

    def get(self, login: str) -> User | None:
        with self._lock:
            return self._state.users.get(login)

    def of_account(self, account_id: str) -> list[User]:
        with self._lock:
            return sorted((u for u in self._state.users.values() if u.account_id == account_id),
                          key=lambda u: u.login)

    def get_many(self, logins: Sequence[str]) -> dict[str, User]:
        with self._lock:
            users = self._state.users
            return {login: users[login] for login in logins if login in users}


class MemoryLineReads(_Reads):
    __slots__ = ()

    def get(self, line_id: str) -> Line | None:
        with self._lock:
            return self._state.lines.get(line_id)

    def imsi_holders(self, imsis: Sequence[str]) -> dict[str, str]:
        wanted = set(imsis)
        with self._lock:
            return {line.imsi: line.id for line in self._state.lines.values()
                    if line.imsi is not None and line.imsi in wanted}

    def get_many(self, line_ids: Sequence[str]) -> dict[str, Line]:
        with self._lock:
            lines = self._state.lines
            return {i: lines[i] for i in line_ids if i in lines}

    def existing(self, line_ids: Sequence[str]) -> set[str]:
        with self._lock:
            return {i for i in line_ids if i in self._state.lines}

    def by_imsi(self, imsi: str) -> str | None:
        with self._lock:
            return next((i for i, line in self._state.lines.items() if line.imsi == imsi),
                        None)

    def of_account(self, account_id: str) -> list[str]:
        with self._lock:
            return sorted(i for i, line in self._state.lines.items()
                          if line.account_id == account_id)

    def of_user(self, login: str) -> list[str]:
        with self._lock:
            return sorted(i for i, line in self._state.lines.items() if line.user_login == login)

    def alerts(self, line_id: str) -> AlertSettings | None:
        with self._lock:
            return self._state.alerts.get(line_id)

    def alerts_many(self, line_ids: Sequence[str]) -> dict[str, AlertSettings]:
        with self._lock:
            alerts = self._state.alerts
            return {i: alerts[i] for i in line_ids if i in alerts}

    def audit_log(self, line_id: str, limit: int) -> list[AuditEntry]:
        with self._lock:
            found = [a for a in reversed(self._state.audit) if a.entry.line_id == line_id]
        return [replace(a.entry, before=orjson.loads(a.before), after=orjson.loads(a.after))
                for a in found[:limit]]

    def account_audit(self, account_id: str, limit: int, offset: int = 0,
                      line_id: str | None = None) -> list[AuditEntry]:
        with self._lock:
            lines = self._state.lines
            found = [a for a in reversed(self._state.audit)
                     if a.entry.line_id is not None
                     and (line_id is None or a.entry.line_id == line_id)
                     and (line := lines.get(a.entry.line_id)) is not None
                     and line.account_id == account_id]
        return [replace(a.entry, before=orjson.loads(a.before), after=orjson.loads(a.after))
                for a in found[offset:offset + limit]]


class MemoryUsageReads(_Reads):
    __slots__ = ()

    def load_cycle(self, line_id: str, start: date) -> CycleUsage | None:
        return self.load_cycles([(line_id, start)]).get((line_id, start))

    def load_cycles(
        self, keys: Sequence[tuple[str, date]]
    ) -> dict[tuple[str, date], CycleUsage]:
        """The cycles' rows as saved (`save_cycles`), copies; keys without one left out."""
        with self._lock:
            found = [(key, self._state.cycles.get(key)) for key in keys]
        return {key: usage.copy() for key, usage in found if usage is not None}

    def existing_record_ids(self, ids: Sequence[str]) -> set[str]:
        with self._lock:
            return {i for i in ids if i in self._state.records}

    def records_by_id(self, ids: Sequence[str]) -> dict[str, StoredRecord]:
        with self._lock:
            records = self._state.records
            return {i: records[i] for i in ids if i in records}

    def line_has_usage(self, line_id: str) -> bool:
        with self._lock:
            return bool(self._state.by_line.get(line_id))

    def line_records(self, line_id: str, start: date) -> Iterator[StoredRecord]:
        with self._lock:
            records = sorted(self._state.by_line.get(line_id, {}).get(start, ()),
                             key=lambda r: (r.at, r.id))
        # As the SQL stores read them back: without the meter.
        for r in records:
            yield StoredRecord(r.id, r.line_id, r.cycle_start, r.service, r.direction,
                               r.quantity, r.amount_micros, r.country, r.at, r.charge_micros)

    def records_page(self, line_id: str, start: date, *, service: str | None = None,
                     after: tuple[datetime, str] | None = None,
                     limit: int = 100) -> list[StoredRecord]:
        with self._lock:
            found = [r for r in self._state.by_line.get(line_id, {}).get(start, ())
                     if (service is None or r.service == service)
                     and (after is None or (r.at, r.id) > after)]
        found.sort(key=lambda r: (r.at, r.id))
        return found[:limit]

    def cycle_starts(self, line_id: str, limit: int) -> list[date]:
        with self._lock:
            starts = [start for start, records in self._state.by_line.get(line_id, {}).items()
                      if records]
        return sorted(starts, reverse=True)[:limit]

    def cycle_pruned(self, line_id: str, start: date) -> bool:
        return False   # nothing prunes a store in memory

    def hourly(self, line_id: str, start: date, service: str) -> list[tuple[datetime, int]]:
        totals: dict[datetime, int] = {}
        with self._lock:
            for r in self._state.by_line.get(line_id, {}).get(start, ()):
                if r.service == service:
                    hour = r.at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
                    totals[hour] = totals.get(hour, 0) + r.quantity
        return sorted(totals.items())

    def rejected(self, limit: int) -> list[RejectedRecord]:
        with self._lock:
            return list(reversed(self._state.rejected))[:limit]


class MemoryOutboxReads(_Reads):
    __slots__ = ()

    def due(self, now: datetime, limit: int, channel: str | None = None) -> list[OutboxMessage]:
        with self._lock:
            due = [(q.next_attempt_at, seq, q.message)
                   for seq, q in enumerate(self._state.outbox.values())
                   if q.message.status == "queued" and q.next_attempt_at <= now
                   and (channel is None or q.message.channel == channel)]
        due.sort(key=lambda d: (d[0], d[1]))
        return [m for _, _, m in due[:limit]]

    def next_due_at(self, channel: str | None = None) -> datetime | None:
        with self._lock:
            return min((q.next_attempt_at for q in self._state.outbox.values()
                        if q.message.status == "queued"
                        and (channel is None or q.message.channel == channel)), default=None)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        with self._lock:
            for q in self._state.outbox.values():
                counts[q.message.status] = counts.get(q.message.status, 0) + 1
        return counts

    def channel_counts(self) -> dict[tuple[str, str], int]:
        counts: dict[tuple[str, str], int] = {}
        with self._lock:
            for q in self._state.outbox.values():
                key = (q.message.channel, q.message.status)
                counts[key] = counts.get(key, 0) + 1
        return counts

    def history(self, message_ids: Sequence[str]) -> dict[str, list[StatusChange]]:
        found: dict[str, list[StatusChange]] = {message_id: [] for message_id in message_ids}
        with self._lock:
            for message_id, change in self._state.events:
                if message_id in found:
                    found[message_id].append(change)
        return found

    def messages(self, *, to: str | None = None, line_id: str | None = None,
                 since: datetime | None = None, limit: int = 1000,
                 newest_first: bool = False,
                 until: datetime | None = None) -> list[OutboxMessage]:
        with self._lock:
            found = [q.message for q in self._state.outbox.values()
                     if (to is None or q.message.to == to)
                     and (line_id is None or q.message.line_id == line_id)
                     and (since is None or q.message.created_at >= since)
                     and (until is None or q.message.created_at < until)]
        if newest_first:
            found.reverse()
        return found[:limit]

    def get(self, message_id: str) -> OutboxMessage | None:
        with self._lock:
            queued = self._state.outbox.get(message_id)
        return None if queued is None else queued.message


class MemorySessionReads(_Reads):
    __slots__ = ()

    def get(self, session_id: str) -> CreditSession | None:
        with self._lock:
            session = self._state.sessions.get(session_id)
            return None if session is None else session.copy()

    def open(self, line_ids: Sequence[str] | None = None) -> list[CreditSession]:
        wanted = None if line_ids is None else set(line_ids)
        with self._lock:
            return [s.copy() for s in self._state.sessions.values()
                    if s.status is Status.OPEN and (wanted is None or s.line_id in wanted)]

    def lines_of(self, session_ids: Sequence[str]) -> dict[str, str]:
        with self._lock:
            sessions = self._state.sessions
            return {i: sessions[i].line_id for i in session_ids if i in sessions}


class MemoryTokenReads(_Reads):
    __slots__ = ()

    def get(self, token_hash: str) -> Token | None:
        with self._lock:
            return self._state.tokens.get(token_hash)


class MemoryOffsetReads(_Reads):
    __slots__ = ()

    def all(self) -> dict[int, int]:
        with self._lock:
            return dict(self._state.offsets)


class MemoryLoginReads(_Reads):
    __slots__ = ()

    def attempts(self, scope: str, subject: str) -> Attempts | None:
        with self._lock:
            return self._state.login_attempts.get((scope, subject))

    def last_success(self, login: str, client: str) -> datetime | None:
        with self._lock:
            return self._state.login_clients.get((login, client))


# -- writes: into a transaction's buffer ------------------------------------------


class _Writes:
    __slots__ = ("_tx",)

    def __init__(self, tx: _Pending) -> None:
        self._tx = tx


class MemoryAccountWrites(_Writes):
    __slots__ = ()

    def put(self, account: Account, now: datetime) -> None:
        self._tx.write()
        self._tx.accounts[account.id] = account

    def put_many(self, accounts: Sequence[Account], now: datetime) -> None:
        for account in accounts:
            self.put(account, now)


class MemoryUserWrites(_Writes):
    __slots__ = ()

    def put(self, user: User, now: datetime) -> None:
        tx = self._tx
        tx.write()
        existing = tx.user(user.login)
        if existing is not None:  # a user stays in the account it was created in
            user = replace(user, account_id=existing.account_id)
        elif tx.account(user.account_id) is None:
            raise StoreError(f"no account {user.account_id!r} for user {user.login!r}")
        tx.users[user.login] = user

    def put_many(self, users: Sequence[User], now: datetime) -> None:
        for user in users:
            self.put(user, now)


class MemoryLineWrites(_Writes):
    __slots__ = ()

    def lock(self, line_ids: Sequence[str]) -> None:
        """Nothing to lock: one transaction writes at a time."""

    def announce(self, channel: str, payloads: Sequence[str]) -> None:
        """No other process shares this store: no one to tell."""

    def put(self, line: Line, now: datetime) -> None:
        tx = self._tx
        tx.write()
        if tx.account(line.account_id) is None:
            raise StoreError(f"no account {line.account_id!r} for line {line.id!r}")
        if line.user_login is not None and tx.user(line.user_login) is None:
            raise StoreError(f"no user {line.user_login!r} for line {line.id!r}")
        if line.imsi is not None:  # unique, as the SQL stores' index
            for other in {**tx.state.lines, **tx.lines}.values():
                if other.imsi == line.imsi and other.id != line.id:
                    raise StoreError(f"imsi {line.imsi} is line {other.id}'s")
        # Plan periods are added, never changed or removed (as `INSERT OR IGNORE`).
        existing = tx.line(line.id)
        periods = {p.effective_from: p for p in (existing.plans if existing else ())}
        for period in line.plans:
            periods.setdefault(period.effective_from, period)
        plans: tuple[PlanPeriod, ...] = tuple(sorted(periods.values(),
                                                     key=lambda p: p.effective_from))
        tx.lines[line.id] = replace(line, plans=plans, barred=frozenset(line.barred))

    def put_many(self, lines: Sequence[Line], now: datetime) -> None:
        for line in lines:
            self.put(line, now)

    def put_alerts(self, line_id: str, settings: AlertSettings | None, by: str | None,
                   now: datetime) -> None:
        tx = self._tx
        tx.write()
        if settings is None:
            tx.alerts[line_id] = None
            return
        if tx.line(line_id) is None:
            raise StoreError(f"no line {line_id!r} for alert settings")
        tx.alerts[line_id] = AlertSettings(settings.rules, settings.channels, customised=True)

    def audit(self, entry: AuditEntry) -> None:
        self._tx.write()
        self._tx.audit.append(
            _Audited(entry, orjson.dumps(entry.before), orjson.dumps(entry.after)))


class MemoryUsageWrites(_Writes):
    __slots__ = ()

    def insert_records(self, records: Sequence[StoredRecord], now: datetime) -> None:
        tx = self._tx
        state = tx.write()
        batch: dict[str, StoredRecord] = {}
        for r in records:
            if r.id in state.records or r.id in tx.records or r.id in batch:
                raise StoreError(f"record {r.id!r} is stored already")
            batch[r.id] = r
        tx.records.update(batch)

    def save_cycles(self, line_cycles: Sequence[tuple[str, CycleUsage]], now: datetime) -> None:
        self._tx.write()
        for line_id, usage in line_cycles:   # a copy: the row, not the caller's object
            self._tx.cycles[line_id, usage.cycle.start_date] = usage.copy()

    def insert_rejected(self, rejected: Sequence[RejectedRecord], now: datetime) -> None:
        self._tx.write()
        self._tx.rejected.extend(rejected)


class MemoryOutboxWrites(_Writes):
    __slots__ = ()

    def insert(self, messages: Sequence[OutboxMessage]) -> None:
        tx = self._tx
        tx.write()
        for m in messages:
            if tx.queued(m.id) is not None:
                continue  # the same id: ignored
            rule = None if m.rule is None else orjson.loads(orjson.dumps(m.rule))
            tx.outbox[m.id] = _Queued(
                replace(m, rule=rule, status="queued", attempts=0, last_error=None,
                        sent_at=None, status_changed_at=m.created_at), m.created_at)
            tx.events.append((m.id, StatusChange("queued", m.created_at)))

    def _change(self, message_id: str, next_attempt_at: datetime | None = None,
                **changes: Any) -> bool:
        tx = self._tx
        tx.write()
        queued = tx.queued(message_id)
        if queued is None:
            return False
        tx.outbox[message_id] = _Queued(replace(queued.message, **changes),
                                        next_attempt_at or queued.next_attempt_at)
        return True

    def mark_sending(self, message_id: str, now: datetime) -> bool:
        """Claim a queued message; False when another dispatcher claimed it first."""
        self._tx.write()
        queued = self._tx.queued(message_id)
        if queued is None or queued.message.status != "queued":
            return False
        return self._change(message_id, now, status="sending",
                            attempts=queued.message.attempts + 1)

    def mark_sent(self, message_id: str, now: datetime,
                  parts: Sequence[SentPart] = ()) -> None:
        if self._change(message_id, status="sent", sent_at=now, last_error=None,
                        status_changed_at=now):
            self._tx.events.append((message_id, StatusChange("sent", now)))
        for part in parts:
            key = (part.smsc, part.smsc_message_id)
            if _seen(self._tx.sms_parts, self._tx.state.sms_parts, key) is None:
                self._tx.sms_parts[key] = (message_id, part.part, "sent")

    def mark_retry(self, message_id: str, error: str, next_attempt: datetime,
                   now: datetime) -> None:
        if self._change(message_id, next_attempt, status="queued", last_error=error[:500],
                        status_changed_at=now):
            self._tx.events.append((message_id, StatusChange("queued", now, error[:500])))

    def mark_failed(self, message_id: str, error: str, now: datetime) -> None:
        if self._change(message_id, status="failed", last_error=error[:500],
                        status_changed_at=now):
            self._tx.events.append((message_id, StatusChange("failed", now, error[:500])))

    def apply_receipt(self, smsc: str, smsc_message_id: str, state: str | None,
                      now: datetime) -> str | None:
        tx = self._tx
        tx.write()
        key = (smsc, smsc_message_id)
        part = _seen(tx.sms_parts, tx.state.sms_parts, key)
        if part is None:
            return None
        message_id, number, _ = part
        if state is None:
            return message_id
        tx.sms_parts[key] = (message_id, number, state)
        parts = {**tx.state.sms_parts, **tx.sms_parts}
        outcome = delivery_state([(n, st) for m, n, st in parts.values() if m == message_id])
        queued = tx.queued(message_id)
        if outcome is not None and queued is not None and queued.message.status == "sent":
            self._change(message_id, status=outcome, status_changed_at=now)
            tx.events.append((message_id, StatusChange(outcome, now)))
        return message_id

    def requeue_interrupted(self, now: datetime, claimed_before: datetime | None = None) -> int:
        tx = self._tx
        state = tx.write()
        cutoff = claimed_before or now
        interrupted = [
            message_id for message_id in {**state.outbox, **tx.outbox}
            if (q := tx.queued(message_id)) is not None and q.message.status == "sending"
            and (q.next_attempt_at < cutoff if claimed_before is not None
                 else q.next_attempt_at <= cutoff)]
        for message_id in interrupted:
            self._change(message_id, now, status="queued", last_error=_INTERRUPTED)
        return len(interrupted)


class MemorySessionWrites(_Writes):
    __slots__ = ()

    def put(self, session: CreditSession) -> None:
        tx = self._tx
        tx.write()
        stored = session.copy()
        existing = tx.session(session.id)
        if existing is not None:  # its line, country and opening time stay
            stored.line_id = existing.line_id
            stored.country = existing.country
            stored.opened_at = existing.opened_at
        tx.sessions[session.id] = stored

    def put_many(self, sessions: Sequence[CreditSession]) -> None:
        for session in sessions:
            self.put(session)


class MemoryTokenWrites(_Writes):
    __slots__ = ()

    def put(self, token_hash: str, token: Token, now: datetime) -> None:
        tx = self._tx
        tx.write()
        if tx.token(token_hash) is not None:
            raise StoreError("this token is stored already")
        if tx.user(token.login) is None:
            raise StoreError(f"no user {token.login!r} for a token")
        tx.tokens[token_hash] = token

    def delete(self, token_hash: str) -> None:
        self._tx.write()
        self._tx.tokens[token_hash] = None

    def delete_expired(self, now: datetime) -> int:
        tx = self._tx
        state = tx.write()
        expired = [h for h in {**state.tokens, **tx.tokens}
                   if (t := tx.token(h)) is not None and t.expires_at <= now]
        for token_hash in expired:
            tx.tokens[token_hash] = None
        return len(expired)

    def delete_of_user(self, login: str, *, keep: str | None = None) -> int:
        tx = self._tx
        state = tx.write()
        revoked = [h for h in {**state.tokens, **tx.tokens}
                   if h != keep and (t := tx.token(h)) is not None and t.login == login]
        for token_hash in revoked:
            tx.tokens[token_hash] = None
        return len(revoked)


class MemoryOffsetWrites(_Writes):
    __slots__ = ()

    def advance(self, part: int, seq: int, expected: int, now: datetime) -> None:
        tx = self._tx
        state = tx.write()
        current = tx.offsets.get(part, state.offsets.get(part, 0))
        if current != expected:
            raise StaleOffset(f"partition {part} is not at sequence {expected} any more: "
                              "another worker has applied it")
        tx.offsets[part] = seq


class MemoryLoginWrites(_Writes):
    """As sql/logins.py: a count is read and written under the writer, which one
    transaction holds at a time, so concurrent attempts each get a count of their own."""

    __slots__ = ()

    def _attempts(self, key: tuple[str, str]) -> Attempts | None:
        tx = self._tx
        return _seen(tx.login_attempts, tx.write().login_attempts, key)

    def count_attempt(self, scope: str, subject: str, now: datetime, window: timedelta,
                      cap: int) -> Attempts:
        key = (scope, subject)
        current = self._attempts(key)
        if current is None or current.window_start <= now - window:
            counted = Attempts(1, now)
        elif current.count < cap:
            counted = Attempts(current.count + 1, current.window_start)
        else:
            counted = current
        self._tx.login_attempts[key] = counted
        return counted

    def return_attempt(self, scope: str, subject: str) -> None:
        key = (scope, subject)
        current = self._attempts(key)
        if current is not None and current.count > 0:
            self._tx.login_attempts[key] = Attempts(current.count - 1, current.window_start)

    def clear_attempts(self, scope: str, subject: str) -> None:
        self._tx.write()
        self._tx.login_attempts[(scope, subject)] = None

    def last_success(self, login: str, client: str) -> datetime | None:
        tx = self._tx
        return _seen(tx.login_clients, tx.write().login_clients, (login, client))

    def succeeded(self, login: str, client: str, now: datetime) -> None:
        self._tx.write()
        self._tx.login_clients[(login, client)] = now

    def prune(self, attempts_before: datetime, successes_before: datetime) -> int:
        tx = self._tx
        state = tx.write()
        attempts = [key for key in {**state.login_attempts, **tx.login_attempts}
                    if (a := self._attempts(key)) is not None
                    and a.window_start <= attempts_before]
        clients = [key for key in {**state.login_clients, **tx.login_clients}
                   if (at := _seen(tx.login_clients, state.login_clients, key)) is not None
                   and at <= successes_before]
        for key in attempts:
            tx.login_attempts[key] = None
        for client in clients:
            tx.login_clients[client] = None
        return len(attempts) + len(clients)


class MemoryTx:
    """One transaction's repositories, writing into its buffer."""

    __slots__ = ("accounts", "lines", "logins", "offsets", "outbox", "sessions", "tokens",
                 "usage", "users")

    def pipeline(self) -> AbstractContextManager[Any]:
        return nullcontext()   # nothing is sent anywhere

    def __init__(self, pending: _Pending) -> None:
        self.accounts = MemoryAccountWrites(pending)
        self.users = MemoryUserWrites(pending)
        self.lines = MemoryLineWrites(pending)
        self.usage = MemoryUsageWrites(pending)
        self.outbox = MemoryOutboxWrites(pending)
        self.sessions = MemorySessionWrites(pending)
        self.tokens = MemoryTokenWrites(pending)
        self.offsets = MemoryOffsetWrites(pending)
        self.logins = MemoryLoginWrites(pending)


class MemoryStore:
    """The store in this process's memory (see the module docstring)."""

    def __init__(self, url: str = "memory:") -> None:
        self.url = url
        self._state = _State()
        self._state_lock = threading.Lock()   # readers, and a commit applying its writes
        self._write_lock = threading.Lock()   # one writing transaction at a time
        self.accounts = MemoryAccountReads(self)
        self.users = MemoryUserReads(self)
        self.lines = MemoryLineReads(self)
        self.usage = MemoryUsageReads(self)
        self.outbox = MemoryOutboxReads(self)
        self.sessions = MemorySessionReads(self)
        self.tokens = MemoryTokenReads(self)
        self.offsets = MemoryOffsetReads(self)
        self.logins = MemoryLoginReads(self)

    def migrate(self) -> list[str]:
        """Nothing to migrate: the state has the shape of the code."""
        return []

    def close(self) -> None:
        """Nothing to close (the state lives as long as the store)."""

    def ping(self) -> None:
        """Always reachable."""

    @contextmanager
    def transaction(self) -> Iterator[MemoryTx]:
        """Writes buffered until the commit, applied at once; dropped on rollback."""
        pending = _Pending(self)
        try:
            yield MemoryTx(pending)
        except BaseException:
            pending.end()
            raise
        try:
            if pending.holds_writer:
                with self._state_lock:
                    pending.apply()
        finally:
            pending.end()
