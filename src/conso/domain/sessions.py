"""Credit-control sessions (pure): a session's quotas per rating group and its states.

An online charging session (RFC 8506 semantics; Diameter Gy/Ro, 5G Nchf and the
operator's HTTP `/sessions` alike) belongs to one line and holds one quota per
rating group the network asked for: units reserved and not yet reported, and what
was granted, used and charged so far. Each request of the network is answered once:
the answer is kept with the request's number so a retransmission gets the same
answer and counts nothing twice.

    open ──report/reserve──► open ──close──► closed
      └──── not heard from within its validity ────► expired

Only an open session changes; closing or expiring releases every reservation.
What a report costs is the core's to rate (it returns the usage record to rate). A
report of more than its group's grant is charged all the same; `overshoot` says by how
much and what those units cost (the network's overshoot, kept with the line's cycle).
No I/O here, no clock: time comes in as an argument.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from conso.domain.catalog import Catalog, Plan
from conso.domain.control import Exposure, Grant, exposure_for, worst_case_spend
from conso.domain.rating import CycleUsage, RateClass, rate_class
from conso.domain.records import UsageRecord
from conso.domain.units import Direction, Service

# Services a session can meter while it runs; premium and callme are events.
SESSION_SERVICES = frozenset({Service.VOICE, Service.DATA, Service.SMS})


class Status(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    EXPIRED = "expired"


# Looked up once: an enum member read through its class costs a descriptor call, and
# these are read several times per request on the hot path.
_OPEN, _CLOSED, _EXPIRED = Status.OPEN, Status.CLOSED, Status.EXPIRED


class SessionStateError(ValueError):
    """A change that the session's state does not allow (it is closed or expired)."""

    def __init__(self, session_id: str, status: Status) -> None:
        super().__init__(f"session {session_id} is {status.value}")
        self.session_id = session_id
        self.status = status


@dataclass(slots=True)
class Quota:
    """One rating group of a session: the service it meters and its units."""

    service: Service
    direction: Direction = Direction.OUT
    reserved: int = 0            # units granted and not yet reported
    granted_total: int = 0
    used_total: int = 0
    charged_micros: int = 0


# A session's answer to one request: the grant of each rating group asked, in order.
Answer = tuple[tuple[str, Grant], ...]


@dataclass(slots=True)
class CreditSession:
    """An online charging session and its reservations (see the module docstring).

    `origin` names the front end that opened it (http, diameter, nchf); `push_to`,
    when set, is where that front end sends re-authorization requests (a Diameter
    peer, an Nchf notifyUri): pushes are outbox rows of channel `origin`.
    """

    id: str
    line_id: str
    country: str
    opened_at: datetime
    last_seen: datetime
    quotas: dict[str, Quota] = field(default_factory=dict)
    reports: int = 0             # requests that reported usage (numbers its records)
    last_request: int | None = None
    last_answer: Answer | None = None
    status: Status = _OPEN
    closed_at: datetime | None = None
    origin: str = "http"
    push_to: str | None = None

    # -- reads -----------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.status is _OPEN

    @property
    def reserved(self) -> int:
        return sum(q.reserved for q in self.quotas.values())

    @property
    def charged_micros(self) -> int:
        return sum(q.charged_micros for q in self.quotas.values())

    def expired(self, now: datetime, validity: timedelta) -> bool:
        """Open, but not heard from within its validity."""
        return self.status is _OPEN and now - self.last_seen > validity

    def is_retransmission(self, request_number: int | None) -> bool:
        """The same request again (same number, already answered)."""
        return (request_number is not None and self.last_answer is not None
                and request_number == self.last_request)

    def is_stale(self, request_number: int | None) -> bool:
        """An older request than the last answered one (a late retransmission, after a
        failover): already counted, never rated again."""
        return (request_number is not None and self.last_request is not None
                and self.last_answer is not None and request_number < self.last_request)

    def copy(self) -> CreditSession:
        """A working copy: changes to it are published only once committed. Built field
        by field: `dataclasses.replace` costs several times more, once per request."""
        return CreditSession(
            self.id, self.line_id, self.country, self.opened_at, self.last_seen,
            {k: Quota(q.service, q.direction, q.reserved, q.granted_total, q.used_total,
                      q.charged_micros) for k, q in self.quotas.items()},
            self.reports, self.last_request, self.last_answer, self.status, self.closed_at,
            self.origin, self.push_to)

    # -- transitions ------------------------------------------------------------

    def _check_open(self) -> None:
        if self.status is not _OPEN:
            raise SessionStateError(self.id, self.status)

    def quota(self, group: str, service: Service, direction: Direction) -> Quota:
        """The quota of a rating group, added on first use (a network may add groups
        to a running session)."""
        self._check_open()
        found = self.quotas.get(group)
        if found is None:
            found = self.quotas[group] = Quota(service, direction)
        return found

    def begin_report(self, now: datetime) -> None:
        """A request that reports usage arrives: the session is heard from."""
        self._check_open()
        self.reports += 1
        self.last_seen = now

    def report(self, group: str, used: int, at: datetime) -> UsageRecord | None:
        """What the network used on a rating group since its last report. The quota's
        reservation is released (a new grant replaces it); returns the usage record to
        rate, or None when nothing was used. Call `begin_report` first."""
        self._check_open()
        quota = self.quotas.get(group)
        if quota is None:
            raise KeyError(group)
        quota.used_total += used
        quota.reserved = 0
        if used == 0:
            return None
        suffix = "" if len(self.quotas) == 1 else f":{group}"
        return UsageRecord(
            id=f"session:{self.id}:{self.reports}{suffix}", line=self.line_id,
            service=quota.service, quantity=used, at=at, country=self.country,
            direction=quota.direction)

    def granted_now(self, group: str) -> int:
        """What a rating group's last grant left reserved: what its next report may use
        (0 for a group the session does not have yet: nothing was granted to it)."""
        quota = self.quotas.get(group)
        return 0 if quota is None else quota.reserved

    def charge(self, group: str, micros: int) -> None:
        self.quotas[group].charged_micros += micros

    def reserve(self, group: str, grant: Grant) -> None:
        """A grant on a rating group becomes its reservation."""
        self._check_open()
        quota = self.quotas[group]
        quota.reserved = grant.granted
        quota.granted_total += grant.granted

    def answered(self, request_number: int | None, answer: Answer) -> None:
        self.last_request = request_number
        self.last_answer = answer

    def close(self, now: datetime) -> None:
        """The network ended the session: every reservation is released."""
        self._end(_CLOSED, now)

    def expire(self, now: datetime) -> None:
        """Not heard from within its validity: closed by conso, reservations released."""
        self._end(_EXPIRED, now)

    def _end(self, status: Status, now: datetime) -> None:
        self._check_open()
        self.status, self.closed_at = status, now
        for quota in self.quotas.values():
            quota.reserved = 0


