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

from conso.domain.outbox import OutboxMessage, SentPart, StatusChange, delivery_state
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

    def channel_counts(self) -> dict[tuple[str, str], int]:
        return {(channel, status): count for channel, status, count in self._reader().execute(
            "SELECT channel, status, COUNT(*) FROM outbox GROUP BY channel, status")}

    def history(self, message_ids: Sequence[str]) -> dict[str, list[StatusChange]]:
        found: dict[str, list[StatusChange]] = {message_id: [] for message_id in message_ids}
        for start in range(0, len(message_ids), 500):
            chunk = tuple(message_ids[start:start + 500])
            marks = ",".join("?" * len(chunk))
            for message_id, status, at, detail in self._reader().execute(
                    "SELECT message_id, status, at, detail FROM outbox_events "
                    f"WHERE message_id IN ({marks}) ORDER BY seq", chunk):
                found[message_id].append(StatusChange(status, parse_iso(at), detail))
        return found

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
                 newest_first: bool = False,
                 until: datetime | None = None) -> list[OutboxMessage]:
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
        if until is not None:
            where.append("created_at < ?")
            params.append(iso(until))
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        order = "DESC" if newest_first else "ASC"
        return self._select(f"{clause} ORDER BY seq {order} LIMIT ?", (*params, limit))

    def get(self, message_id: str) -> OutboxMessage | None:
        found = self._select("WHERE id = ?", (message_id,))
        return found[0] if found else None

    def _select(self, tail: str, params: Sequence[object]) -> list[OutboxMessage]:
        rows = self._reader().execute(
            "SELECT id, channel, sender, recipient, subject, text, line_id, rule, created_at, "
            "status, attempts, last_error, sent_at, html, status_changed_at FROM outbox "
            + tail, tuple(params))
        return [OutboxMessage(
            id=r[0], channel=r[1], sender=r[2], to=r[3], subject=r[4], text=r[5],
            line_id=r[6], rule=None if r[7] is None else orjson.loads(r[7]),
            created_at=parse_iso(r[8]), status=r[9], attempts=r[10], last_error=r[11],
            sent_at=None if r[12] is None else parse_iso(r[12]), html=r[13],
            status_changed_at=None if r[14] is None else parse_iso(r[14]),
        ) for r in rows]


class SqlOutboxWrites:
    __slots__ = ("_conn",)

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def insert(self, messages: Sequence[OutboxMessage]) -> None:
        """Queue messages; one whose id is queued already is left as it is."""
        new = [m for m in messages if self._conn.execute(
            "INSERT OR IGNORE INTO outbox (id, channel, sender, recipient, subject, text, "
            "line_id, rule, created_at, status, attempts, next_attempt_at, html, "
            "status_changed_at) VALUES (?,?,?,?,?,?,?,?,?,'queued',0,?,?,?)",
            (m.id, m.channel, m.sender, m.to, m.subject, m.text, m.line_id,
             None if m.rule is None else orjson.dumps(m.rule).decode(),
             iso(m.created_at), iso(m.created_at), m.html, iso(m.created_at))).rowcount == 1]
        self._events([(m.id, "queued", m.created_at, None) for m in new])

    def _events(self, events: Sequence[tuple[str, str, datetime, str | None]]) -> None:
        if events:
            self._conn.executemany(
                "INSERT INTO outbox_events (message_id, status, at, detail) VALUES (?,?,?,?)",
                [(message_id, status, iso(at), detail)
                 for message_id, status, at, detail in events])

    def mark_sending(self, message_id: str, now: datetime) -> bool:
        """Claim a queued message; False when another dispatcher claimed it first."""
        cur = self._conn.execute(
            "UPDATE outbox SET status='sending', attempts=attempts+1, next_attempt_at=? "
            "WHERE id=? AND status='queued'", (iso(now), message_id))
        return cur.rowcount == 1

    def mark_sent(self, message_id: str, now: datetime,
                  parts: Sequence[SentPart] = ()) -> None:
        """Sent: the channel took it; an SMS's parts are kept by their SMS centre id so
        that the receipts find the message."""
        self._conn.execute(
            "UPDATE outbox SET status='sent', sent_at=?, status_changed_at=?, "
            "last_error=NULL WHERE id=?", (iso(now), iso(now), message_id))
        if parts:
            self._conn.executemany(
                "INSERT OR IGNORE INTO sms_parts (smsc, smsc_message_id, message_id, part, "
                "state, changed_at) VALUES (?,?,?,?,'sent',?)",
                [(p.smsc, p.smsc_message_id, message_id, p.part, iso(now)) for p in parts])
        self._events([(message_id, "sent", now, None)])

    def mark_retry(self, message_id: str, error: str, next_attempt: datetime,
                   now: datetime) -> None:
        self._conn.execute(
            "UPDATE outbox SET status='queued', last_error=?, next_attempt_at=?, "
            "status_changed_at=? WHERE id=?",
            (error[:500], iso(next_attempt), iso(now), message_id))
        self._events([(message_id, "queued", now, error[:500])])

    def mark_failed(self, message_id: str, error: str, now: datetime) -> None:
        self._conn.execute(
            "UPDATE outbox SET status='failed', last_error=?, status_changed_at=? WHERE id=?",
            (error[:500], iso(now), message_id))
        self._events([(message_id, "failed", now, error[:500])])

    def apply_receipt(self, smsc: str, smsc_message_id: str, state: str | None,
                      now: datetime) -> str | None:
        """A delivery receipt for one part: the id of its message, None when no part
        sent has that id. The message moves on once its parts say so (delivered when
        every part is), and only from "sent": a message queued again is being resent."""
        row = self._conn.execute(
            "SELECT message_id FROM sms_parts WHERE smsc=? AND smsc_message_id=?",
            (smsc, smsc_message_id)).fetchone()
        if row is None:
            return None
        message_id: str = row[0]
        if state is None:
            return message_id
        self._conn.execute(
            "UPDATE sms_parts SET state=?, changed_at=? WHERE smsc=? AND smsc_message_id=?",
            (state, iso(now), smsc, smsc_message_id))
        outcome = delivery_state([(part, part_state) for part, part_state in self._conn.execute(
            "SELECT part, state FROM sms_parts WHERE message_id=?", (message_id,))])
        if outcome is not None:
            changed = self._conn.execute(
                "UPDATE outbox SET status=?, status_changed_at=? WHERE id=? AND status='sent'",
                (outcome, iso(now), message_id)).rowcount
            if changed:
                self._events([(message_id, outcome, now, None)])
        return message_id
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

