"""The SQL of lines: a line with its plan history, its alert settings, its audit trail.

Reads load lines in a few queries however many are asked (the engine loads a batch's
lines at once: one round trip per 500, no per-line query). Writes run in one
transaction's writer; `lock` holds lines' rows for processes sharing a database. No
business rule here (what a line may change to is the engine's and the domain's), no
transaction handling, no usage or session rows.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import orjson

from conso.domain.alerts import AlertRule, AlertSettings, Channels, RuleKind
from conso.domain.line import Line, PlanPeriod
from conso.store.base import AuditEntry
from conso.store.sql.connection import (
    Connection,
    Reader,
    chunks,
    insert_rows,
    iso,
    parse_iso,
)

_NOTHING_BARRED: frozenset[str] = frozenset()


def _barred(text: str) -> frozenset[str]:
    # Most lines bar nothing: they share one empty set instead of 200 bytes each.
    return frozenset(orjson.loads(text)) if text != "[]" else _NOTHING_BARRED


class SqlLineReads:
    __slots__ = ("_reader",)

    def __init__(self, reader: Reader) -> None:
        self._reader = reader

    def get(self, line_id: str) -> Line | None:
        return self.get_many([line_id]).get(line_id)

    def get_many(self, line_ids: Sequence[str]) -> dict[str, Line]:
        """Lines by id, in a few queries however many (the engine loads a batch's at once)."""
        conn = self._reader()
        found: dict[str, Line] = {}
        for chunk in chunks(line_ids):
            marks = ",".join("?" * len(chunk))
            # One round trip: a line's row once per plan period, in order.
            rows = conn.execute(
                "SELECT l.id, l.account_id, l.user_login, l.cycle_day, l.barred, "
                "l.spending_limit_micros, p.effective_from, p.plan, l.imsi, "
                "l.roaming_cap_off, l.roaming_continued FROM lines l "
                "LEFT JOIN line_plans p ON p.line_id = l.id "
                f"WHERE l.id IN ({marks}) ORDER BY l.id, p.effective_from", chunk).fetchall()
            periods: dict[str, list[PlanPeriod]] = {}
            heads: dict[str, Any] = {}
            for row in rows:
                heads.setdefault(row[0], row)
                if row[6] is not None:
                    # Interned: a million lines share a few account ids and plan ids.
                    periods.setdefault(row[0], []).append(
                        PlanPeriod(parse_iso(row[6]), sys.intern(row[7])))
            for line_id, row in heads.items():
                found[line_id] = Line(
                    id=line_id, account_id=sys.intern(row[1]), user_login=row[2],
                    cycle_day=row[3], plans=tuple(periods.get(line_id, ())),
                    barred=_barred(row[4]), spending_limit_micros=row[5], imsi=row[8],
                    roaming_cap_off=bool(row[9]),
                    roaming_continued=None if row[10] is None else date.fromisoformat(row[10]))
        return found

    def by_imsi(self, imsi: str) -> str | None:
        row = self._reader().execute("SELECT id FROM lines WHERE imsi = ?", (imsi,)).fetchone()
        return None if row is None else str(row[0])

    def imsi_holders(self, imsis: Sequence[str]) -> dict[str, str]:
        """The lines holding these IMSIs, by IMSI (the ones held)."""
        found: dict[str, str] = {}
        for chunk in chunks(imsis):
            marks = ",".join("?" * len(chunk))
            found.update((r[0], r[1]) for r in self._reader().execute(
                f"SELECT imsi, id FROM lines WHERE imsi IN ({marks})", chunk))
        return found

    def existing(self, line_ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for chunk in chunks(line_ids):
            marks = ",".join("?" * len(chunk))
            found.update(r[0] for r in self._reader().execute(
                f"SELECT id FROM lines WHERE id IN ({marks})", chunk))
        return found

    def of_account(self, account_id: str) -> list[str]:
        return [r[0] for r in self._reader().execute(
            "SELECT id FROM lines WHERE account_id = ? ORDER BY id", (account_id,))]

    def of_user(self, login: str) -> list[str]:
        return [r[0] for r in self._reader().execute(
            "SELECT id FROM lines WHERE user_login = ? ORDER BY id", (login,))]

    def alerts(self, line_id: str) -> AlertSettings | None:
        return self.alerts_many([line_id]).get(line_id)

    def alerts_many(self, line_ids: Sequence[str]) -> dict[str, AlertSettings]:
        """The alert settings lines chose (lines on their plan's defaults are left out)."""
        found: dict[str, AlertSettings] = {}
        for chunk in chunks(line_ids):
            marks = ",".join("?" * len(chunk))
            for line_id, rules_json, channels_json in self._reader().execute(
                f"SELECT line_id, rules, channels FROM line_alerts WHERE line_id IN ({marks})",
                chunk,
            ):
                rules = tuple(AlertRule(RuleKind(r["kind"]), r["value"])
                              for r in orjson.loads(rules_json))
                ch = orjson.loads(channels_json)
                found[line_id] = AlertSettings(
                    rules, Channels(ch["sms"], ch["second_number"], ch["email"]),
                    customised=True)
        return found

    def audit_log(self, line_id: str, limit: int) -> list[AuditEntry]:
        return [AuditEntry(parse_iso(r[0]), r[1], r[2], r[3], orjson.loads(r[4]),
                           orjson.loads(r[5]))
                for r in self._reader().execute(
                    "SELECT at, actor, line_id, action, before, after FROM audit_log "
                    "WHERE line_id = ? ORDER BY seq DESC LIMIT ?", (line_id, limit))]

    def account_audit(self, account_id: str, limit: int, offset: int = 0,
                      line_id: str | None = None) -> list[AuditEntry]:
        """The account's entries, newest first, a page at a time (the portal's trail). A
        line never changes account, so its entries are the account's by the line's row."""
        where, params = "l.account_id = ?", [account_id]
        if line_id is not None:
            where, params = where + " AND a.line_id = ?", [*params, line_id]
        return [AuditEntry(parse_iso(r[0]), r[1], r[2], r[3], orjson.loads(r[4]),
                           orjson.loads(r[5]))
                for r in self._reader().execute(
                    "SELECT a.at, a.actor, a.line_id, a.action, a.before, a.after "
                    "FROM audit_log a JOIN lines l ON l.id = a.line_id "
                    f"WHERE {where} ORDER BY a.seq DESC LIMIT ? OFFSET ?",
                    (*params, limit, offset))]


_INSERT_LINE = ("INSERT INTO lines (id, account_id, user_login, cycle_day, barred, "
                "spending_limit_micros, imsi, roaming_cap_off, roaming_continued, "
                "created_at, updated_at)")
_UPDATE_LINE = (
    "ON CONFLICT (id) DO UPDATE SET account_id=excluded.account_id, "
    "user_login=excluded.user_login, cycle_day=excluded.cycle_day, "
    "barred=excluded.barred, spending_limit_micros=excluded.spending_limit_micros, "
    "imsi=excluded.imsi, roaming_cap_off=excluded.roaming_cap_off, "
    "roaming_continued=excluded.roaming_continued, updated_at=excluded.updated_at")


class SqlLineWrites:
    __slots__ = ("_conn", "_row_locks")

    def __init__(self, conn: Connection, *, row_locks: bool) -> None:
        self._conn = conn
        self._row_locks = row_locks

    def lock(self, line_ids: Sequence[str]) -> None:
        """Hold these lines' rows until the commit, so that processes sharing the
        database change a line one at a time (in id order: no deadlock). SQLite
        needs nothing: its write transaction already excludes every other writer."""
        if not self._row_locks:
            return
        ids = sorted(set(line_ids))
        for chunk in chunks(ids):
            marks = ",".join("?" * len(chunk))
            self._conn.execute(
                f"SELECT id FROM lines WHERE id IN ({marks}) ORDER BY id FOR UPDATE",
                chunk).fetchall()

    def announce(self, channel: str, payloads: Sequence[str]) -> None:
        """Tell the processes listening on `channel` of these changes when, and only
        if, this transaction commits (store/changes.py). SQLite has no other process
        that could cache its lines: nothing to do."""
        if not self._row_locks:
            return
        for payload in payloads:
            self._conn.execute("SELECT pg_notify(?, ?)", (channel, payload))

    def put(self, line: Line, now: datetime) -> None:
        """Add or change a line; plan periods are added, never changed or removed."""
        self.put_many([line], now)

    def put_many(self, lines: Sequence[Line], now: datetime) -> None:
        """`put` for many lines in a few statements (bulk provisioning); each line once."""
        stamp = iso(now)
        insert_rows(self._conn, _INSERT_LINE, [
            (line.id, line.account_id, line.user_login, line.cycle_day,
             orjson.dumps(sorted(line.barred)).decode(), line.spending_limit_micros,
             line.imsi, int(line.roaming_cap_off),
             None if line.roaming_continued is None else line.roaming_continued.isoformat(),
             stamp, stamp) for line in lines], _UPDATE_LINE)
        insert_rows(self._conn, "INSERT OR IGNORE INTO line_plans (line_id, effective_from, plan)",
                    [(line.id, iso(p.effective_from), p.plan_id)
                     for line in lines for p in line.plans])

    def put_alerts(self, line_id: str, settings: AlertSettings | None, by: str | None,
                   now: datetime) -> None:
        """A line's own alert settings; None: back to its plan's defaults."""
        if settings is None:
            self._conn.execute("DELETE FROM line_alerts WHERE line_id = ?", (line_id,))
            return
        rules = orjson.dumps([{"kind": r.kind.value, "value": r.value} for r in settings.rules])
        ch = settings.channels
        channels = orjson.dumps({"sms": ch.sms, "second_number": ch.second_number,
                                 "email": ch.email})
        self._conn.execute(
            "INSERT INTO line_alerts (line_id, rules, channels, updated_at, updated_by) "
            "VALUES (?,?,?,?,?) ON CONFLICT (line_id) DO UPDATE SET rules=excluded.rules, "
            "channels=excluded.channels, updated_at=excluded.updated_at, "
            "updated_by=excluded.updated_by",
            (line_id, rules.decode(), channels.decode(), iso(now), by),
        )

    def audit(self, entry: AuditEntry) -> None:
        self._conn.execute(
            "INSERT INTO audit_log (at, actor, line_id, action, before, after) "
            "VALUES (?,?,?,?,?,?)",
            (iso(entry.at), entry.actor, entry.line_id, entry.action,
             orjson.dumps(entry.before).decode(), orjson.dumps(entry.after).decode()),
        )
