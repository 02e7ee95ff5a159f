"""A unit of work: one command of the write path, one transaction.

Opened by `Engine.unit_of_work(line_ids)`: it holds the engine's lock (a shared
engine also locks the lines' rows and reads them afresh), gives the command the
lines, cycle usage, notification settings and open sessions it reads, rates usage
records into a batch, and takes the command's writes. When the block ends the
batch, the changed lines, cycles and sessions and the outbox rows are written in
the one transaction and committed; only then are the engine's caches updated and
the dispatcher woken. An exception in the block rolls everything back and
publishes nothing.

It must not be kept beyond its block, nor used from another thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import orjson

from conso.domain.alerts import AlertSettings, crossings, roaming_cap_crossing, watch
from conso.domain.catalog import Plan
from conso.domain.consult import summarize
from conso.domain.control import cap_position, roaming_cap_in_force
from conso.domain.cycle import Cycle, cycle_of
from conso.domain.line import Line
from conso.domain.outbox import OutboxMessage
from conso.domain.rating import ROAMING_DATA, CycleUsage, Rating, rate, rate_class
from conso.domain.records import RecordError, UsageRecord
from conso.domain.sessions import CreditSession
from conso.notify.compose import notification_messages
from conso.store.base import AuditEntry, RejectedRecord, StoredRecord, StoreTransaction

if TYPE_CHECKING:
    from conso.engine.engine import Engine


@dataclass(frozen=True, slots=True)
class Rejection:
    index: int
    id: str | None
    error: str


@dataclass(slots=True)
class BatchResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)


@dataclass(slots=True)
class Batch:
    """What one command changes (records, cycle usage, messages), before its commit."""

    now: datetime
    result: BatchResult
    working: dict[tuple[str, date], CycleUsage] = field(default_factory=dict)
    rows: list[StoredRecord] = field(default_factory=list)
    messages: list[OutboxMessage] = field(default_factory=list)
    # Cycles changed otherwise than by a record of `rows` (thresholds fired, overshoot,
    # `save_cycle`). `working` may also hold cycles loaded for a record then rejected:
    # unchanged, so not written.
    fired_changed: set[tuple[str, date]] = field(default_factory=set)
    # The cycles the flush wrote: those of `rows`, and `fired_changed`.
    written: set[tuple[str, date]] = field(default_factory=set)


class UnitOfWork:
    def __init__(self, engine: Engine, tx: StoreTransaction, now: datetime) -> None:
        self.tx = tx
        self.now = now
        self.batch = Batch(now, BatchResult())
        self.raw_records: Sequence[Any] = ()   # the batch as received (rejected are kept)
        self.usage_batch = False                # a usage batch (counted in the metrics)
        self._engine = engine
        self._state = engine.state
        self._lines: dict[str, Line] = {}
        self._sessions: dict[str, CreditSession] = {}
        self._sessions_of_line: dict[str, dict[str, CreditSession]] = {}   # the same, by line
        self._alerts_forgotten: set[str] = set()
        self._recipients_forgotten: set[str] = set()
        self._custom_alerts_only = False

    # -- reads (the command's own changes first) ------------------------------------

    def line(self, line_id: str) -> Line | None:
        changed = self._lines.get(line_id)
        return changed if changed is not None else self._engine._load_line(line_id)

    def plan(self, line: Line, at: datetime | None = None) -> Plan:
        return self._engine.plan_of(line, self.now if at is None else at)

    def cycle_usage(self, line: Line, at: datetime | None = None) -> CycleUsage:
        """The line's usage of the cycle at `at` (now), with this command's changes."""
        cycle = cycle_of(self.now if at is None else at, line.cycle_day)
        working = self.batch.working.get((line.id, cycle.start_date))
        return working if working is not None else self._engine._load_cycle(line.id, cycle)

    def alert_settings(self, line: Line) -> AlertSettings:
        return self._engine._load_alerts(line)

    def open_sessions(self, line_id: str) -> list[CreditSession]:
        """The line's open sessions, this command's working copies included."""
        self._read_sessions(line_id)
        tracked = self._state.open_sessions(line_id)
        working = self._sessions_of_line.get(line_id)
        if not working:
            return tracked
        found = [working.get(s.id, s) for s in tracked]
        found.extend(s for s in working.values() if s.id not in self._state.sessions)
        return [s for s in found if s.is_open]

    def session(self, session_id: str) -> CreditSession | None:
        """A session as this command sees it: open or not, None when never seen."""
        working = self._sessions.get(session_id)
        if working is not None:
            return working
        tracked = self._state.sessions.get(session_id)
        if tracked is not None:
            return tracked
        stored = self._engine.store.sessions.get(session_id)
        if stored is not None and stored.is_open and self._engine.shared:
            self._read_sessions(stored.line_id)
            return self._state.sessions.get(session_id, stored)
        return stored

    def _read_sessions(self, line_id: str) -> None:
        # An exclusive engine tracks every open session; a shared one reads a line's
        # from the store when it has not yet (its row is locked: they cannot change).
        if self._engine.shared and line_id not in self._state.sessions_loaded:
            self._engine._load_sessions(line_id)

    # -- writes ---------------------------------------------------------------------

    def save_line(self, line: Line, audit: AuditEntry | None = None) -> None:
        self.tx.lines.put(line, self.now)
        if audit is not None:
            self.tx.lines.audit(audit)
        self._lines[line.id] = line

    def save_lines(self, lines: Sequence[Line]) -> None:
        """`save_line` for many lines, in a few statements (bulk provisioning)."""
        self.tx.lines.put_many(lines, self.now)
        for line in lines:
            self._lines[line.id] = line

    def save_cycle(self, line_id: str, usage: CycleUsage) -> None:
        """Keep a cycle's state changed otherwise than by rating (fired thresholds,
        overshoot): written at the flush with its cycle_usage row."""
        key = (line_id, usage.cycle.start_date)
        self.batch.working[key] = usage
        self.batch.fired_changed.add(key)

    def save_session(self, session: CreditSession) -> None:
        self._sessions[session.id] = session
        self._sessions_of_line.setdefault(session.line_id, {})[session.id] = session

    def queue(self, messages: Sequence[OutboxMessage]) -> None:
        self.batch.messages.extend(messages)

    def forget_alerts(self, line_id: str) -> None:
        """The line's notification defaults depend on what changed: recompute them."""
        self._alerts_forgotten.add(line_id)

    def forget_recipient(self, login: str) -> None:
        self._recipients_forgotten.add(login)
        self._custom_alerts_only = True   # defaults may name the user's e-mail

    def remember_alerts(self, line_id: str, settings: AlertSettings | None, by: str | None,
                        ) -> None:
        self.tx.lines.put_alerts(line_id, settings, by, self.now)
        self._alerts_forgotten.add(line_id)

    # -- rating -----------------------------------------------------------------------

    def prefetch(self, uses: Sequence[tuple[str, datetime]]) -> list[Cycle | None]:
        """Load these lines' state at these times in a few queries, not a few per line;
        returns each use's cycle (None: no such line), for `rate`."""
        return self._engine._prefetch(uses)

    def rate(self, index: int, record: UsageRecord, cycle: Cycle | None = None,
             ) -> Rating | None:
        """Rate one record into the batch; None when it is rejected (its reason is in
        the batch's result). `cycle`: the record's, when known already (`prefetch`)."""
        engine = self._engine
        batch = self.batch
        result = batch.result
        line = self.line(record.line)
        if line is None:
            result.rejected.append(unknown_line(index, record))
            return None
        if cycle is None:
            cycle = cycle_of(record.at, line.cycle_day)
        key = (line.id, cycle.start_date)
        usage = batch.working.get(key)
        if usage is None:
            usage = engine._load_cycle(line.id, cycle).copy()
            batch.working[key] = usage
        plan = engine.catalog.plans[line.plan_at(record.at)]
        try:
            rating = rate(record, plan, engine.catalog, usage)
        except RecordError as exc:
            result.rejected.append(Rejection(index, record.id, str(exc)))
            return None
        usage.add(rating)
        batch.rows.append(StoredRecord(
            id=record.id, line_id=line.id, cycle_start=cycle.start_date,
            service=record.service.value, direction=record.direction.value,
            quantity=record.quantity, amount_micros=record.amount_micros,
            country=record.country, at=record.at, charge_micros=rating.charge_micros,
            meter=rating.meter,
        ))
        settings = engine._load_alerts(line)
        limit = line.spending_limit_micros
        if (settings.rules or limit) and watch(settings.rules, plan, usage.fired, limit).reached(
                usage.meters, usage.spend_micros):
            fired = set(usage.fired)
            due = crossings(settings.rules, plan, usage.meters, usage.spend_micros,
                            fired=fired, limit_micros=limit)
            if len(fired) != len(usage.fired):
                usage.fired = frozenset(fired)
                batch.fired_changed.add(key)
            if due:
                summary = summarize(line.id, plan, usage, batch.now)
                recipient = engine._load_recipient(line)
                for crossing in due:
                    batch.messages.extend(notification_messages(
                        crossing, summary, settings, recipient, batch.now,
                        email_sender=engine.email_sender, limit_micros=limit,
                        portal_url=engine.portal_url))
        if rating.meter == ROAMING_DATA:
            self._watch_roaming_cap(line, plan, record, usage=usage, key=key,
                                   settings=settings)
        return rating

    def _watch_roaming_cap(self, line: Line, plan: Plan, record: UsageRecord, *,
                           usage: CycleUsage, key: tuple[str, date],
                           settings: AlertSettings) -> None:
        """The roaming data cap's 80 % and 100 % messages (rules.md), after a record of
        data outside the EU/EEA: rare records, so no watch level is kept for them."""
        engine = self._engine
        cap = roaming_cap_in_force(line, engine.catalog, key[1])
        rc = rate_class(plan, engine.catalog, record.service, record.direction, record.country)
        if cap is None or rc is None:
            return
        where = cap_position(rc, usage.meter(ROAMING_DATA))
        fired = set(usage.fired)
        crossing = roaming_cap_crossing(where.spent_micros, where.reached(cap), cap,
                                        fired=fired)
        if len(fired) != len(usage.fired):
            usage.fired = frozenset(fired)
            self.batch.fired_changed.add(key)
        if crossing is not None:
            summary = summarize(line.id, plan, usage, self.batch.now)
            self.batch.messages.extend(notification_messages(
                crossing, summary, settings, engine._load_recipient(line), self.batch.now,
                email_sender=engine.email_sender, limit_micros=cap,
                roaming_spent_micros=where.spent_micros, portal_url=engine.portal_url))

    # -- the engine's: write, then publish after the commit ------------------------------

    def flush(self) -> None:
        """Write what the command changed into its transaction."""
        tx, batch = self.tx, self.batch
        if batch.rows:
            tx.usage.insert_records(batch.rows, batch.now)
        # Every cycle the command changed, its whole state (cycle_usage: what loading a
        # cycle reads), in the transaction of its records. In no particular order: no
        # other transaction writes them meanwhile (their lines are this one's).
        batch.written = {(r.line_id, r.cycle_start) for r in batch.rows} | batch.fired_changed
        if batch.written:
            tx.usage.save_cycles([(key[0], batch.working[key]) for key in batch.written],
                                 batch.now)
        if batch.result.rejected:
            tx.usage.insert_rejected(kept(self.raw_records, batch.result.rejected), batch.now)
        if self._sessions:
            tx.sessions.put_many(list(self._sessions.values()))
        if batch.messages:
            tx.outbox.insert(batch.messages)
        batch.result.accepted = len(batch.rows)

    def changed_lines(self) -> set[str]:
        """The lines whose cached state this command changed (announced to others)."""
        lines = set(self._lines) | self._alerts_forgotten
        lines.update(key[0] for key in self.batch.written)   # set by the flush
        lines.update(session.line_id for session in self._sessions.values())
        return lines

    def changed_users(self) -> set[str]:
        return set(self._recipients_forgotten)

    def publish_locked(self) -> None:
        """After the commit, under the engine's lock: the caches take the changes."""
        state = self._state
        state.touched(self.changed_lines())
        state.put_cycles(self.batch.working)
        state.lines.update(self._lines)
        for session in self._sessions.values():
            state.track(session)
        for login in self._recipients_forgotten:
            state.recipients.pop(login, None)
        if self._custom_alerts_only:
            state.alerts = {k: v for k, v in state.alerts.items() if v.customised}
        for line_id in self._alerts_forgotten:
            state.alerts.pop(line_id, None)


def unknown_line(index: int, record: UsageRecord) -> Rejection:
    return Rejection(index, record.id, f"line: unknown line {record.line!r}")


def kept(raw_records: Sequence[Any], rejected: Sequence[Rejection]) -> list[RejectedRecord]:
    """Rejected records as received, so that the operator can correct and re-send them."""
    out = []
    for rejection in rejected:
        raw = raw_records[rejection.index] if rejection.index < len(raw_records) else None
        try:
            payload = orjson.dumps(raw).decode()
        except TypeError:
            payload = repr(raw)
        out.append(RejectedRecord(rejection.id, payload, rejection.error))
    return out
