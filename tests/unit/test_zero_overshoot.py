"""Zero overshoot: online credit control never takes a line's spend past its limit.

The charging core through its port, on the in-memory store (a subclass runs the same
machine on a shared PostgreSQL engine), with a clock the test controls; the message
dispatcher is never started. Sessions meter one service (the operator's HTTP shape) or
several rating groups at once (Diameter's and Nchf's).

Overshoot is the offline records' doing, never the sessions'. An offline record may
arrive while sessions hold reservations; the money reserved was promised to the
network before the record came, so the sessions may still use it. What an offline
record is to blame for is therefore measured on the *worst case* (spend plus what open
reservations could still cost): the part of its effect that took the worst case past
the limit (this includes a record that moves a cumulative meter so that a reservation,
free when granted as the rest of a started kB, now starts a new kB). With no
reservation open when it arrives that is exactly the part of its charge that took the
spend past the limit, the simple statement, which is checked too.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from conso.bootstrap import Services
from conso.charging.ports import SessionAnswer, SessionEnd, SessionStart, SessionUpdate, Units
from conso.domain.control import (
    Exposure,
    Grant,
    cap_position,
    capped,
    roaming_cap_in_force,
    worst_case_spend,
)
from conso.domain.line import Line
from conso.domain.rating import RateClass, rate_class
from conso.domain.units import Direction, Service
from conso.errors import Conflict, NotFound
from unit.charging_support import end, memory_services, start, update

EUR = 1_000_000
LIMITS_EUR = (5, 10, 20, 50)
LINE = "+32470000001"
START = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
VALIDITY = timedelta(seconds=60)
OUT, IN = Direction.OUT, Direction.IN


@dataclass(frozen=True)
class Kind:
    """What a session meters: service, direction and where the line is."""

    service: Service
    direction: Direction
    country: str

    def __str__(self) -> str:
        return f"{self.service.value}/{self.direction.value}/{self.country}"


# Home, EU (rated like home) and outside the EU but not limit-roaming-blocked (charged
# at roaming rates). Incoming calls at home are free.
SESSION_KINDS = [
    Kind(Service.DATA, OUT, "BE"), Kind(Service.DATA, OUT, "FR"), Kind(Service.DATA, OUT, "CH"),
    Kind(Service.VOICE, OUT, "BE"), Kind(Service.VOICE, OUT, "NO"),
    Kind(Service.VOICE, OUT, "CH"), Kind(Service.VOICE, IN, "BE"),
    Kind(Service.VOICE, IN, "GB"), Kind(Service.SMS, OUT, "BE"), Kind(Service.SMS, OUT, "CH"),
]

# The uses a session of several rating groups may combine (all in its one country).
GROUP_USES = [(Service.DATA, OUT), (Service.VOICE, OUT), (Service.VOICE, IN), (Service.SMS, OUT)]

REQUESTS = {
    Service.DATA: st.one_of(st.integers(0, 3_000), st.integers(0, 60_000_000)),
    Service.VOICE: st.one_of(st.integers(0, 10), st.integers(0, 4_000)),
    Service.SMS: st.integers(0, 80),
}


def open_services(clock: list[datetime]) -> Services:
    return memory_services(lambda: clock[0], validity=VALIDITY)


def provision(services: Services, limit_eur: int) -> Line:
    engine = services.engine
    engine.put_account("acct-zero", name="Zero overshoot", kind="residential")
    line = engine.put_line(LINE, account_id="acct-zero", plan_id="payg", user_login=None,
                           cycle_day=1).value
    return services.control.set_spending_limit(line, limit_eur, "test")


@dataclass
class OpenSession:
    """The test's model of an open session: what each rating group has reserved."""

    quotas: dict[str, tuple[Kind, int]]
    last_seen: datetime
    request_number: int = 0

    @property
    def reserved(self) -> int:
        return sum(reserved for _, reserved in self.quotas.values())


