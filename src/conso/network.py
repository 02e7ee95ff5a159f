"""Network control: barring, spending limits, authorization and credit-control sessions.

Part of the one write path: it works in the engine's commands, so a session
report is rated, counted, notified and its reservation updated in one
transaction. Reservations live in the store (and, in a process that owns the
database, in memory too) and every grant is computed against all open
reservations of the line: see domain/control.py for why that means zero
overshoot. With a shared engine (several API processes on PostgreSQL), each
command locks the line's row and reads its sessions and usage from the store,
so two processes never grant the same money twice.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from conso.domain.catalog import PlanKind
from conso.domain.control import (
    ControlError,
    CreditSession,
    Decision,
    Exposure,
    Grant,
    Reason,
    authorize,
    barring_view,
    check_limit_amount,
    exposure_for,
    grant,
    parse_barring,
    worst_case_spend,
)
from conso.domain.cycle import cycle_of
from conso.domain.line import Line
from conso.domain.rating import CycleUsage, RateClass, rate_class
from conso.domain.records import UsageRecord
from conso.domain.units import MICROS_PER_CENT, Direction, Service
from conso.engine import Batch, BatchResult, Engine
from conso.errors import Conflict, ConsoError, InvalidInput, NotFound
from conso.store.base import AuditEntry, StoreTransaction

log = logging.getLogger("conso.control")

SESSION_SERVICES = (Service.VOICE, Service.DATA, Service.SMS)
# How long a finished cycle's usage stays in memory (late records still come in).
CACHED_CYCLES_AFTER_END = timedelta(days=7)
MAX_REQUEST = 10**12


def _invalid(exc: ControlError) -> InvalidInput:
    return InvalidInput(exc.loc, exc.msg)


class NetworkControl:
    def __init__(self, engine: Engine, *, validity: timedelta = timedelta(minutes=10)) -> None:
        self.engine = engine
        self.validity = validity
        self._sessions: dict[str, CreditSession] = {}
        self._by_line: dict[str, set[str]] = {}
        for session in engine.store.open_sessions():
            self._track(session)

    def open_session_count(self) -> int:
        if self.engine.shared:  # other processes open sessions too
            return len(self.engine.store.open_sessions())
        return len(self._sessions)

    def _track(self, session: CreditSession) -> None:
        self._sessions[session.id] = session
        self._by_line.setdefault(session.line_id, set()).add(session.id)

    def _untrack(self, session: CreditSession) -> None:
        self._sessions.pop(session.id, None)
        self._by_line.get(session.line_id, set()).discard(session.id)

    def _refresh(self, line_ids: Sequence[str]) -> None:
        """A shared engine's sessions of these lines are the store's (callers hold the
        engine lock, and the lines' row locks when they will write)."""
        if not self.engine.shared:
            return
        self._sessions.clear()
        self._by_line.clear()
        for session in self.engine.store.open_sessions(list(line_ids)):
            self._track(session)

    # -- settings ---------------------------------------------------------------

    def set_barring(self, line: Line, body: dict[str, Any], actor: str) -> Line:
        plan = self.engine.catalog.plans[line.plan_id]
        if plan.kind is PlanKind.INTERNET:
            raise Conflict("barring is for mobile lines (bundle and pay-per-use)")
        with self.engine.lock:
            with self.engine.command([line.id]) as tx:
                current = self.engine.load_line_locked(line.id) or line
                try:
                    barred = parse_barring(body, current.barred)
                except ControlError as exc:
                    raise _invalid(exc) from None
                if barred == current.barred:
                    return current
                updated = replace(current, barred=barred)
                self._save_line(tx, updated, actor, "barring",
                                before=barring_view(current.barred), after=barring_view(barred))
            self.engine.cache_line(updated)
        log.info("barring of line %s set by %s: %s", line.id, actor,
                 ", ".join(sorted(barred)) or "nothing barred")
        return updated

    def set_spending_limit(self, line: Line, amount_eur: Any, actor: str) -> Line:
        plan = self.engine.catalog.plans[line.plan_id]
        if plan.kind is not PlanKind.PAYG:
            raise Conflict("a spending limit is for pay-per-use lines only")
        try:
            micros = check_limit_amount(plan, amount_eur)
        except ControlError as exc:
            raise _invalid(exc) from None
        return self._change_limit(line, micros, actor)

    def remove_spending_limit(self, line: Line, actor: str) -> Line:
        plan = self.engine.catalog.plans[line.plan_id]
        if plan.kind is not PlanKind.PAYG:
            raise Conflict("a spending limit is for pay-per-use lines only")
        return self._change_limit(line, None, actor)

    def _change_limit(self, line: Line, micros: int | None, actor: str) -> Line:
        with self.engine.lock:
            with self.engine.command([line.id]) as tx:
                current = self.engine.load_line_locked(line.id) or line
                if current.spending_limit_micros == micros:
                    return current
                updated = replace(current, spending_limit_micros=micros)
                now = self.engine.clock()
                # A new limit re-arms its 50/90/100 % messages for this cycle.
                usage = self.engine.cycle_usage(updated, now).copy()
                usage.fired = frozenset(
                    k for k in usage.fired if not k.startswith("limit_pct:"))
                tx.save_cycles([(updated.id, usage)], now)
                self._save_line(tx, updated, actor, "spending_limit",
                                before=_euros(current.spending_limit_micros),
                                after=_euros(micros))
            self.engine.cache_line(updated)
            self.engine.cache_cycle(updated.id, usage)
        log.info("spending limit of line %s set to %s by %s", line.id, _euros(micros), actor)
        return updated

    def _save_line(self, tx: StoreTransaction, line: Line, actor: str, action: str, *,
                   before: Any, after: Any) -> None:
        now = self.engine.clock()
        tx.put_line(line, now)
        tx.audit(AuditEntry(now, actor, line.id, action, before, after))

    # -- authorization ------------------------------------------------------------

    def _expire(self, line_id: str, now: datetime) -> list[CreditSession]:
        expired = []
        for session_id in list(self._by_line.get(line_id, ())):
            session = self._sessions[session_id]
            if session.expired(now, self.validity):
                session.status, session.closed_at, session.reserved = "expired", now, 0
                self._untrack(session)
                expired.append(session)
                log.info("session %s of line %s expired; reservation released",
                         session.id, line_id)
        return expired

    def _position(self, line: Line, now: datetime, service: Service, direction: Direction,
                  country: str, *, batch: Batch | None = None,
                  working: Mapping[str, CreditSession] | None = None,
                  ) -> tuple[Exposure | None, int]:
        """The exposure of this kind of use, and the line's worst-case spend.

        With a batch, its uncommitted usage counts (reports rated just before); the
        working copies of sessions stand for the tracked ones (not committed yet).
        """
        usage = self.engine.cycle_usage(line, now)
        if batch is not None:
            usage = batch.working.get((line.id, usage.cycle.start_date), usage)
        sessions = [self._sessions[session_id] for session_id in self._by_line.get(line.id, ())]
        if working is not None:
            sessions = [working.get(session.id, session) for session in sessions]
        return self._exposure(line, now, service, direction, country, usage=usage,
                              sessions=sessions)

    def _exposure(self, line: Line, now: datetime, service: Service, direction: Direction,
                  country: str, *, usage: CycleUsage, sessions: Sequence[CreditSession],
                  ) -> tuple[Exposure | None, int]:
        plan = self.engine.plan_of(line, now)
        reserved: dict[str, int] = {}
        classes: dict[str, RateClass] = {}
        for session in sessions:
            rc = rate_class(plan, self.engine.catalog, session.service, session.direction,
                            session.country)
            if rc is not None:
                reserved[rc.meter] = reserved.get(rc.meter, 0) + session.reserved
                classes[rc.meter] = rc
        worst = worst_case_spend(usage.spend_micros, (
            Exposure(rc, usage.meter(meter), reserved[meter]) for meter, rc in classes.items()))
        exposure = exposure_for(plan, self.engine.catalog, service=service,
                                direction=direction, country=country, meters=usage.meters,
                                reserved=reserved)
        return exposure, worst

    def authorize(self, line_id: str, service: Service, direction: Direction,
                  country: str | None, amount_micros: int | None) -> Decision:
        line = self.engine.line(line_id)
        if line is None:
            return Decision(False, Reason.UNKNOWN_LINE.value)
        if self.engine.shared:
            return self._authorize_shared(line, service, direction, country, amount_micros)
        with self.engine.lock:
            now = self.engine.clock()
            self._persist_expired(self._expire(line.id, now))
            line = self.engine.load_line_locked(line_id) or line
            where = country or self.engine.catalog.home_country
            exposure, worst = self._position(line, now, service, direction, where)
            return authorize(
                plan=self.engine.plan_of(line, now), catalog=self.engine.catalog,
                barred=line.barred, limit_micros=line.spending_limit_micros, service=service,
                direction=direction, country=where, amount_micros=amount_micros,
                exposure=exposure, worst_micros=worst)

    def _authorize_shared(self, line: Line, service: Service, direction: Direction,
                          country: str | None, amount_micros: int | None) -> Decision:
        """A shared engine's authorize: a read of what is committed, without the engine
        lock (it reserves nothing, so it needs no row lock either); expired sessions are
        left out here and closed by the commands and the sweep."""
        store = self.engine.store
        now = self.engine.clock()
        cycle = cycle_of(now, line.cycle_day)
        usage = store.load_cycle(line.id, cycle.start_date) or CycleUsage(cycle)
        sessions = [s for s in store.open_sessions([line.id])
                    if not s.expired(now, self.validity)]
        where = country or self.engine.catalog.home_country
        exposure, worst = self._exposure(line, now, service, direction, where, usage=usage,
                                         sessions=sessions)
        return authorize(
            plan=self.engine.plan_of(line, now), catalog=self.engine.catalog,
            barred=line.barred, limit_micros=line.spending_limit_micros, service=service,
            direction=direction, country=where, amount_micros=amount_micros,
            exposure=exposure, worst_micros=worst)

    def _persist_expired(self, sessions: list[CreditSession],
                         tx: StoreTransaction | None = None) -> None:
        if not sessions:
            return
        if tx is not None:
            for session in sessions:
                tx.put_session(session)
            return
        with self.engine.command([s.line_id for s in sessions]) as own:
            for session in sessions:
                own.put_session(session)

    # -- credit-control sessions ----------------------------------------------------

    def _grant(self, line: Line, session: CreditSession, requested: int,
               now: datetime, *, batch: Batch | None = None,
               working: Mapping[str, CreditSession] | None = None) -> Grant:
        exposure, worst = self._position(line, now, session.service, session.direction,
                                         session.country, batch=batch,
                                         working=working or {session.id: session})
        decision = authorize(
            plan=self.engine.plan_of(line, now), catalog=self.engine.catalog,
            barred=line.barred, limit_micros=line.spending_limit_micros,
            service=session.service, direction=session.direction, country=session.country,
            amount_micros=0, exposure=exposure, worst_micros=worst)
        if not decision.allowed:
            return Grant(0, True, decision.reason)
        if exposure is None:
            return Grant(requested, False)
        return grant(exposure, requested, limit_micros=line.spending_limit_micros,
                     worst_micros=worst)

    def start(self, session_id: str, line_id: str, *, service: Service,
              direction: Direction, country: str | None, requested: int) -> Grant:
        _check_units("requested", requested)
        if service not in SESSION_SERVICES:
            raise InvalidInput(("body", "service"), "sessions are for voice, data and sms")
        with self.engine.lock:
            with self.engine.command([line_id]) as tx:
                self._refresh([line_id])
                existing = self._sessions.get(session_id) or self.engine.store.get_session(
                    session_id)
                if existing is not None:
                    if existing.line_id == line_id and existing.last_answer is not None \
                            and existing.reports == 0 and existing.status == "open":
                        return existing.last_answer  # a repeated start: same answer
                    raise Conflict(f"session {session_id} exists already")
                line = self.engine.load_line_locked(line_id)
                if line is None:
                    return Grant(0, True, Reason.UNKNOWN_LINE.value)
                now = self.engine.clock()
                expired = self._expire(line.id, now)
                session = CreditSession(
                    id=session_id, line_id=line.id, service=service, direction=direction,
                    country=country or self.engine.catalog.home_country,
                    opened_at=now, last_seen=now)
                answer = self._grant(line, session, requested, now)
                self._persist_expired(expired, tx)
                if answer.granted == 0:
                    log.info("session %s on %s refused: %s", session_id, line.id,
                             answer.reason)
                    return answer
                session.reserved = session.granted_total = answer.granted
                session.last_answer = answer
                tx.put_session(session)
            self._track(session)
        log.debug("session %s on %s: granted %d of %d", session_id, line.id,
                  answer.granted, requested)
        return answer

    def _open(self, session_id: str, now: datetime, tx: StoreTransaction) -> CreditSession:
        session = self._sessions.get(session_id)
        if session is not None:
            if session.expired(now, self.validity):
                # Not heard from within its validity: closed now, whatever the sweep.
                self._persist_expired(self._expire(session.line_id, now), tx)
                raise Conflict(f"session {session_id} expired")
            return session
        stored = self.engine.store.get_session(session_id)
        if stored is None:
            raise NotFound(f"no session {session_id}")
        raise Conflict(f"session {session_id} is {stored.status}")

    def _lines_of(self, session_ids: Sequence[str]) -> list[str]:
        """The lines whose rows a command on these sessions locks."""
        lines = set()
        unknown = []
        for session_id in session_ids:
            session = None if self.engine.shared else self._sessions.get(session_id)
            if session is None:
                unknown.append(session_id)
            else:
                lines.add(session.line_id)
        if unknown:
            lines.update(self.engine.store.session_lines(unknown).values())
        return sorted(lines)

    def _report(self, session: CreditSession, used: int, now: datetime,
                batch: Batch) -> None:
        """Rate what the network says was used, as a usage record of this report."""
        session.reports += 1
        session.used_total += used
        session.reserved = 0
        session.last_seen = now
        if used == 0:
            return
        record = UsageRecord(
            id=f"session:{session.id}:{session.reports}", line=session.line_id,
            service=session.service, quantity=used, at=now, country=session.country,
            direction=session.direction)
        rating = self.engine.rate_into(0, record, batch)
        if rating is not None:
            session.charged_micros += rating.charge_micros
        if used > session.granted_total - (session.used_total - used):
            log.warning("session %s reported more than granted", session.id)

    def update(self, session_id: str, used: int, requested: int,
               request_number: int | None) -> Grant:
        answer = self.update_many([Report(session_id, used, requested, request_number)])[0]
        if isinstance(answer, ConsoError):
            raise answer
        return answer

    def update_many(self, reports: Sequence[Report]) -> list[Grant | ConsoError]:
        """Apply session reports in order and commit them in ONE transaction.

        Each report sees the ones before it (their usage and reservations), exactly as
        if applied one by one; a report that fails (unknown or expired session, bad
        units) fails alone. Nothing is published before the commit: a failed commit
        leaves every session as it was.
        """
        answers: list[Grant | ConsoError] = []
        working: dict[str, CreditSession] = {}
        lines = self._lines_of([report.session_id for report in reports])
        with self.engine.lock:
            with self.engine.command(lines) as tx:
                self._refresh(lines)
                now = self.engine.clock()
                self.engine.prefetch([(line_id, now) for line_id in lines])
                batch = Batch(now, BatchResult())
                for report in reports:
                    try:
                        answers.append(self._apply_report(report, now, batch, working, tx))
                    except ConsoError as exc:
                        answers.append(exc)
                if working:
                    self.engine.write(tx, batch)
                    for session in working.values():
                        tx.put_session(session)
            if working:
                self.engine.publish_cycles(batch)
                self._sessions.update(working)
        self.engine.publish(batch)
        return answers

    def _apply_report(self, report: Report, now: datetime, batch: Batch,
                      working: dict[str, CreditSession], tx: StoreTransaction) -> Grant:
        _check_units("used", report.used)
        _check_units("requested", report.requested)
        tracked = working.get(report.session_id) or self._open(report.session_id, now, tx)
        if report.request_number is not None and tracked.last_answer is not None \
                and report.request_number == tracked.last_request:
            return tracked.last_answer  # the same report again: counted once
        line = self.engine.load_line_locked(tracked.line_id)
        if line is None:
            raise NotFound(f"no session {report.session_id}")
        # Changes go to a copy, published only once committed (like the engine's).
        session = replace(tracked)
        self._report(session, report.used, now, batch)
        working[session.id] = session
        answer = self._grant(line, session, report.requested, now, batch=batch,
                             working=working)
        session.reserved = answer.granted
        session.granted_total += answer.granted
        session.last_request = report.request_number
        session.last_answer = answer
        return answer

    def terminate(self, session_id: str, used: int) -> int:
        """Close a session, rate its last usage; returns what the session cost."""
        _check_units("used", used)
        lines = self._lines_of([session_id])
        refused: ConsoError | None = None
        with self.engine.lock:
            with self.engine.command(lines) as tx:
                self._refresh(lines)
                now = self.engine.clock()
                batch = Batch(now, BatchResult())
                try:
                    session = replace(self._open(session_id, now, tx))
                except ConsoError as exc:
                    refused = exc  # raised after the commit: an expiry found here is kept
                else:
                    self._report(session, used, now, batch)
                    session.status, session.closed_at = "closed", now
                    self.engine.write(tx, batch)
                    tx.put_session(session)
            if refused is not None:
                raise refused
            self.engine.publish_cycles(batch)
            self._untrack(session)
        self.engine.publish(batch)
        return session.charged_micros

    def sweep(self) -> int:
        """Close every session not heard from within its validity; returns how many."""
        now = self.engine.clock()
        if not self.engine.shared:
            with self.engine.lock:
                expired = [s for line_id in list(self._by_line)
                           for s in self._expire(line_id, now)]
                self._persist_expired(expired)  # a transaction only when there are some
            return len(expired)
        stale = {s.line_id for s in self.engine.store.open_sessions()
                 if s.expired(now, self.validity)}
        closed = 0
        for line_id in sorted(stale):
            with self.engine.command([line_id]) as tx:
                self._refresh([line_id])
                expired = self._expire(line_id, self.engine.clock())
                self._persist_expired(expired, tx)
                closed += len(expired)
        return closed


@dataclass(frozen=True, slots=True)
class Report:
    """What the network reports on a session: used since the last report, and more asked."""

    session_id: str
    used: int
    requested: int
    request_number: int | None = None


class ReportQueue:
    """Group commit for session reports: reports that arrive while one group is being
    committed wait and are committed together, so a busy network shares each fsync
    instead of paying one per report. Answers come only after their commit."""

    def __init__(self, control: NetworkControl, max_group: int = 256) -> None:
        self.control = control
        self.max_group = max_group
        self._queue: queue.SimpleQueue[tuple[Report, Future[Grant]] | None] = \
            queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="conso-reports", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(10)
            self._thread = None

    def submit(self, report: Report) -> Future[Grant]:
        future: Future[Grant] = Future()
        if self._thread is None:  # not started (tools, tests): apply right away
            self._settle([(report, future)])
        else:
            self._queue.put((report, future))
        return future

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group = [first]
            while len(group) < self.max_group:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._settle(group)
                    return
                group.append(item)
            self._settle(group)

    def _settle(self, group: list[tuple[Report, Future[Grant]]]) -> None:
        try:
            answers = self.control.update_many([report for report, _ in group])
        except BaseException as exc:  # the commit failed: every report of the group did
            for _, future in group:
                future.set_exception(exc)
            return
        for (_, future), answer in zip(group, answers, strict=True):
            if isinstance(answer, Exception):
                future.set_exception(answer)
            else:
                future.set_result(answer)


class Sweeper:
    """Housekeeping every `interval` seconds: closes the sessions the network stopped
    reporting, and lets go of cached usage of cycles long over."""

    def __init__(self, control: NetworkControl, interval: float = 30.0,
                 also: Callable[[], object] | None = None) -> None:
        self.control = control
        self.interval = interval
        self.also = also  # more housekeeping (a shared outbox's stale claims)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="conso-sweeper", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.control.sweep()
                engine = self.control.engine
                engine.evict_cycles(engine.clock() - CACHED_CYCLES_AFTER_END)
                if self.also is not None:
                    self.also()
            except Exception:
                log.exception("housekeeping failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)


def _check_units(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_REQUEST:
        raise InvalidInput(("body", name), f"must be a whole number from 0 to {MAX_REQUEST}")


def _euros(micros: int | None) -> int | None:
    return None if micros is None else micros // 1_000_000


def limit_view(line: Line, spend_micros: int) -> dict[str, Any] | None:
    limit = line.spending_limit_micros
    if limit is None:
        return None
    return {
        "amount_eur": limit // 1_000_000,
        "amount_cents": limit // MICROS_PER_CENT,
        "spent_cents": (spend_micros + MICROS_PER_CENT // 2) // MICROS_PER_CENT,
        "reached": spend_micros >= limit,
        "overshoot_cents": max(0, spend_micros - limit) // MICROS_PER_CENT,
    }

