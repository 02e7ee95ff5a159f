"""The SQL of login throttling: attempts per subject in a window, and where logins
succeeded.

`count_attempt` is one UPSERT that counts and answers the count: the database's row
lock (PostgreSQL) or its single writer (SQLite) orders concurrent attempts, so each
gets a count of its own, across threads and processes. Nothing here decides what a
count means, which scopes exist or how long anything lasts (auth.py's), and nothing
handles transactions (store.py's).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from conso.store.base import Attempts
from conso.store.sql.connection import Connection, Reader, iso, parse_iso

# A window begun at or before the cutoff starts again; the count stops at the cap.
_COUNT = (
    "INSERT INTO login_attempts (scope, subject, window_start, attempts) VALUES (?,?,?,1) "
    "ON CONFLICT (scope, subject) DO UPDATE SET "
    "attempts = CASE WHEN login_attempts.window_start <= ? THEN 1 "
    "WHEN login_attempts.attempts < ? THEN login_attempts.attempts + 1 "
    "ELSE login_attempts.attempts END, "
    "window_start = CASE WHEN login_attempts.window_start <= ? THEN excluded.window_start "
    "ELSE login_attempts.window_start END "
    "RETURNING attempts, window_start"
)


class SqlLoginReads:
    __slots__ = ("_reader",)

    def __init__(self, reader: Reader) -> None:
        self._reader = reader

    def attempts(self, scope: str, subject: str) -> Attempts | None:
        row = self._reader().execute(
            "SELECT attempts, window_start FROM login_attempts WHERE scope = ? AND subject = ?",
            (scope, subject)).fetchone()
        return None if row is None else Attempts(int(row[0]), parse_iso(row[1]))

    def last_success(self, login: str, client: str) -> datetime | None:
        return _last_success(self._reader(), login, client)


class SqlLoginWrites:
    __slots__ = ("_conn",)

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def count_attempt(self, scope: str, subject: str, now: datetime, window: timedelta,
                      cap: int) -> Attempts:
        cutoff = iso(now - window)
        rows = self._conn.execute(_COUNT, (scope, subject, iso(now), cutoff, cap, cutoff)
                                  ).fetchall()  # to the end: the statement is done
        return Attempts(int(rows[0][0]), parse_iso(rows[0][1]))

    def return_attempt(self, scope: str, subject: str) -> None:
        self._conn.execute(
            "UPDATE login_attempts SET attempts = attempts - 1 "
            "WHERE scope = ? AND subject = ? AND attempts > 0", (scope, subject))

    def clear_attempts(self, scope: str, subject: str) -> None:
        self._conn.execute("DELETE FROM login_attempts WHERE scope = ? AND subject = ?",
                           (scope, subject))

    def last_success(self, login: str, client: str) -> datetime | None:
        return _last_success(self._conn, login, client)

    def succeeded(self, login: str, client: str, now: datetime) -> None:
        self._conn.execute(
            "INSERT INTO login_clients (login, client, last_success) VALUES (?,?,?) "
            "ON CONFLICT (login, client) DO UPDATE SET last_success = excluded.last_success",
            (login, client, iso(now)))

    def prune(self, attempts_before: datetime, successes_before: datetime) -> int:
        attempts = self._conn.execute("DELETE FROM login_attempts WHERE window_start <= ?",
                                      (iso(attempts_before),)).rowcount
        successes = self._conn.execute("DELETE FROM login_clients WHERE last_success <= ?",
                                       (iso(successes_before),)).rowcount
        return max(attempts, 0) + max(successes, 0)


def _last_success(conn: Connection, login: str, client: str) -> datetime | None:
    row = conn.execute(
        "SELECT last_success FROM login_clients WHERE login = ? AND client = ?",
        (login, client)).fetchone()
    return None if row is None else parse_iso(row[0])