def group_of(kind: Kind) -> str:
    """A multi-group session's rating-group key for a kind of use."""
    return f"{kind.service.value}-{kind.direction.value}"


class Position:
    """A line's spend and worst case, computed from the store and the test's model."""

    def __init__(self, services: Services, now: datetime,
                 sessions: dict[str, OpenSession]) -> None:
        engine = services.engine
        self.catalog = services.catalog
        line = engine.line(LINE)
        assert line is not None
        self.plan = engine.plan_of(line, now)
        self.usage = engine.cycle_usage(line, now)
        self.cap = roaming_cap_in_force(line, self.catalog, self.usage.cycle.start_date)
        self.spend = self.usage.spend_micros
        self.reserved: dict[str, int] = {}
        self.classes: dict[str, RateClass] = {}
        for session in sessions.values():
            for kind, reserved in session.quotas.values():
                rc = self.rate_class(kind)
                self.reserved[rc.meter] = self.reserved.get(rc.meter, 0) + reserved
                self.classes[rc.meter] = rc
        self.worst = worst_case_spend(self.spend, (
            Exposure(rc, self.usage.meter(meter), self.reserved[meter])
            for meter, rc in self.classes.items()))

    def rate_class(self, kind: Kind) -> RateClass:
        rc = rate_class(self.plan, self.catalog, kind.service, kind.direction, kind.country)
        assert rc is not None
        return rc

    def roaming_exposure(self, kind: Kind) -> Exposure | None:
        """The kind's exposure when the roaming data cap counts it (data outside the
        EU/EEA, the cap in force), None otherwise."""
        rc = self.rate_class(kind)
        exposure = Exposure(rc, self.usage.meter(rc.meter), self.reserved.get(rc.meter, 0))
        return exposure if self.cap is not None and capped(exposure) else None

    def next_unit_cost(self, kind: Kind) -> int:
        """What one more unit of this kind would cost on top of meters and reservations."""
        rc = self.rate_class(kind)
        return rc.cost(self.usage.meter(rc.meter) + self.reserved.get(rc.meter, 0), 1)


def check_grant(answer: Grant, requested: int, kind: Kind, limit: int,
                after: Position) -> None:
    """A grant fits the money, is not stingy, and is final exactly when it is the last.

    The money is what the limit leaves over the worst case and, for data outside the
    EU/EEA, what the roaming data cap leaves over that class's cost (the tighter
    decides); a cap already reached refuses even the free rest of a started kB."""
    assert 0 <= answer.granted <= requested, answer
    next_cost = after.next_unit_cost(kind)
    available = max(0, limit - after.worst)
    roaming = after.roaming_exposure(kind)
    if answer.reason == "roaming_cap":
        assert roaming is not None and after.cap is not None, answer
        assert answer.granted == 0 and answer.final, answer
        assert cap_position(roaming.rate, roaming.metered + roaming.reserved).reached(
            after.cap), answer
        return
    if roaming is not None and after.cap is not None:
        spent = roaming.rate.cost(0, roaming.metered + roaming.reserved)
        available = min(available, max(0, after.cap - spent))
    event("grant: " + ("refused" if answer.granted == 0 and requested else
                       "partial" if answer.granted < requested else
                       "all, final" if answer.final else "all"))
    if answer.granted < requested:
        # Not stingy: one more unit would not have fitted the money that was left.
        assert answer.final, answer
        assert next_cost > available, (answer, requested, next_cost, available)
    elif answer.final:
        assert next_cost > available, (answer, next_cost, available)
    else:
        assert next_cost <= available, (answer, next_cost, available)
    if answer.granted > 0:
        assert answer.reason is None, answer
    elif requested > 0:
        assert answer.reason == "spending_limit", answer
    elif answer.reason is not None:
        # Asking for nothing when not even one unit fits: refused too.
        assert answer.reason == "spending_limit" and next_cost > available, answer


