"""What other conso processes committed, for a shared engine's per-node cache.

Several API nodes and workers share one PostgreSQL database. Each keeps lines, cycle
usage, notification settings and open sessions in memory (engine/cache.py) and must
never answer from a line's state after another process committed a change to it
(a barring, a limit, a plan, usage, a session). Two parts:

- **Announcements**: every command of a shared engine announces, in its own
  transaction, the lines and users it changed (`pg_notify` on CHANNEL, payloads made by
  `encode`; PostgreSQL sends them to the listeners when, and only if, it commits).
- **The feed** (`ChangeFeed`): one connection per process that LISTENs and hands every
  other process's announcement to the engine (`on_change`), and a **fence**: a
  notification the feed sends itself, on a channel of its own. PostgreSQL queues a
  transaction's notifications before its commit, reads a listener's queue in order,
  and never past a transaction not committed yet; so once the feed has heard its own
  fence sent after moment T, it has heard every announcement of the transactions
  committed before T. (Merely waiting for a query's answer would not do: a committing
  backend signals the listeners only after its commit is visible.) Readers that want
  a fence at the same time share it (like a group commit), so a busy node pays a
  fraction of a round trip a request, not one.

When the connection is lost, what was announced meanwhile is unknown: once connected
again, the feed hands over `Change(everything=True)` (the cache is dropped) before any
fence completes. A fence not reached within its timeout raises StoreUnavailable (the
API answers 503); nothing waits unbounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import select
import socket
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import psycopg

from conso.store.base import StoreUnavailable

log = logging.getLogger("conso.store")

CHANNEL = "conso_changes"
# PostgreSQL refuses a payload of 8,000 bytes or more; ids are grouped under this.
MAX_PAYLOAD = 7_000
FENCE_TIMEOUT_S = 5.0
RECONNECT_MAX_S = 2.0


@dataclass(frozen=True, slots=True)
class Change:
    """Lines and users another process changed (`everything`: unknown, drop it all)."""

    lines: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    everything: bool = False


def encode(node: str, lines: Iterable[str], users: Iterable[str]) -> list[str]:
    """The payloads announcing these changes, each under MAX_PAYLOAD bytes."""
    payloads: list[str] = []
    for kind, ids in (("l", sorted(set(lines))), ("u", sorted(set(users)))):
        group: list[str] = []
        size = 0
        for item in ids:
            cost = len(item.encode()) + 4   # quotes, comma, and room for escapes
            if group and size + cost > MAX_PAYLOAD:
                payloads.append(orjson.dumps({"n": node, kind: group}).decode())
                group, size = [], 0
            group.append(item)
            size += cost
        if group:
            payloads.append(orjson.dumps({"n": node, kind: group}).decode())
    return payloads


def decode(payload: str) -> tuple[str, Change] | None:
    """(the announcing node, its change); None for a payload that is not one of ours."""
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("n"), str):
        return None
    lines = data.get("l") or []
    users = data.get("u") or []
    if not isinstance(lines, list) or not isinstance(users, list):
        return None
    return data["n"], Change(tuple(str(x) for x in lines), tuple(str(x) for x in users))


class Fence:
    """A point in the feed: reached once every change committed before it was made has
    been handed to `on_change`."""

    __slots__ = ("_feed", "ticket")

    def __init__(self, feed: ChangeFeed, ticket: int) -> None:
        self._feed = feed
        self.ticket = ticket

    @property
    def reached(self) -> bool:
        return self._feed.done >= self.ticket

    def wait(self, timeout: float = FENCE_TIMEOUT_S) -> None:
        self._feed.wait(self.ticket, timeout)

    async def wait_async(self, timeout: float = FENCE_TIMEOUT_S) -> None:
        await self._feed.wait_async(self.ticket, timeout)


class ChangeFeed:
    """LISTEN on CHANNEL in a thread of its own; fences on request (module docstring)."""

    def __init__(self, connect: Callable[[], psycopg.Connection[Any]],
                 on_change: Callable[[Change], None], *, node: str | None = None) -> None:
        self.node = node or uuid.uuid4().hex[:12]
        self._fence_channel = f"conso_fence_{uuid.uuid4().hex[:12]}"
        self._connect = connect
        self._on_change = on_change
        self._cond = threading.Condition()
        self._started = 0          # fences begun
        self.done = 0              # the last fence heard (all before it too)
        self._wanted = False
        self._closing = False
        self._async: list[tuple[int, asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._thread: threading.Thread | None = None
        self.heard = 0             # announcements of other processes handed over

    # -- what readers call ----------------------------------------------------------------

    def fence(self) -> Fence:
        """A fence after now: begun by the feed's thread once asked, after this call."""
        with self._cond:
            if not self._wanted:
                self._wanted = True
                self._poke()
            return Fence(self, self._started + 1)

    def wait(self, ticket: int, timeout: float) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: self.done >= ticket or self._closing, timeout):
                raise StoreUnavailable(f"changes of other processes not heard within "
                                       f"{timeout:g} s (the feed's connection is down)")
            if self.done < ticket:
                raise StoreUnavailable("the change feed is closed")

    async def wait_async(self, ticket: int, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._cond:
            if self.done >= ticket:
                return
            self._async.append((ticket, loop, future))
        try:
            await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise StoreUnavailable(f"changes of other processes not heard within "
                                   f"{timeout:g} s (the feed's connection is down)") from None

    # -- life -------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="conso-changes", daemon=True)
        self._thread.start()

    def close(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._poke()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        self._wake_r.close()
        self._wake_w.close()

    # -- the feed's thread ------------------------------------------------------------------

    def _poke(self) -> None:
        with contextlib.suppress(OSError):   # full: it is awake already
            self._wake_w.send(b"\0")

    def _run(self) -> None:
        pause = 0.05
        first = True
        while not self._closing:
            try:
                conn = self._connect()
            except psycopg.Error as exc:
                log.warning("change feed: cannot connect (%s); again in %.1f s", exc, pause)
                self._sleep(pause)
                pause = min(pause * 2, RECONNECT_MAX_S)
                continue
            try:
                conn.add_notify_handler(self._heard)
                # A fence is a transaction of its own (pg_notify takes a transaction id):
                # its commit need not wait for the WAL to reach the disk, nothing of it
                # is kept. Its notification is queued and read in order all the same.
                conn.execute("SET synchronous_commit TO off")
                conn.execute(f"LISTEN {CHANNEL}")
                conn.execute(f"LISTEN {self._fence_channel}")
                if not first:
                    # What was announced while no one listened is unknown: all of it goes.
                    log.warning("change feed: listening again; the node cache starts afresh")
                    self._on_change(Change(everything=True))
                    with self._cond:   # fences sent on the lost connection: again
                        self._wanted = self._wanted or self._started > self.done
                first = False
                pause = 0.05
                self._serve(conn)
            except psycopg.Error as exc:
                if not self._closing:
                    log.warning("change feed: connection lost (%s); reconnecting", exc)
            finally:
                with contextlib.suppress(Exception):
                    conn.close()

    def _sleep(self, seconds: float) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._closing, seconds)

    def _serve(self, conn: psycopg.Connection[Any]) -> None:
        sock, wake = conn.fileno(), self._wake_r.fileno()
        while not self._closing:
            with self._cond:
                wanted = self._wanted
                if wanted:
                    self._wanted = False
                    self._started += 1
                    ticket = self._started
            if wanted:   # reached when heard (`_heard`): now, or at a later read
                conn.execute("SELECT pg_notify(%s, %s)", (self._fence_channel, str(ticket)))
                self._drain(conn)
                continue
            readable, _, _ = select.select([sock, wake], [], [], 1.0)
            if wake in readable:
                with contextlib.suppress(BlockingIOError):
                    self._wake_r.recv(4096)
            if sock in readable:
                conn.pgconn.consume_input()
                self._drain(conn)

    def _drain(self, conn: psycopg.Connection[Any]) -> None:
        """Notifications libpq holds that psycopg has not handed to `_heard` yet."""
        while (found := conn.pgconn.notifies()) is not None:
            self._notified(found.relname.decode(), found.extra.decode())

    def _heard(self, notify: psycopg.Notify) -> None:
        self._notified(notify.channel, notify.payload)

    def _notified(self, channel: str, payload: str) -> None:
        if channel == self._fence_channel:
            self._reached(int(payload))
        else:
            self._payload(payload)

    def _payload(self, payload: str) -> None:
        decoded = decode(payload)
        if decoded is None:
            log.warning("change feed: not an announcement of conso: %.80r", payload)
            return
        node, change = decoded
        if node != self.node:    # our own changes are in our cache already
            self.heard += 1
            self._on_change(change)

    def _reached(self, ticket: int) -> None:
        with self._cond:
            self.done = ticket
            self._cond.notify_all()
            ready = [w for w in self._async if w[0] <= ticket]
            if ready:
                self._async = [w for w in self._async if w[0] > ticket]
        by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
        for _, loop, future in ready:
            by_loop.setdefault(loop, []).append(future)
        for loop, futures in by_loop.items():
            with contextlib.suppress(RuntimeError):    # that loop is closed
                loop.call_soon_threadsafe(_settle, futures)


def _settle(futures: Sequence[asyncio.Future[None]]) -> None:
    for future in futures:
        if not future.done():
            future.set_result(None)

