"""The SQL behind both stores: SQLite (sqlite.py) and PostgreSQL (postgres.py).

One writer connection, guarded by a lock, runs `BEGIN ... COMMIT` transactions;
readers use one connection per thread. The SQL is written once, in the portable
subset both databases speak (`?` placeholders and `INSERT OR IGNORE` are rewritten
for PostgreSQL by its connection adapter). A subclass says how to connect.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any, Protocol

import orjson

from conso.domain.alerts import AlertRule, AlertSettings, Channels, RuleKind
from conso.domain.control import CreditSession, Grant
from conso.domain.cycle import Cycle
from conso.domain.line import Line, PlanPeriod
from conso.domain.outbox import OutboxMessage
from conso.domain.rating import CycleUsage
from conso.domain.units import Direction, Service
from conso.store.base import (
    Account,
    AuditEntry,
    RejectedRecord,
    StaleOffset,
    StoredRecord,
    StoreError,
    Token,
    User,
)
from conso.store.migrations import load_migrations

_CHUNK = 500  # ids per IN (...) query, below SQLite's variable limit
# usage_recent's records that are not in usage_records yet: a merge in progress has
# copied some (merge_progress says which). SQLite only: the store that reads it.
RECENT = ("(SELECT r.* FROM usage_recent r, merge_progress m WHERE m.id = 1 "
          "AND NOT (r.rowid <= m.upto AND r.line_id < m.below)) AS recent")
RECORD_COLUMNS = ("id, line_id, cycle_start, service, direction, quantity, amount_micros, "
                  "country, at, charge_micros, received_at, meter")


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """What the store needs of a DB-API connection in autocommit mode."""

    def execute(self, sql: str, parameters: Any = ..., /) -> Cursor: ...
    def executemany(self, sql: str, parameters: Any, /) -> Any: ...
    def close(self) -> None: ...


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def _parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text)


class SqlTx:
    """The write operations of one transaction on the writer connection."""

    def __init__(self, conn: Connection, *, row_locks: bool = False,
                 inbox: str = "usage_records",
                 on_records: Callable[[Sequence[StoredRecord]], None] | None = None) -> None:
        self._conn = conn
        self._row_locks = row_locks
        # Where new records go (SQLite: usage_recent, merged later), and who to tell.
        self._inbox = inbox
        self._on_records = on_records

    def lock_lines(self, line_ids: Sequence[str]) -> None:
        """Hold these lines' rows until the commit, so that processes sharing the
        database change a line one at a time (in id order: no deadlock). SQLite
        needs nothing: its write transaction already excludes every other writer."""
        if not self._row_locks:
            return
        ids = sorted(set(line_ids))
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            self._conn.execute(
                f"SELECT id FROM lines WHERE id IN ({marks}) ORDER BY id FOR UPDATE",
                chunk).fetchall()

    def advance_offset(self, part: int, seq: int, expected: int, now: datetime) -> None:
        """Move a partition's offset from `expected` to `seq`, or fail if it is not at
        `expected` any more (compare-and-set: a worker that lost its partition cannot
        apply a message twice)."""
        self._conn.execute(
            "INSERT OR IGNORE INTO stream_offsets (part, seq, updated_at) VALUES (?,0,?)",
            (part, _iso(now)))
        cur = self._conn.execute(
            "UPDATE stream_offsets SET seq = ?, updated_at = ? WHERE part = ? AND seq = ?",
            (seq, _iso(now), part, expected))
        if cur.rowcount != 1:
            raise StaleOffset(f"partition {part} is not at sequence {expected} any more: "
                              "another worker has applied it")

    def put_account(self, account: Account, now: datetime) -> None:
        self._conn.execute(
            "INSERT INTO accounts (id, name, kind, created_at, updated_at) VALUES (?,?,?,?,?) "
            "ON CONFLICT (id) DO UPDATE SET name=excluded.name, kind=excluded.kind, "
            "updated_at=excluded.updated_at",
            (account.id, account.name, account.kind, _iso(now), _iso(now)),
        )

    def put_user(self, user: User, now: datetime) -> None:
        self._conn.execute(
            "INSERT INTO users (login, account_id, password_hash, role, email, language, "
            "created_at, updated_at) VALUES (?,?,?,?,?,?,?,?) "
            "ON CONFLICT (login) DO UPDATE SET password_hash=excluded.password_hash, "
            "role=excluded.role, email=excluded.email, language=excluded.language, "
            "updated_at=excluded.updated_at",
            (user.login, user.account_id, user.password_hash, user.role, user.email,
             user.language, _iso(now), _iso(now)),
        )

    def put_line(self, line: Line, now: datetime) -> None:
        self._conn.execute(
            "INSERT INTO lines (id, account_id, user_login, cycle_day, barred, "
            "spending_limit_micros, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?) "
            "ON CONFLICT (id) DO UPDATE SET account_id=excluded.account_id, "
            "user_login=excluded.user_login, cycle_day=excluded.cycle_day, "
            "barred=excluded.barred, spending_limit_micros=excluded.spending_limit_micros, "
            "updated_at=excluded.updated_at",
            (line.id, line.account_id, line.user_login, line.cycle_day,
             orjson.dumps(sorted(line.barred)).decode(), line.spending_limit_micros,
             _iso(now), _iso(now)),
        )
        self._conn.executemany(
            "INSERT OR IGNORE INTO line_plans (line_id, effective_from, plan) VALUES (?,?,?)",
            [(line.id, _iso(p.effective_from), p.plan_id) for p in line.plans],
        )

    def insert_records(self, records: Sequence[StoredRecord], now: datetime) -> None:
        received = _iso(now)
        self._conn.executemany(
            f"INSERT INTO {self._inbox} ({RECORD_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            [(r.id, r.line_id, r.cycle_start.isoformat(), r.service, r.direction, r.quantity,
              r.amount_micros, r.country, _iso(r.at), r.charge_micros, received, r.meter)
             for r in records],
        )
        if self._on_records is not None:
            # Told under the write lock and before the commit makes the rows visible: a
            # reader may look for them too early, never too late.
            self._on_records(records)
        if self._inbox != "usage_records":
            # usage_recent's key covers itself only: a merged record is refused here.
            for chunk in _chunks([r.id for r in records]):
                marks = ",".join("?" * len(chunk))
                clash = self._conn.execute(
                    f"SELECT id FROM usage_records WHERE id IN ({marks}) LIMIT 1",
                    chunk).fetchone()
                if clash is not None:
                    raise StoreError(f"record {clash[0]!r} is stored already")

    def save_cycles(self, line_cycles: Sequence[tuple[str, CycleUsage]], now: datetime) -> None:
        updated = _iso(now)
        self._conn.executemany(
            "INSERT INTO cycle_usage (line_id, cycle_start, meters, spend_micros, records, "
            "fired, updated_at) VALUES (?,?,?,?,?,?,?) ON CONFLICT (line_id, cycle_start) "
            "DO UPDATE SET meters=excluded.meters, spend_micros=excluded.spend_micros, "
            "records=excluded.records, fired=excluded.fired, updated_at=excluded.updated_at",
            [(line_id, u.cycle.start_date.isoformat(), orjson.dumps(u.meters).decode(),
              u.spend_micros, u.records, orjson.dumps(sorted(u.fired)).decode(), updated)
             for line_id, u in line_cycles],
        )

    def insert_rejected(self, rejected: Sequence[RejectedRecord], now: datetime) -> None:
        received = _iso(now)
        self._conn.executemany(
            "INSERT INTO rejected_records (record_id, payload, error, received_at) "
            "VALUES (?,?,?,?)",
            [(r.record_id, r.payload, r.error, received) for r in rejected],
        )

    def put_alerts(self, line_id: str, settings: AlertSettings | None, by: str | None,
                   now: datetime) -> None:
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
            (line_id, rules.decode(), channels.decode(), _iso(now), by),
        )

    def insert_messages(self, messages: Sequence[OutboxMessage]) -> None:
        self._conn.executemany(
            "INSERT OR IGNORE INTO outbox (id, channel, sender, recipient, subject, text, "
            "line_id, rule, created_at, status, attempts, next_attempt_at) "
            "VALUES (?,?,?,?,?,?,?,?,?,'queued',0,?)",
            [(m.id, m.channel, m.sender, m.to, m.subject, m.text, m.line_id,
              None if m.rule is None else orjson.dumps(m.rule).decode(),
              _iso(m.created_at), _iso(m.created_at)) for m in messages],
        )

    def mark_sending(self, message_id: str, now: datetime) -> bool:
        """Claim a queued message; False when another dispatcher claimed it first."""
        cur = self._conn.execute(
            "UPDATE outbox SET status='sending', attempts=attempts+1, next_attempt_at=? "
            "WHERE id=? AND status='queued'", (_iso(now), message_id))
        return cur.rowcount == 1

    def mark_sent(self, message_id: str, now: datetime) -> None:
        self._conn.execute(
            "UPDATE outbox SET status='sent', sent_at=?, last_error=NULL WHERE id=?",
            (_iso(now), message_id))

    def mark_retry(self, message_id: str, error: str, next_attempt: datetime) -> None:
        self._conn.execute(
            "UPDATE outbox SET status='queued', last_error=?, next_attempt_at=? WHERE id=?",
            (error[:500], _iso(next_attempt), message_id))

    def mark_failed(self, message_id: str, error: str) -> None:
        self._conn.execute(
            "UPDATE outbox SET status='failed', last_error=? WHERE id=?",
            (error[:500], message_id))

    def requeue_interrupted(self, now: datetime, claimed_before: datetime | None = None) -> int:
        """Queue again the messages left 'sending' by a crash: all of them, or (when other
        processes may be sending right now) those claimed before `claimed_before`."""
        cutoff = _iso(claimed_before or now)
        op = "<" if claimed_before is not None else "<="
        cur = self._conn.execute(
            "UPDATE outbox SET status='queued', next_attempt_at=?, "
            "last_error='interrupted while sending; sent again with the same id' "
            f"WHERE status='sending' AND next_attempt_at {op} ?", (_iso(now), cutoff))
        return cur.rowcount

    def audit(self, entry: AuditEntry) -> None:
        self._conn.execute(
            "INSERT INTO audit_log (at, actor, line_id, action, before, after) "
            "VALUES (?,?,?,?,?,?)",
            (_iso(entry.at), entry.actor, entry.line_id, entry.action,
             orjson.dumps(entry.before).decode(), orjson.dumps(entry.after).decode()),
        )

    def put_session(self, session: CreditSession) -> None:
        answer = session.last_answer
        self._conn.execute(
            "INSERT INTO cc_sessions (id, line_id, service, direction, country, reserved, "
            "granted_total, used_total, charged_micros, reports, last_request, last_answer, "
            "status, opened_at, last_seen, closed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT (id) DO UPDATE SET reserved=excluded.reserved, "
            "granted_total=excluded.granted_total, used_total=excluded.used_total, "
            "charged_micros=excluded.charged_micros, reports=excluded.reports, "
            "last_request=excluded.last_request, last_answer=excluded.last_answer, "
            "status=excluded.status, last_seen=excluded.last_seen, "
            "closed_at=excluded.closed_at",
            (session.id, session.line_id, session.service.value, session.direction.value,
             session.country, session.reserved, session.granted_total, session.used_total,
             session.charged_micros, session.reports, session.last_request,
             None if answer is None else orjson.dumps(
                 [answer.granted, answer.final, answer.reason]).decode(),
             session.status, _iso(session.opened_at), _iso(session.last_seen),
             None if session.closed_at is None else _iso(session.closed_at)),
        )

    def put_token(self, token_hash: str, token: Token, now: datetime) -> None:
        self._conn.execute(
            "INSERT INTO auth_tokens (token_hash, login, created_at, expires_at) VALUES (?,?,?,?)",
            (token_hash, token.login, _iso(now), _iso(token.expires_at)),
        )

    def delete_token(self, token_hash: str) -> None:
        self._conn.execute("DELETE FROM auth_tokens WHERE token_hash = ?", (token_hash,))

    def delete_expired_tokens(self, now: datetime) -> int:
        cur = self._conn.execute("DELETE FROM auth_tokens WHERE expires_at <= ?", (_iso(now),))
        return cur.rowcount


def _end(conn: Connection, how: str) -> None:
    """COMMIT or ROLLBACK; a COMMIT that fails is rolled back, so that the connection
    is not left inside a transaction that every later BEGIN would trip on."""
    try:
        conn.execute(how)
    except BaseException:
        if how == "COMMIT":
            with contextlib.suppress(Exception):  # unless the failure ended it already
                conn.execute("ROLLBACK")
        raise


class _LazyWriter:
    """The writer connection as one transaction sees it: the write lock is taken and
    the transaction begun at the first statement, and released when it ends."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store
        self._conn: Connection | None = None

    def _begun(self) -> Connection:
        if self._conn is None:
            store = self._store
            store._write_lock.acquire()
            try:
                store._writer.execute(store.begin)
            except BaseException:
                store._write_lock.release()
                raise
            self._conn = store._writer
        return self._conn

    def execute(self, sql: str, parameters: Any = (), /) -> Cursor:
        return self._begun().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> Any:
        return self._begun().executemany(sql, parameters)

    def close(self) -> None:
        raise TypeError("a transaction's writer is closed by its store")

    def end(self, how: str) -> None:
        """COMMIT or ROLLBACK what was begun, and let the writer go."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            _end(conn, how)
        finally:
            self._store._write_lock.release()


class SqlStore:
    """The store over any `Connection`; subclasses implement `_connect`."""

    url: str
    # How a write transaction starts, and which exceptions mean the store failed.
    begin = "BEGIN"
    errors: tuple[type[BaseException], ...] = ()

    def __init__(self) -> None:
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._all: list[Connection] = []
        self._all_lock = threading.Lock()
        try:
            self._writer = self._connect()
        except self.errors as exc:
            raise StoreError(f"cannot open {self.url}: {exc}") from exc

    def _open(self) -> Connection:
        raise NotImplementedError

    def schema(self, sql: str) -> str:
        """A migration in this database's dialect (the files are written for SQLite)."""
        return sql

    def _connect(self) -> Connection:
        conn = self._open()
        with self._all_lock:
            self._all.append(conn)
        return conn

    def _reader(self) -> Connection:
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    def close(self) -> None:
        with self._all_lock:
            for conn in self._all:
                conn.close()
            self._all.clear()

    def ping(self) -> None:
        try:
            self._reader().execute("SELECT 1").fetchone()
        except self.errors as exc:
            raise StoreError(str(exc)) from exc

    def migrate(self) -> list[str]:
        """Apply the migrations not applied yet; return their names."""
        applied: list[str] = []
        with self._write_lock:
            conn = self._writer
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                "name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            for migration in load_migrations():
                if migration.version in done:
                    continue
                self._in_transaction(
                    conn,
                    *[(statement, ()) for statement in _statements(self.schema(migration.sql))],
                    ("INSERT INTO schema_migrations VALUES (?,?,?)",
                     (migration.version, migration.name, _iso(datetime.now(UTC)))))
                applied.append(f"{migration.version:04d}_{migration.name}")
        return applied

    def _in_transaction(self, conn: Connection,
                        *statements: tuple[str, tuple[object, ...]]) -> int:
        """Run statements in one write transaction on `conn` (the caller holds the
        write lock); returns the first one's row count."""
        conn.execute(self.begin)
        try:
            counts = [conn.execute(sql, params).rowcount for sql, params in statements]
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        _end(conn, "COMMIT")
        return counts[0]

    # Whether transactions take row locks (PostgreSQL: several processes may write).
    row_locks = False

    def _tx(self, conn: Connection) -> SqlTx:
        return SqlTx(conn, row_locks=self.row_locks)

    def _maybe_recent(self, line_ids: Sequence[str]) -> list[str]:
        """Of these lines, those that may have records still in usage_recent, not yet
        merged into usage_records (SQLite only; see sqlite.py)."""
        return []

    @contextmanager
    def transaction(self) -> Iterator[SqlTx]:
        """A write transaction, begun at its first statement: a command that reads and
        rates before it writes holds the writer only for its writes (meanwhile the
        SQLite merge, or another thread's commit, has it), and one that writes nothing
        commits nothing. Reads never go through the writer, so they see the same
        committed state either way."""
        writer = _LazyWriter(self)
        try:
            yield self._tx(writer)
        except BaseException:
            writer.end("ROLLBACK")
            raise
        writer.end("COMMIT")

    # -- reads -----------------------------------------------------------------

    def get_account(self, account_id: str) -> Account | None:
        row = self._reader().execute(
            "SELECT id, name, kind FROM accounts WHERE id = ?", (account_id,)
        ).fetchone()
        return None if row is None else Account(*row)

    def get_user(self, login: str) -> User | None:
        row = self._reader().execute(
            "SELECT login, account_id, password_hash, role, email, language FROM users "
            "WHERE login = ?", (login,)
        ).fetchone()
        return None if row is None else User(*row)

    def get_line(self, line_id: str) -> Line | None:
        return self.get_lines([line_id]).get(line_id)

    def get_lines(self, line_ids: Sequence[str]) -> dict[str, Line]:
        """Lines by id, in a few queries however many (the engine loads a batch's at once)."""
        conn = self._reader()
        found: dict[str, Line] = {}
        for chunk in _chunks(line_ids):
            marks = ",".join("?" * len(chunk))
            # One round trip: a line's row once per plan period, in order.
            rows = conn.execute(
                "SELECT l.id, l.account_id, l.user_login, l.cycle_day, l.barred, "
                "l.spending_limit_micros, p.effective_from, p.plan FROM lines l "
                "LEFT JOIN line_plans p ON p.line_id = l.id "
                f"WHERE l.id IN ({marks}) ORDER BY l.id, p.effective_from", chunk).fetchall()
            periods: dict[str, list[PlanPeriod]] = {}
            heads: dict[str, Any] = {}
            for row in rows:
                heads.setdefault(row[0], row)
                if row[6] is not None:
                    # Interned: a million lines share a few account ids and plan ids.
                    periods.setdefault(row[0], []).append(
                        PlanPeriod(_parse_iso(row[6]), sys.intern(row[7])))
            for line_id, row in heads.items():
                found[line_id] = Line(
                    id=line_id, account_id=sys.intern(row[1]), user_login=row[2],
                    cycle_day=row[3], plans=tuple(periods.get(line_id, ())),
                    barred=_barred(row[4]), spending_limit_micros=row[5])
        return found

    def account_line_ids(self, account_id: str) -> list[str]:
        return [r[0] for r in self._reader().execute(
            "SELECT id FROM lines WHERE account_id = ? ORDER BY id", (account_id,))]

    def user_line_ids(self, login: str) -> list[str]:
        return [r[0] for r in self._reader().execute(
            "SELECT id FROM lines WHERE user_login = ? ORDER BY id", (login,))]

    def load_cycle(self, line_id: str, start: date) -> CycleUsage | None:
        return self.load_cycles([(line_id, start)]).get((line_id, start))

    def load_cycles(
        self, keys: Sequence[tuple[str, date]]
    ) -> dict[tuple[str, date], CycleUsage]:
        """Cycle usage summed from the records by meter, with the fired thresholds;
        keys without records or fired thresholds are left out."""
        conn = self._reader()
        by_start: dict[date, list[str]] = {}
        for line_id, start in keys:
            by_start.setdefault(start, []).append(line_id)
        found: dict[tuple[str, date], CycleUsage] = {}
        for start, line_ids in by_start.items():
            cycle = Cycle(start)
            for chunk in _chunks(line_ids):
                marks = ",".join("?" * len(chunk))
                params: tuple[Any, ...] = (start.isoformat(), *chunk, start.isoformat(), *chunk)
                sums = ("SELECT 0, line_id, meter, CAST(SUM(quantity) AS BIGINT), "
                        "CAST(SUM(charge_micros) AS BIGINT), COUNT(*) FROM {} "
                        "WHERE cycle_start = ? AND line_id IN ({}) GROUP BY line_id, meter ")
                recent = self._maybe_recent(chunk)
                also = ""
                if recent:
                    also = "UNION ALL " + sums.format(RECENT, ",".join("?" * len(recent)))
                    params += (start.isoformat(), *recent)
                # One round trip, one snapshot: the sums by meter (records merged and not
                # yet merged), then (kind 1) the fired thresholds.
                for kind, line_id, meter, quantity, charge, records in conn.execute(
                    sums.format("usage_records", marks)
                    + "UNION ALL SELECT 1, line_id, fired, 0, 0, 0 FROM cycle_usage "
                    f"WHERE cycle_start = ? AND line_id IN ({marks}) " + also, params
                ):
                    usage = found.setdefault((line_id, start), CycleUsage(cycle))
                    if kind == 1:
                        usage.fired = frozenset(orjson.loads(meter))
                        continue
                    if meter:
                        usage.meters[meter] = usage.meters.get(meter, 0) + quantity
                    usage.spend_micros += charge
                    usage.records += records
        return found

    def existing_record_ids(self, ids: Sequence[str]) -> set[str]:
        conn = self._reader()
        found: set[str] = set()
        for i in range(0, len(ids), _CHUNK):
            chunk = ids[i:i + _CHUNK]
            marks = ",".join("?" * len(chunk))
            # Both tables in one statement: a merge between two would hide records.
            found.update(r[0] for r in conn.execute(
                f"SELECT id FROM usage_records WHERE id IN ({marks}) "
                f"UNION ALL SELECT id FROM usage_recent WHERE id IN ({marks})", [*chunk, *chunk]))
        return found

    def _line_records(self, line_id: str, where: str,
                      params: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
        """A FROM clause over a line's records, and its parameters: usage_records, and
        usage_recent when the line may have records there that are not merged yet (one
        snapshot). Asked once: a merge may end between two looks."""
        if not self._maybe_recent([line_id]):
            return f"usage_records WHERE {where}", params
        return (f"(SELECT * FROM usage_records WHERE {where} "
                f"UNION ALL SELECT * FROM {RECENT} WHERE {where}) AS r", params * 2)

    def line_has_usage(self, line_id: str) -> bool:
        source, params = self._line_records(line_id, "line_id = ?", (line_id,))
        row = self._reader().execute(f"SELECT 1 FROM {source} LIMIT 1", params).fetchone()
        return row is not None

    def hourly_usage(self, line_id: str, start: date, service: str) -> list[tuple[datetime, int]]:
        """A service's usage in a cycle summed per UTC hour (at most 744 rows a month)."""
        source, params = self._line_records(
            line_id, "line_id = ? AND cycle_start = ? AND service = ?",
            (line_id, start.isoformat(), service))
        return [(datetime.fromisoformat(hour + ":00:00+00:00"), total)
                for hour, total in self._reader().execute(
                    "SELECT substr(at, 1, 13), CAST(SUM(quantity) AS BIGINT) "
                    f"FROM {source} GROUP BY substr(at, 1, 13)", params)]

    def line_records(self, line_id: str, start: date) -> Iterator[StoredRecord]:
        source, params = self._line_records(line_id, "line_id = ? AND cycle_start = ?",
                                            (line_id, start.isoformat()))
        for row in self._reader().execute(
            "SELECT id, line_id, cycle_start, service, direction, quantity, amount_micros, "
            f"country, at, charge_micros FROM {source} ORDER BY at, id", params
        ):
            yield StoredRecord(row[0], row[1], date.fromisoformat(row[2]), row[3], row[4],
                               row[5], row[6], row[7], _parse_iso(row[8]), row[9])

    def get_token(self, token_hash: str) -> Token | None:
        row = self._reader().execute(
            "SELECT login, expires_at FROM auth_tokens WHERE token_hash = ?", (token_hash,)
        ).fetchone()
        return None if row is None else Token(row[0], _parse_iso(row[1]))

    def rejected_records(self, limit: int) -> list[RejectedRecord]:
        return [RejectedRecord(*row) for row in self._reader().execute(
            "SELECT record_id, payload, error FROM rejected_records ORDER BY seq DESC LIMIT ?",
            (limit,))]

    def get_alerts(self, line_id: str) -> AlertSettings | None:
        return self.get_alerts_many([line_id]).get(line_id)

    def get_alerts_many(self, line_ids: Sequence[str]) -> dict[str, AlertSettings]:
        """The alert settings lines chose (lines on their plan's defaults are left out)."""
        found: dict[str, AlertSettings] = {}
        for chunk in _chunks(line_ids):
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

    def due_messages(self, now: datetime, limit: int,
                     channel: str | None = None) -> list[OutboxMessage]:
        if channel is None:
            return self._select_messages(
                "WHERE status='queued' AND next_attempt_at <= ? "
                "ORDER BY next_attempt_at, seq LIMIT ?", (_iso(now), limit))
        return self._select_messages(
            "WHERE status='queued' AND channel = ? AND next_attempt_at <= ? "
            "ORDER BY next_attempt_at, seq LIMIT ?", (channel, _iso(now), limit))

    def outbox_counts(self) -> dict[str, int]:
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
        return None if row is None or row[0] is None else _parse_iso(row[0])

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
            params.append(_iso(since))
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        order = "DESC" if newest_first else "ASC"
        return self._select_messages(f"{clause} ORDER BY seq {order} LIMIT ?",
                                     (*params, limit))

    def message(self, message_id: str) -> OutboxMessage | None:
        found = self._select_messages("WHERE id = ?", (message_id,))
        return found[0] if found else None

    def _select_messages(self, tail: str, params: Sequence[object]) -> list[OutboxMessage]:
        rows = self._reader().execute(
            "SELECT id, channel, sender, recipient, subject, text, line_id, rule, created_at, "
            "status, attempts, last_error, sent_at FROM outbox " + tail, tuple(params))
        return [OutboxMessage(
            id=r[0], channel=r[1], sender=r[2], to=r[3], subject=r[4], text=r[5],
            line_id=r[6], rule=None if r[7] is None else orjson.loads(r[7]),
            created_at=_parse_iso(r[8]), status=r[9], attempts=r[10], last_error=r[11],
            sent_at=None if r[12] is None else _parse_iso(r[12]),
        ) for r in rows]

    def audit_log(self, line_id: str, limit: int) -> list[AuditEntry]:
        return [AuditEntry(_parse_iso(r[0]), r[1], r[2], r[3], orjson.loads(r[4]),
                           orjson.loads(r[5]))
                for r in self._reader().execute(
                    "SELECT at, actor, line_id, action, before, after FROM audit_log "
                    "WHERE line_id = ? ORDER BY seq DESC LIMIT ?", (line_id, limit))]

    _SESSION_COLUMNS = (
        "SELECT id, line_id, service, direction, country, reserved, granted_total, used_total, "
        "charged_micros, reports, last_request, last_answer, status, opened_at, last_seen, "
        "closed_at FROM cc_sessions ")

    def open_sessions(self, line_ids: Sequence[str] | None = None) -> list[CreditSession]:
        """Open sessions: all of them, or those of some lines."""
        if line_ids is None:
            return [_session(r) for r in self._reader().execute(
                self._SESSION_COLUMNS + "WHERE status = 'open'")]
        found: list[CreditSession] = []
        for chunk in _chunks(line_ids):
            marks = ",".join("?" * len(chunk))
            found.extend(_session(r) for r in self._reader().execute(
                self._SESSION_COLUMNS + f"WHERE line_id IN ({marks}) AND status = 'open'",
                chunk))
        return found

    def session_lines(self, session_ids: Sequence[str]) -> dict[str, str]:
        """The line of each of these sessions (those that exist)."""
        found: dict[str, str] = {}
        for chunk in _chunks(session_ids):
            marks = ",".join("?" * len(chunk))
            found.update((r[0], r[1]) for r in self._reader().execute(
                f"SELECT id, line_id FROM cc_sessions WHERE id IN ({marks})", chunk))
        return found

    def stream_offsets(self) -> dict[int, int]:
        """The last stream sequence applied, per partition."""
        return {part: seq for part, seq in self._reader().execute(
            "SELECT part, seq FROM stream_offsets")}

    def existing_line_ids(self, line_ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(line_ids):
            marks = ",".join("?" * len(chunk))
            found.update(r[0] for r in self._reader().execute(
                f"SELECT id FROM lines WHERE id IN ({marks})", chunk))
        return found

    def get_session(self, session_id: str) -> CreditSession | None:
        row = self._reader().execute(
            self._SESSION_COLUMNS + "WHERE id = ?", (session_id,)).fetchone()
        return None if row is None else _session(row)


_NOTHING_BARRED: frozenset[str] = frozenset()


def _barred(text: str) -> frozenset[str]:
    # Most lines bar nothing: they share one empty set instead of 200 bytes each.
    return frozenset(orjson.loads(text)) if text != "[]" else _NOTHING_BARRED


def _session(r: tuple[Any, ...]) -> CreditSession:
    answer = None if r[11] is None else Grant(*orjson.loads(r[11]))
    return CreditSession(
        id=r[0], line_id=r[1], service=Service(r[2]), direction=Direction(r[3]), country=r[4],
        reserved=r[5], granted_total=r[6], used_total=r[7], charged_micros=r[8], reports=r[9],
        last_request=r[10], last_answer=answer, status=r[12], opened_at=_parse_iso(r[13]),
        last_seen=_parse_iso(r[14]), closed_at=None if r[15] is None else _parse_iso(r[15]),
    )


def _chunks(items: Sequence[str]) -> list[Sequence[str]]:
    return [items[i:i + _CHUNK] for i in range(0, len(items), _CHUNK)]


def _statements(sql: str) -> list[str]:
    """Split a migration into statements (our migrations have no ';' inside literals)."""
    lines = [ln for ln in sql.splitlines() if not ln.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