@dataclass(frozen=True, slots=True)
class Overshoot:
    """A report of more than was granted on one rating group. The network's doing: the
    usage happened, so all of it is charged; the units past the grant (and what they
    cost) are kept with the line's cycle, logged and counted."""

    session_id: str
    line_id: str
    group: str
    service: Service
    granted: int         # what the grant this report answers allowed
    used: int            # what the report says was used
    micros: int          # what the units past the grant cost

    @property
    def excess(self) -> int:
        return self.used - self.granted


def overshoot(session: CreditSession, group: str, granted: int, record: UsageRecord, *,
              plan: Plan, catalog: Catalog, usage: CycleUsage) -> Overshoot | None:
    """The overshoot of a report of `record.quantity` units against a grant of `granted`,
    once the record is rated into `usage`; None when it stayed within the grant. The
    units past the grant are the report's last ones: what they cost is the price of the
    meter's last `excess` units (rating prices cumulative quantities, rating.py)."""
    excess = record.quantity - granted
    if excess <= 0:
        return None
    rc = rate_class(plan, catalog, record.service, record.direction, record.country)
    micros = 0
    if rc is not None:
        after = usage.meter(rc.meter)
        micros = rc.cost(max(0, after - excess), excess)
    return Overshoot(session.id, session.line_id, group, record.service, granted,
                     record.quantity, micros)


def answer_of(grants: Mapping[str, Grant]) -> Answer:
    return tuple(grants.items())


def position(plan: Plan, catalog: Catalog, usage: CycleUsage,
             sessions: Iterable[CreditSession], *, service: Service, direction: Direction,
             country: str) -> tuple[Exposure | None, int]:
    """A line's position for one kind of use: that use's exposure (what is metered and
    reserved in its rate class) and the line's worst-case spend, counting every
    reservation of its open sessions (see control.py)."""
    reserved: dict[str, int] = {}
    classes: dict[str, RateClass] = {}
    for session in sessions:
        for quota in session.quotas.values():
            if not quota.reserved:
                continue
            rc = rate_class(plan, catalog, quota.service, quota.direction, session.country)
            if rc is not None:
                reserved[rc.meter] = reserved.get(rc.meter, 0) + quota.reserved
                classes[rc.meter] = rc
    worst = worst_case_spend(usage.spend_micros, (
        Exposure(rc, usage.meter(meter), reserved[meter]) for meter, rc in classes.items()))
    exposure = exposure_for(plan, catalog, service=service, direction=direction,
                            country=country, meters=usage.meters, reserved=reserved)
    return exposure, worst
