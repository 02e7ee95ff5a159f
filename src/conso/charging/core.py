"""The charging core: online charging over the domain and the engine, for every protocol.

Authorize, credit-control sessions with several rating groups, one-time events and
price enquiries, each a unit of work of the engine: a session report is rated,
counted, notified and its reservation updated in one transaction. Every grant is
computed against all open reservations of the line (domain/control.py says why that
means zero overshoot); a shared engine locks the line's row first, so two processes
never grant the same money twice.

This module knows no protocol: front ends translate to the types of ports.py. It
must not import a front end (api, web, diameter, nchf, sms).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import timedelta

from conso.charging.ports import (
    MAX_UNITS,
    ChargingCore,
    Consultation,
    Event,
    EventAnswer,
    Fence,
    Price,
    SessionAnswer,
    SessionEnd,
    SessionStart,
    SessionUpdate,
    Units,
    UseRequest,
)
from conso.charging.roaming_cap import continue_roaming
from conso.domain.catalog import Catalog, Network, Plan, PlanKind
from conso.domain.control import (
    Decision,
    Exposure,
    Grant,
    Reason,
    authorize,
    capped,
    grant,
    roaming_cap_in_force,
)
from conso.domain.ids import E164, IMSI
from conso.domain.line import Line
from conso.domain.outbox import OutboxMessage
from conso.domain.rating import CycleUsage
from conso.domain.records import UsageRecord
from conso.domain.sessions import (
    SESSION_SERVICES,
    CreditSession,
    Overshoot,
    answer_of,
    overshoot,
    position,
)
from conso.domain.units import Direction, Service
from conso.engine import Engine, LineView, UnitOfWork
from conso.errors import Conflict, ConsoError, InvalidInput, NotFound

log = logging.getLogger("conso.control")


class Charging:
    """The `ChargingCore` of ports.py over an engine.

    `on_overshoot` hears of every report of more than was granted, once committed (the
    operator's metrics count them)."""

    def __init__(self, engine: Engine, *, validity: timedelta = timedelta(minutes=10),
                 on_overshoot: Callable[[Overshoot], None] | None = None) -> None:
        self.engine = engine
        self.validity = validity
        self.on_overshoot = on_overshoot

    @property
    def catalog(self) -> Catalog:
        return self.engine.catalog

    # -- authorize and price: reads, nothing reserved -------------------------------------

    def fence(self) -> Fence | None:
        return self.engine.fence()

    def authorize(self, request: UseRequest, *, wait: bool = True,
                  fence: Fence | None = None) -> Decision:
        view = self.engine.view(request.line, wait=wait, fence=fence)
        if view is None:
            return Decision(False, Reason.UNKNOWN_LINE.value)
        return self._assess_view(view, request)[0]

    def price(self, request: UseRequest, units: int) -> Price:
        _check_units("units", units)
        view = self.engine.view(request.line)
        if view is None:
            return Price(0, False, Reason.UNKNOWN_LINE.value)
        decision, exposure, worst = self._assess_view(view, request)
        if request.service is Service.PREMIUM:
            micros = request.amount_micros or 0
        elif exposure is None:
            micros = 0
        else:
            micros = exposure.rate.cost(exposure.metered + exposure.reserved, units)
        if not decision.allowed:
            return Price(micros, False, decision.reason)
        limit = view.line.spending_limit_micros
        if limit is not None and request.service is not Service.CALLME \
                and worst + micros > limit:
            return Price(micros, False, Reason.SPENDING_LIMIT.value)
        cap = self._cap(view.line, view.usage)
        if cap is not None and capped(exposure):
            assert exposure is not None
            if exposure.rate.cost(0, exposure.metered + exposure.reserved) + micros > cap:
                return Price(micros, False, Reason.ROAMING_CAP.value)
        return Price(micros, True)

    def check_balance(self, request: UseRequest, units: int) -> bool:
        return self.price(request, units).enough

    # -- sessions ---------------------------------------------------------------------------

    def start(self, request: SessionStart) -> SessionAnswer:
        _check_request(request.units)
        engine = self.engine
        with engine.unit_of_work([request.line]) as uow:
            existing = uow.session(request.session_id)
            if existing is not None:
                if existing.line_id == request.line and existing.last_answer is not None \
                        and existing.reports == 0 and existing.is_open:
                    return SessionAnswer(existing.last_answer)  # a repeated start
                raise Conflict(f"session {request.session_id} exists already")
            line = uow.line(request.line)
            if line is None:
                refused = Grant(0, True, Reason.UNKNOWN_LINE.value)
                return SessionAnswer(tuple((u.group, refused) for u in request.units))
            self._expire(uow, line.id)
            session = CreditSession(
                id=request.session_id, line_id=line.id,
                country=request.country or self.catalog.home_country,
                opened_at=uow.now, last_seen=uow.now, origin=request.origin,
                push_to=request.push_to)
            for units in request.units:
                _quota(session, units)
            answer = self._grant_all(uow, line, session, request.units)
            # Refused when every group is refused; a group granted 0 because it asked
            # for 0 opens the session all the same (Diameter's CCR-I may ask for nothing).
            if answer and all(g.reason is not None for _, g in answer):
                log.info("session %s on %s refused: %s", session.id, line.id,
                         ", ".join(str(g.reason) for _, g in answer))
                return SessionAnswer(answer)
            session.answered(request.request_number, answer)
            uow.save_session(session)
        log.debug("session %s on %s: %s", session.id, line.id, answer)
        return SessionAnswer(answer)

    def update(self, request: SessionUpdate) -> SessionAnswer:
        answer = self.update_many([request])[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def update_many(self, requests: Sequence[SessionUpdate],
                    ) -> list[SessionAnswer | Exception]:
        """Apply session updates in order and commit them in ONE transaction.

        Each sees the ones before it (their usage and reservations), exactly as if
        applied one by one; one that fails (unknown or expired session, bad units)
        fails alone. Nothing is published before the commit.
        """
        answers: list[SessionAnswer | Exception] = []
        overshoots: list[Overshoot] = []
        lines = self.engine.lines_of_sessions([r.session_id for r in requests])
        with self.engine.unit_of_work(lines) as uow:
            uow.prefetch([(line_id, uow.now) for line_id in lines])
            for request in requests:
                try:
                    answers.append(self._update(uow, request, overshoots))
                except ConsoError as exc:
                    answers.append(exc)
        self._overshot(overshoots)
        return answers

    def _update(self, uow: UnitOfWork, request: SessionUpdate,
                overshoots: list[Overshoot]) -> SessionAnswer:
        _check_request(request.units)
        tracked = self._open(uow, request.session_id, request.request_number)
        if tracked.is_retransmission(request.request_number) \
                or tracked.is_stale(request.request_number):
            # An older request again gets the latest answer: its units were counted
            # when it was first answered, and the network has moved on since.
            assert tracked.last_answer is not None
            return SessionAnswer(tracked.last_answer, tracked.charged_micros)
        line = uow.line(tracked.line_id)
        if line is None:
            raise NotFound(f"no session {request.session_id}")
        session = tracked.copy()   # published only once committed
        self._report(uow, line, session, request.units, overshoots)
        answer = self._grant_all(uow, line, session, request.units)
        session.answered(request.request_number, answer)
        uow.save_session(session)
        return SessionAnswer(answer, session.charged_micros)

    def end(self, request: SessionEnd) -> SessionAnswer:
        """Close a session and rate its last usage; the answer says what it cost."""
        _check_request(request.units)
        lines = self.engine.lines_of_sessions([request.session_id])
        refused: ConsoError | None = None
        overshoots: list[Overshoot] = []
        with self.engine.unit_of_work(lines) as uow:
            try:
                tracked = self._open(uow, request.session_id, request.request_number)
            except ConsoError as exc:
                refused = exc  # raised after the commit: an expiry found here is kept
            else:
                if not tracked.is_open:  # the same end again: its first answer
                    assert tracked.last_answer is not None
                    return SessionAnswer(tracked.last_answer, tracked.charged_micros)
                session = tracked.copy()
                line = uow.line(session.line_id)
                if line is None:
                    raise NotFound(f"no session {request.session_id}")
                self._report(uow, line, session, request.units, overshoots)
                session.close(uow.now)
                answer = answer_of({group: Grant(0, True) for group in session.quotas})
                session.answered(request.request_number, answer)
                uow.save_session(session)
        if refused is not None:
            raise refused
        self._overshot(overshoots)
        return SessionAnswer(answer, session.charged_micros)

    def subscriber(self, *, msisdn: str | None = None, imsi: str | None = None) -> str | None:
        if imsi is not None:
            return self.engine.store.lines.by_imsi(imsi) if IMSI.match(imsi) else None
        if msisdn is not None and msisdn.isdigit() and E164.match("+" + msisdn):
            found = self.engine.line("+" + msisdn)
            return None if found is None else found.id
        return None

    def network(self) -> Network:
        return self.catalog.network

    def consult(self, line: str) -> Consultation | None:
        found = self.engine.line(line)
        if found is None:
            return None
        return Consultation(self.engine.usage_summary(found),
                            self.engine.recipient(found).language)

    def continue_roaming(self, line: str) -> bool:
        found = self.engine.line(line)
        if found is None or found.roaming_cap_off or self.catalog.roaming_data_cap_micros \
                is None or self.catalog.plans[found.plan_id].kind is PlanKind.INTERNET:
            return False
        continue_roaming(self.engine, found, found.user_login or found.id)
        return True

    def send(self, messages: Sequence[OutboxMessage]) -> None:
        self.engine.queue_messages(messages)

    def sweep(self) -> int:
        """Close every session not heard from within its validity; returns how many."""
        now = self.engine.clock()
        stale = {s.line_id for s in self.engine.open_sessions()
                 if s.expired(now, self.validity)}
        closed = 0
        for line_id in sorted(stale):
            with self.engine.unit_of_work([line_id]) as uow:
                closed += self._expire(uow, line_id)
        return closed

    # -- one-time events ----------------------------------------------------------------------

    def event(self, event: Event) -> EventAnswer:
        """Debit an event at once, all of its units or none (a refused one counts nothing);
        the same event id again is counted once."""
        use = event.use
        _check_units("units", event.units)
        with self.engine.unit_of_work([use.line]) as uow:
            if self.engine.store.usage.existing_record_ids([event.event_id]):
                return EventAnswer(event.units, None, 0)   # counted before
            line = uow.line(use.line)
            if line is None:
                return EventAnswer(0, Reason.UNKNOWN_LINE.value, 0)
            self._expire(uow, line.id)
            where = use.country or self.catalog.home_country
            usage = uow.cycle_usage(line)
            decision, exposure, worst = self._assess(
                line, uow.plan(line), usage, uow.open_sessions(line.id),
                service=use.service, direction=use.direction, country=where,
                amount_micros=use.amount_micros)
            if not decision.allowed:
                return EventAnswer(0, decision.reason, 0)
            if exposure is not None and use.service is not Service.CALLME:
                granted = grant(exposure, event.units, limit_micros=line.spending_limit_micros,
                                worst_micros=worst,
                                roaming_cap_micros=self._cap(line, usage))
                if granted.granted < event.units:
                    return EventAnswer(0, granted.reason or Reason.SPENDING_LIMIT.value, 0)
            record = UsageRecord(
                id=event.event_id, line=line.id, service=use.service,
                quantity=event.units, at=uow.now, country=where, direction=use.direction,
                amount_micros=use.amount_micros or 0)
            rating = uow.rate(0, record)
            if rating is None:
                rejected = uow.batch.result.rejected[-1]
                raise InvalidInput(("units",), rejected.error)
        return EventAnswer(event.units, None, rating.charge_micros)

    # -- the steps --------------------------------------------------------------------------

    def _assess(self, line: Line, plan: Plan, usage: CycleUsage,
                sessions: Sequence[CreditSession], *, service: Service, direction: Direction,
                country: str, amount_micros: int | None,
                ) -> tuple[Decision, Exposure | None, int]:
        """May this use start (barring, then the limit), with the use's exposure and the
        line's worst-case spend over these open sessions: what every answer starts from."""
        exposure, worst = position(plan, self.catalog, usage, sessions, service=service,
                                   direction=direction, country=country)
        decision = authorize(
            plan=plan, catalog=self.catalog, barred=line.barred,
            limit_micros=line.spending_limit_micros, service=service, direction=direction,
            country=country, amount_micros=amount_micros, exposure=exposure,
            worst_micros=worst, roaming_cap_micros=self._cap(line, usage))
        return decision, exposure, worst

    def _cap(self, line: Line, usage: CycleUsage) -> int | None:
        """The roaming data cap binding the line in the cycle of `usage`."""
        return roaming_cap_in_force(line, self.catalog, usage.cycle.start_date)

    def _assess_view(self, view: LineView, request: UseRequest,
                     ) -> tuple[Decision, Exposure | None, int]:
        """`_assess` of a read-only request: sessions past their validity count no more
        (commands and the sweep close them)."""
        sessions = [s for s in view.sessions if not s.expired(view.now, self.validity)]
        return self._assess(view.line, view.plan, view.usage, sessions,
                            service=request.service, direction=request.direction,
                            country=request.country or self.catalog.home_country,
                            amount_micros=request.amount_micros)

    def _open(self, uow: UnitOfWork, session_id: str,
              request_number: int | None) -> CreditSession:
        """The open session a request names; a closed one only when the request repeats
        the one that closed it (its answer is given again)."""
        session = uow.session(session_id)
        if session is None:
            raise NotFound(f"no session {session_id}")
        if session.expired(uow.now, self.validity):
            # Not heard from within its validity: closed now, whatever the sweep.
            self._expire(uow, session.line_id)
            raise Conflict(f"session {session_id} expired")
        if not session.is_open and not session.is_retransmission(request_number):
            raise Conflict(f"session {session_id} is {session.status.value}")
        return session

    def _expire(self, uow: UnitOfWork, line_id: str) -> int:
        count = 0
        for session in uow.open_sessions(line_id):
            if session.expired(uow.now, self.validity):
                expired = session.copy()
                expired.expire(uow.now)
                uow.save_session(expired)
                count += 1
                log.info("session %s of line %s expired; reservation released",
                         session.id, line_id)
        return count

    def _report(self, uow: UnitOfWork, line: Line, session: CreditSession,
                units: Sequence[Units], overshoots: list[Overshoot]) -> None:
        """Rate what the network says was used, a usage record per rating group.

        A report of more than its group's grant is charged in full (the usage happened;
        refusing it would only lose the money): the units past the grant and their cost
        are kept with the line's cycle as the network's overshoot, and `overshoots`
        collects them to be logged and counted once committed."""
        session.begin_report(uow.now)
        for asked in units:
            granted = session.granted_now(asked.group)
            _quota(session, asked)
            record = session.report(asked.group, asked.used, uow.now)
            if record is None:
                continue
            rating = uow.rate(0, record)
            if rating is None:
                continue
            session.charge(asked.group, rating.charge_micros)
            if record.quantity <= granted:
                continue   # within its grant: the hot path stops here
            usage = uow.cycle_usage(line, record.at)
            over = overshoot(session, asked.group, granted, record,
                             plan=uow.plan(line, record.at), catalog=self.catalog, usage=usage)
            if over is not None:
                usage.add_overshoot(over.service, over.excess, over.micros)
                uow.save_cycle(line.id, usage)
                overshoots.append(over)

    def _overshot(self, overshoots: Sequence[Overshoot]) -> None:
        """After the commit: say so, and count it."""
        for over in overshoots:
            log.warning(
                "session %s on line %s reported more than granted: service %s, rating group "
                "%r, granted %d, used %d, excess %d (charged: %d micro-euros past the grant)",
                over.session_id, over.line_id, over.service.value, over.group, over.granted,
                over.used, over.excess, over.micros)
            if self.on_overshoot is not None:
                self.on_overshoot(over)

    def _grant_all(self, uow: UnitOfWork, line: Line, session: CreditSession,
                   units: Sequence[Units]) -> tuple[tuple[str, Grant], ...]:
        grants: dict[str, Grant] = {}
        for asked in units:
            answer = self._grant(uow, line, session, asked.group, asked.requested)
            session.reserve(asked.group, answer)
            grants[asked.group] = answer
        return answer_of(grants)

    def _grant(self, uow: UnitOfWork, line: Line, session: CreditSession, group: str,
               requested: int) -> Grant:
        quota = session.quotas[group]
        sessions = [s for s in uow.open_sessions(line.id) if s.id != session.id]
        sessions.append(session)
        usage = uow.cycle_usage(line)
        decision, exposure, worst = self._assess(
            line, uow.plan(line), usage, sessions, service=quota.service,
            direction=quota.direction, country=session.country, amount_micros=0)
        if not decision.allowed:
            return Grant(0, True, decision.reason)
        if exposure is None:
            return Grant(requested, False)
        return grant(exposure, requested, limit_micros=line.spending_limit_micros,
                     worst_micros=worst, roaming_cap_micros=self._cap(line, usage))


def _check_units(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_UNITS:
        raise InvalidInput((name,), f"must be a whole number from 0 to {MAX_UNITS}")


def _check_request(units: Sequence[Units]) -> None:
    # No units is allowed: Diameter opens, keeps and ends sessions without an MSCC.
    for asked in units:
        _check_units("used", asked.used)
        _check_units("requested", asked.requested)
        if asked.service is not None and asked.service not in SESSION_SERVICES:
            raise InvalidInput(("service",), "sessions are for voice, data and sms")


def _quota(session: CreditSession, asked: Units) -> None:
    """The rating group's quota, added when the session has none yet."""
    if asked.group in session.quotas:
        return
    if asked.service is None:
        raise InvalidInput(("group",), f"no rating group {asked.group!r} in this session")
    session.quota(asked.group, asked.service, asked.direction)


def _implements_the_port(core: Charging) -> ChargingCore:
    """mypy holds `Charging` to the port's protocol here."""
    return core
