"""The SQL of credit-control sessions: a session row with its quotas per rating group.

`quotas` holds the quotas as JSON (group -> service, direction, units, charge); the
columns from before rating groups keep meaningful values (the first quota's service
and direction, the sums of the units and charges), so older readers and reports still
make sense. A row written before rating groups (no `quotas`) was an HTTP session of one
service: it reads as one quota of the single group (`charging.ports.SINGLE_GROUP`, the
empty key), and its answer as that group's grant. No session rule here (the
domain's, domain/sessions.py), no transaction handling.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from conso.domain.control import Grant
from conso.domain.sessions import Answer, CreditSession, Quota, Status
from conso.domain.units import Direction, Service
from conso.store.sql.connection import Connection, Reader, chunks, iso, parse_iso

_COLUMNS = (
    "SELECT id, line_id, service, direction, country, reserved, granted_total, used_total, "
    "charged_micros, reports, last_request, last_answer, status, opened_at, last_seen, "
    "closed_at, quotas, origin, push_to FROM cc_sessions ")


class SqlSessionReads:
    __slots__ = ("_reader",)

    def __init__(self, reader: Reader) -> None:
        self._reader = reader

    def get(self, session_id: str) -> CreditSession | None:
        row = self._reader().execute(_COLUMNS + "WHERE id = ?", (session_id,)).fetchone()
        return None if row is None else session_of(row)

    def open(self, line_ids: Sequence[str] | None = None) -> list[CreditSession]:
        """Open sessions: all of them, or those of some lines."""
        if line_ids is None:
            return [session_of(r) for r in self._reader().execute(
                _COLUMNS + "WHERE status = 'open'")]
        found: list[CreditSession] = []
        for chunk in chunks(line_ids):
            marks = ",".join("?" * len(chunk))
            found.extend(session_of(r) for r in self._reader().execute(
                _COLUMNS + f"WHERE line_id IN ({marks}) AND status = 'open'", chunk))
        return found

    def lines_of(self, session_ids: Sequence[str]) -> dict[str, str]:
        """The line of each of these sessions (those that exist)."""
        found: dict[str, str] = {}
        for chunk in chunks(session_ids):
            marks = ",".join("?" * len(chunk))
            found.update((r[0], r[1]) for r in self._reader().execute(
                f"SELECT id, line_id FROM cc_sessions WHERE id IN ({marks})", chunk))
        return found


class SqlSessionWrites:
    __slots__ = ("_conn",)

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def put(self, session: CreditSession) -> None:
        """Add or change a session (its line, country and opening time stay)."""
        self.put_many([session])

    def put_many(self, sessions: Sequence[CreditSession]) -> None:
        """`put` for the sessions of a group of reports, in one statement."""
        if sessions:
            self._conn.executemany(_PUT, [_row(session) for session in sessions])


_PUT = (
    "INSERT INTO cc_sessions (id, line_id, service, direction, country, reserved, "
    "granted_total, used_total, charged_micros, reports, last_request, last_answer, "
    "status, opened_at, last_seen, closed_at, quotas, origin, push_to) "
    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
    "ON CONFLICT (id) DO UPDATE SET service=excluded.service, "
    "direction=excluded.direction, reserved=excluded.reserved, "
    "granted_total=excluded.granted_total, used_total=excluded.used_total, "
    "charged_micros=excluded.charged_micros, reports=excluded.reports, "
    "last_request=excluded.last_request, last_answer=excluded.last_answer, "
    "status=excluded.status, last_seen=excluded.last_seen, "
    "closed_at=excluded.closed_at, quotas=excluded.quotas, origin=excluded.origin, "
    "push_to=excluded.push_to")


def _row(session: CreditSession) -> tuple[Any, ...]:
    quotas: dict[str, dict[str, Any]] = {}
    reserved = granted = used = charged = 0
    for group, q in session.quotas.items():
        quotas[group] = {"service": q.service.value, "direction": q.direction.value,
                         "reserved": q.reserved, "granted_total": q.granted_total,
                         "used_total": q.used_total, "charged_micros": q.charged_micros}
        reserved += q.reserved
        granted += q.granted_total
        used += q.used_total
        charged += q.charged_micros
    first = next(iter(session.quotas.values()), None)
    answer = session.last_answer
    return (session.id, session.line_id,
            Service.DATA.value if first is None else first.service.value,
            Direction.OUT.value if first is None else first.direction.value,
            session.country, reserved, granted, used, charged, session.reports,
            session.last_request,
            None if answer is None else orjson.dumps(
                [[group, g.granted, g.final, g.reason] for group, g in answer]).decode(),
            session.status.value, iso(session.opened_at), iso(session.last_seen),
            None if session.closed_at is None else iso(session.closed_at),
            orjson.dumps(quotas).decode(), session.origin, session.push_to)


# The key of a row's only quota when it was written before rating groups: sessions were
# the operator's HTTP sessions then, whose front end names its one group "".
LEGACY_GROUP = ""


def session_of(r: Sequence[Any]) -> CreditSession:
    """A session from its row (see the module docstring for rows without `quotas`)."""
    if r[16] is None:  # written before rating groups: one quota of the single group
        group = LEGACY_GROUP
        quotas = {group: Quota(Service(r[2]), Direction(r[3]), r[5], r[6], r[7], r[8])}
    else:
        quotas = {group: Quota(Service(q["service"]), Direction(q["direction"]),
                               q["reserved"], q["granted_total"], q["used_total"],
                               q["charged_micros"])
                  for group, q in orjson.loads(r[16]).items()}
    return CreditSession(
        id=r[0], line_id=r[1], country=r[4], opened_at=parse_iso(r[13]),
        last_seen=parse_iso(r[14]), quotas=quotas, reports=r[9], last_request=r[10],
        last_answer=None if r[11] is None else _answer(orjson.loads(r[11])),
        status=Status(r[12]), closed_at=None if r[15] is None else parse_iso(r[15]),
        origin=r[17], push_to=r[18],
    )


def _answer(stored: list[Any]) -> Answer:
    if stored and not isinstance(stored[0], list):  # before rating groups: one grant
        return ((LEGACY_GROUP, Grant(*stored)),)
    return tuple((group, Grant(granted, final, reason))
                 for group, granted, final, reason in stored)