class ZeroOvershoot(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = [START]
        self.services = self.open_services()
        self.core = self.services.charging
        self.limit: int | None = None
        self.sessions: dict[str, OpenSession] = {}
        self.ended: set[str] = set()       # terminated or expired
        self.ids = itertools.count(1)
        self.last_update: tuple[SessionUpdate, SessionAnswer] | None = None
        # Brief's measure: the part of each offline charge beyond the limit at the time.
        self.offline_overshoot = 0
        # The same measured on the worst case (see the module's docstring).
        self.offline_excess = 0
        self.offline_during_reservation = False

    def open_services(self) -> Services:
        """The conso under test (a subclass runs it on shared PostgreSQL)."""
        return open_services(self.clock)

    @property
    def now(self) -> datetime:
        return self.clock[0]

    def position(self) -> Position:
        return Position(self.services, self.now, self.sessions)

    def teardown(self) -> None:
        self.services.close()

    @initialize(limit_eur=st.sampled_from(LIMITS_EUR))
    def provision(self, limit_eur: int) -> None:
        line = provision(self.services, limit_eur)
        assert line.spending_limit_micros == limit_eur * EUR
        self.limit = limit_eur * EUR

    # -- rules ------------------------------------------------------------------------

    @rule(kind=st.sampled_from(SESSION_KINDS), data=st.data())
    def start_session(self, kind: Kind, data: st.DataObject) -> None:
        assert self.limit is not None
        requested = data.draw(REQUESTS[kind.service], label="requested")
        session_id = f"s{next(self.ids)}"
        answer = start(self.services, session_id, LINE, kind.service, requested,
                       direction=kind.direction, country=kind.country)
        if answer.reason is None:   # open, even with 0 granted when 0 was asked
            self.sessions[session_id] = OpenSession({"": (kind, answer.granted)}, self.now)
        else:
            self.ended.add(session_id)  # never opened: nothing to report to
        check_grant(answer, requested, kind, self.limit, self.position())

    @rule(country=st.sampled_from(["BE", "FR", "CH"]), data=st.data())
    def start_a_session_of_several_rating_groups(self, country: str,
                                                 data: st.DataObject) -> None:
        assert self.limit is not None
        kinds = data.draw(st.lists(st.sampled_from(
            [Kind(service, direction, country) for service, direction in GROUP_USES]),
            min_size=2, max_size=3, unique_by=group_of), label="groups")
        units = tuple(Units(group_of(kind), kind.service, kind.direction,
                            requested=data.draw(REQUESTS[kind.service], label=group_of(kind)))
                      for kind in kinds)
        session_id = f"m{next(self.ids)}"
        answer = self.core.start(SessionStart(session_id, LINE, units, country=country))
        quotas = {group: (kind, grant.granted)
                  for kind, (group, grant) in zip(kinds, answer.grants, strict=True)}
        if not all(grant.reason is not None for _, grant in answer.grants):
            self.sessions[session_id] = OpenSession(quotas, self.now)
        else:
            self.ended.add(session_id)
        self.check_grants(units, answer.grants, {g: kind for g, (kind, _) in quotas.items()})

    def check_grants(self, units: tuple[Units, ...], grants: tuple[tuple[str, Grant], ...],
                     kinds: dict[str, Kind]) -> None:
        """Each group's grant fits. The last group asked is checked in full; an earlier
        group's finality was decided before the later groups took their share, so it is
        held to fitting and to being final when it is partial."""
        assert self.limit is not None
        assert [group for group, _ in grants] == [u.group for u in units]
        after = self.position()
        for index, (asked, (group, grant)) in enumerate(zip(units, grants, strict=True)):
            if index == len(units) - 1:
                check_grant(grant, asked.requested, kinds[group], self.limit, after)
            else:
                assert 0 <= grant.granted <= asked.requested, grant
                assert grant.final or grant.granted == asked.requested, grant

    @precondition(lambda self: self.sessions)
    @rule(data=st.data())
    def update_session(self, data: st.DataObject) -> None:
        assert self.limit is not None
        session_id = data.draw(st.sampled_from(sorted(self.sessions)), label="session")
        session = self.sessions[session_id]
        units = []
        for group, (kind, reserved) in sorted(session.quotas.items()):
            used = data.draw(st.integers(0, reserved), label=f"used {group}")
            requested = data.draw(REQUESTS[kind.service], label=f"requested {group}")
            units.append(Units(group, used=used, requested=requested))
        session.request_number += 1
        request = SessionUpdate(session_id, tuple(units), session.request_number)
        answer = self.core.update(request)
        assert [group for group, _ in answer.grants] == [u.group for u in units]
        for group, granted in answer.grants:
            session.quotas[group] = (session.quotas[group][0], granted.granted)
        session.last_seen = self.now
        self.last_update = (request, answer)
        self.check_grants(tuple(units), answer.grants,
                          {group: kind for group, (kind, _) in session.quotas.items()})

    @precondition(lambda self: self.last_update is not None
                  and self.last_update[0].session_id in self.sessions
                  and self.sessions[self.last_update[0].session_id].request_number
                  == self.last_update[0].request_number)
    @rule()
    def repeat_the_last_update(self) -> None:
        """A retried CCR-Update (same request number) counts once and gets the same answer."""
        assert self.last_update is not None
        request, answer = self.last_update
        before = self.position()
        records = self.session_records()
        assert self.core.update(request).grants == answer.grants
        assert self.position().spend == before.spend
        assert self.session_records() == records

    @precondition(lambda self: self.sessions)
    @rule(data=st.data())
    def terminate_session(self, data: st.DataObject) -> None:
        session_id = data.draw(st.sampled_from(sorted(self.sessions)), label="session")
        session = self.sessions.pop(session_id)
        units = tuple(Units(group, used=data.draw(st.integers(0, reserved), label=f"used {group}"))
                      for group, (_, reserved) in sorted(session.quotas.items()))
        charged = self.core.end(SessionEnd(session_id, units)).charged_micros
        self.ended.add(session_id)
        assert charged == sum(r.charge_micros for r in self.session_records()
                              if r.id.startswith(f"session:{session_id}:"))

    @precondition(lambda self: self.ended)
    @rule(data=st.data())
    def report_to_an_ended_session(self, data: st.DataObject) -> None:
        session_id = data.draw(st.sampled_from(sorted(self.ended)), label="session")
        before = self.position().spend
        with pytest.raises((Conflict, NotFound)):
            update(self.services, session_id, 1, 1, None)
        with pytest.raises((Conflict, NotFound)):
            end(self.services, session_id, 1)
        assert self.position().spend == before

    @rule()
    def report_to_an_unknown_session(self) -> None:
        with pytest.raises(NotFound):
            update(self.services, "no-such-session", 1, 1, None)

    @rule(data=st.data(), kind=st.sampled_from(
        [*SESSION_KINDS, Kind(Service.DATA, OUT, "US"), Kind(Service.PREMIUM, OUT, "BE"),
         Kind(Service.CALLME, OUT, "BE")]))
    def offline_record(self, kind: Kind, data: st.DataObject) -> None:
        assert self.limit is not None
        body: dict[str, object] = {
            "id": f"cdr-{next(self.ids)}", "line": LINE, "service": kind.service.value,
            "at": self.now.isoformat(), "country": kind.country,
            "direction": kind.direction.value,
        }
        if kind.service is Service.PREMIUM:
            body.update(quantity=1, amount_cents=data.draw(st.integers(0, 500), label="cents"))
        elif kind.service is Service.CALLME:
            body["quantity"] = data.draw(st.integers(1, 5), label="quantity")
        else:
            body["quantity"] = data.draw(REQUESTS[kind.service], label="quantity")
        before = self.position()
        if any(session.reserved for session in self.sessions.values()):
            self.offline_during_reservation = True
        result = self.services.engine.apply_usage([body])
        assert (result.accepted, result.rejected) == (1, []), result
        after = self.position()
        self.offline_overshoot += max(0, after.spend - max(before.spend, self.limit))
        self.offline_excess += max(0, after.worst - max(before.worst, self.limit))
        if after.spend > self.limit:
            event("offline: past the limit")

    @rule(seconds=st.integers(1, 2 * int(VALIDITY.total_seconds())))
    def time_passes(self, seconds: int) -> None:
        """Sessions not reported within their validity are closed; reservations released."""
        self.clock[0] = self.now + timedelta(seconds=seconds)
        due = {sid for sid, s in self.sessions.items() if self.now - s.last_seen > VALIDITY}
        assert self.core.sweep() == len(due)
        for session_id in due:
            del self.sessions[session_id]
            self.ended.add(session_id)

    # -- invariants ------------------------------------------------------------------

    def session_records(self) -> list[StoredRecordView]:
        return [r for r in self.records() if r.id.startswith("session:")]

    def records(self) -> list[StoredRecordView]:
        position = self.position()
        return [StoredRecordView(r.id, r.charge_micros) for r in
                self.services.store.usage.line_records(LINE, position.usage.cycle.start_date)]

    @invariant()
    def the_spend_is_what_the_records_cost(self) -> None:
        if self.limit is None:
            return
        assert self.position().spend == sum(r.charge_micros for r in self.records())

    @invariant()
    def reservations_are_as_granted_and_stored(self) -> None:
        if self.limit is None:
            return
        stored = {s.id: s.reserved for s in self.services.store.sessions.open()}
        assert stored == {sid: s.reserved for sid, s in self.sessions.items()}

    @invariant()
    def sessions_never_take_the_spend_past_the_limit(self) -> None:
        if self.limit is None:
            return
        spend = self.position().spend
        assert spend <= self.limit + self.offline_excess
        if not self.offline_during_reservation:
            # No reservation was open when an offline record came: the simple statement.
            assert spend <= self.limit + self.offline_overshoot
        if self.offline_overshoot == self.offline_excess == 0:
            assert spend <= self.limit

    @invariant()
    def the_worst_case_stays_within_the_limit(self) -> None:
        if self.limit is None:
            return
        assert self.position().worst <= self.limit + self.offline_excess


@dataclass(frozen=True)
class StoredRecordView:
    id: str
    charge_micros: int


ZeroOvershoot.TestCase.settings = settings(
    max_examples=100, stateful_step_count=30, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
TestZeroOvershoot = ZeroOvershoot.TestCase


# -- all the money is usable ------------------------------------------------------------

CHARGED_KINDS = [k for k in SESSION_KINDS if not (k.direction is IN and k.country == "BE")]
# Chunks big enough that a 50 EUR limit is reached in a bounded number of reports.
CHUNKS = {
    Service.DATA: st.integers(2_000_000, 200_000_000),
    Service.VOICE: st.integers(300, 7_200),
    Service.SMS: st.integers(3, 100),
}


@st.composite
def session_plans(draw: st.DrawFn) -> list[tuple[Kind, int]]:
    kinds = draw(st.lists(st.sampled_from(CHARGED_KINDS), min_size=1, max_size=4,
                          unique=True))
    return [(kind, draw(CHUNKS[kind.service])) for kind in kinds]


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(limit_eur=st.sampled_from(LIMITS_EUR), plan=session_plans())
def test_sessions_that_use_their_grants_spend_all_the_money_and_no_more(
    limit_eur: int, plan: list[tuple[Kind, int]],
) -> None:
    """No offline records; every session uses exactly what it is granted, in parallel
    with the others. The spend ends at the limit or below, and what is left does not
    buy one more unit of any kind in use."""
    clock = [START]
    services = open_services(clock)
    try:
        provision(services, limit_eur)
        limit = limit_eur * EUR
        ids = itertools.count(1)
        # Per kind: the open session and what it was last granted, or None when done.
        running: dict[Kind, tuple[str, Grant] | None] = {}
        done: set[Kind] = set()
        for _round in range(5_000):
            if len(done) == len(plan):
                break
            for kind, chunk in plan:
                if kind in done:
                    continue
                current = running.get(kind)
                if current is None:
                    session_id = f"s{next(ids)}"
                    answer = start(services, session_id, LINE, kind.service, chunk,
                                   direction=kind.direction, country=kind.country)
                    if answer.granted == 0:
                        assert answer.reason == "spending_limit"
                        done.add(kind)
                    else:
                        running[kind] = (session_id, answer)
                elif current[1].final:
                    end(services, current[0], current[1].granted)
                    running[kind] = None
                else:
                    answer = update(services, current[0], current[1].granted, chunk, None)
                    if answer.granted == 0:
                        end(services, current[0], 0)
                        running[kind] = None
                    else:
                        running[kind] = (current[0], answer)
        else:
            pytest.fail("the sessions did not reach the limit in 5000 rounds")
        assert all(v is None for v in running.values())
        position = Position(services, clock[0], {})
        assert position.spend <= limit
        left = limit - position.spend
        for kind, _chunk in plan:
            assert position.next_unit_cost(kind) > left, (kind, left)
        # The brief's bound: within one unit of the most expensive class in use.
        one_unit = max(position.rate_class(kind).cost(0, 1) for kind, _ in plan)
        assert position.spend >= limit - one_unit
        line = services.engine.line(LINE)
        assert line is not None
    finally:
        services.close()


def test_an_offline_record_during_a_reservation_is_the_overshoot() -> None:
    """The case that makes the overshoot the offline record's: 50 SMS (4 EUR) reserved on
    a 5 EUR limit, then 20 offline SMS (1.60 EUR: under the limit when they arrive), then
    the session uses its 50. Spend ends at 5.60 EUR; the session's grant was honoured."""
    clock = [START]
    services = open_services(clock)
    try:
        provision(services, 5)
        answer = start(services, "s1", LINE, Service.SMS, 50)
        assert (answer.granted, answer.final) == (50, False)
        result = services.engine.apply_usage([{
            "id": "cdr-1", "line": LINE, "service": "sms", "quantity": 20,
            "at": START.isoformat()}])
        assert result.accepted == 1
        assert update(services, "s1", 50, 10, 1) == Grant(0, True, "spending_limit")
        assert end(services, "s1", 0) == 4 * EUR
        position = Position(services, START, {})
        assert position.spend == 5_600_000
    finally:
        services.close()


def test_a_session_past_its_validity_takes_no_more_reports() -> None:
    clock = [START]
    services = open_services(clock)
    try:
        provision(services, 5)
        answer = start(services, "s1", LINE, Service.SMS, 10)
        assert answer.granted == 10
        clock[0] = START + VALIDITY + timedelta(seconds=1)
        with pytest.raises((Conflict, NotFound)):
            update(services, "s1", 10, 10, 1)
    finally:
        services.close()


def test_a_session_past_its_validity_is_closed_by_the_sweep() -> None:
    clock = [START]
    services = open_services(clock)
    try:
        provision(services, 5)
        assert start(services, "s1", LINE, Service.SMS, 62).granted == 62
        assert start(services, "s2", LINE, Service.SMS, 1) == Grant(0, True, "spending_limit")
        clock[0] = START + VALIDITY
        assert services.charging.sweep() == 0
        clock[0] = START + VALIDITY + timedelta(seconds=1)
        assert services.charging.sweep() == 1
        with pytest.raises(Conflict):
            update(services, "s1", 62, 1, 1)
        # The reservation is released: a new session gets the money.
        assert start(services, "s3", LINE, Service.SMS, 62).granted == 62
        assert Position(services, clock[0], {}).spend == 0
    finally:
        services.close()
