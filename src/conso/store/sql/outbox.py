"""The SQL of the outbox: messages written with the state that caused them, then claimed,
sent and marked by the dispatcher.

A message id is unique (inserting it again is ignored); a claim (`mark_sending`) is a
compare-and-set on the status, so two dispatchers never both send one message. No
sending here (notify/'s), no message composition, no transaction handling.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import orjson

from conso.domain.outbox import OutboxMessage
from conso.store.sql.connection import Connection, Reader, iso, parse_iso


class SqlOutboxReads:
    __slots__ = ("_reader",)

    def __init__(self, reader: Reader) -> None:
        self._reader = reader

    def due(self, now: datetime, limit: int, channel: str | None = None) -> list[OutboxMessage]:
        if channel is None:
            return self._select(
                "WHERE status='queued' AND next_attempt_at <= ? "
                "ORDER BY next_attempt_at, seq LIMIT ?", (iso(now), limit))
        return self._select(
            "WHERE status='queued' AND channel = ? AND next_attempt_at <= ? "
            "ORDER BY next_attempt_at, seq LIMIT ?", (channel, iso(now), limit))

    def counts(self) -> dict[str, int]:
        return {status: count for status, count in self._reader().execute(
            "SELECT status, COUNT(*) FROM outbox GROUP BY status")}

    def next_due_at(self, channel: str | None = None) -> datetime | None:
        if channel is None:
            row = self._reader().execute(
                "SELECT MIN(next_attempt_at) FROM outbox WHERE status='queued'").fetchone()
        else:
            row = self._reader().execute(
                "SELECT MIN(next_attempt_at) FROM outbox WHERE status='queued' "
                "AND channel = ?", (channel,)).fetchone()
        return None if row is None or row[0] is None else parse_iso(row[0])

    def messages(self, *, to: str | None = None, line_id: str | None = None,
                 since: datetime | None = None, limit: int = 1000,
                 newest_first: bool = False) -> list[OutboxMessage]:
        where, params = [], []
        if to is not None:
            where.append("recipient = ?")
            params.append(to)
        if line_id is not None:
            where.append("line_id = ?")
            params.append(line_id)
        if since is not None:
            where.append("created_at >= ?")
            params.append(iso(since))
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        order = "DESC" if newest_first else "ASC"
        return self._select(f"{clause} ORDER BY seq {order} LIMIT ?", (*params, limit))

    def get(self, message_id: str) -> OutboxMessage | None:
        found = self._select("WHERE id = ?", (message_id,))
        return found[0] if found else None

    def _select(self, tail: str, params: Sequence[object]) -> list[OutboxMessage]:
        rows = self._reader().execute(
            "SELECT id, channel, sender, recipient, subject, text, line_id, rule, created_at, "
            "status, attempts, last_error, sent_at FROM outbox " + tail, tuple(params))
        return [OutboxMessage(
            id=r[0], channel=r[1], sender=r[2], to=r[3], subject=r[4], text=r[5],
            line_id=r[6], rule=None if r[7] is None else orjson.loads(r[7]),
            created_at=parse_iso(r[8]), status=r[9], attempts=r[10], last_error=r[11],
            sent_at=None if r[12] is None else parse_iso(r[12]),
        ) for r in rows]


class SqlOutboxWrites:
    __slots__ = ("_conn",)

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def insert(self, messages: Sequence[OutboxMessage]) -> None:
        """Queue messages; one whose id is queued already is left as it is."""
        self._conn.executemany(
            "INSERT OR IGNORE INTO outbox (id, channel, sender, recipient, subject, text, "
            "line_id, rule, created_at, status, attempts, next_attempt_at) "
            "VALUES (?,?,?,?,?,?,?,?,?,'queued',0,?)",
            [(m.id, m.channel, m.sender, m.to, m.subject, m.text, m.line_id,
              None if m.rule is None else orjson.dumps(m.rule).decode(),
              iso(m.created_at), iso(m.created_at)) for m in messages],
        )

    def mark_sending(self, message_id: str, now: datetime) -> bool:
        """Claim a queued message; False when another dispatcher claimed it first."""
        cur = self._conn.execute(
            "UPDATE outbox SET status='sending', attempts=attempts+1, next_attempt_at=? "
            "WHERE id=? AND status='queued'", (iso(now), message_id))
        return cur.rowcount == 1

    def mark_sent(self, message_id: str, now: datetime) -> None:
        self._conn.execute(
            "UPDATE outbox SET status='sent', sent_at=?, last_error=NULL WHERE id=?",
            (iso(now), message_id))

    def mark_retry(self, message_id: str, error: str, next_attempt: datetime) -> None:
        self._conn.execute(
            "UPDATE outbox SET status='queued', last_error=?, next_attempt_at=? WHERE id=?",
            (error[:500], iso(next_attempt), message_id))

    def mark_failed(self, message_id: str, error: str) -> None:
        self._conn.execute(
            "UPDATE outbox SET status='failed', last_error=? WHERE id=?",
            (error[:500], message_id))

    def requeue_interrupted(self, now: datetime, claimed_before: datetime | None = None) -> int:
        """Queue again the messages left 'sending' by a crash: all of them, or (when other
        processes may be sending right now) those claimed before `claimed_before`."""
        cutoff = iso(claimed_before or now)
        op = "<" if claimed_before is not None else "<="
        cur = self._conn.execute(
            "UPDATE outbox SET status='queued', next_attempt_at=?, "
            "last_error='interrupted while sending; sent again with the same id' "
            f"WHERE status='sending' AND next_attempt_at {op} ?", (iso(now), cutoff))
        return cur.rowcount
