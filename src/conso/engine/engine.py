"""The engine: the one write path, and the reads that share its in-memory state.

Every change (a usage batch, a session report, a setting, a plan change) is a
command run in a unit of work (uow.py): one transaction, caches updated and the
dispatcher woken after the commit. Reads outside a command come from the caches
(cache.py), loaded on first use under the engine's lock; nothing outside this
package touches that lock or those caches.

A `shared` engine is one of several processes on one database (API nodes and
stream workers on PostgreSQL). Each command locks the rows of the lines it touches
first, so two processes never rate the same line at once. What it then reads:
- following the others' changes (`follow`, store/changes.py): its caches, once a
  fence says every change committed before the command took its locks has been
  heard (those lines dropped and read again); reads that reserve nothing (`view`:
  authorize, prices) wait for a fence begun after they were asked, so no answer
  comes from a line's state older than a change committed before the question.
  Each command announces the lines and users it changed, in its own transaction.
- not following: everything from the store, its caches forgotten at every command.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from conso.domain.alerts import AlertSettings, default_settings
from conso.domain.catalog import Catalog, Plan
from conso.domain.consult import UsageSummary, summarize
from conso.domain.cycle import Cycle, cycle_of
from conso.domain.line import Line
from conso.domain.outbox import OutboxMessage
from conso.domain.rating import CycleUsage
from conso.domain.sessions import CreditSession
from conso.engine import bulk, provisioning, usage
from conso.engine.cache import HotState
from conso.engine.uow import BatchResult, UnitOfWork
from conso.errors import Busy
from conso.notify.compose import Recipient
from conso.notify.email_body import DEFAULT_PORTAL_URL
from conso.store.base import CommitInDoubt, Store
from conso.store.changes import CHANNEL, Change, encode

if TYPE_CHECKING:
    from conso.store.changes import ChangeFeed, Fence

log = logging.getLogger("conso.engine")

T = TypeVar("T")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)   # not frozen: one is built per authorize, and frozen costs more
class LineView:
    """A consistent read of a line now: what authorizing a use needs."""

    line: Line
    plan: Plan
    usage: CycleUsage
    sessions: list[CreditSession]
    now: datetime


class Engine:
    def __init__(
        self,
        store: Store,
        catalog: Catalog,
        *,
        clock: Callable[[], datetime] = utc_now,
        max_future: timedelta = timedelta(hours=24),
        on_batch: Callable[[BatchResult], None] | None = None,
        on_messages: Callable[[], None] | None = None,
        email_sender: str = "conso@localhost",
        portal_url: str = DEFAULT_PORTAL_URL,
        shared: bool = False,
    ) -> None:
        self.store = store
        self.shared = shared
        self.catalog = catalog
        self.clock = clock
        self.max_future = max_future
        self.on_batch = on_batch
        self.on_messages = on_messages
        self.email_sender = email_sender
        self.portal_url = portal_url  # links in e-mails to a line's page
        self.state = HotState(indexed=shared)
        self.feed: ChangeFeed | None = None   # shared: the others' changes (`follow`)
        self._lock = threading.RLock()
        # After a commit in doubt, what is in memory may lack what that commit wrote: it
        # is forgotten, and an exclusive engine reads its open sessions again (next use).
        self._reload_sessions = False
        if not shared:  # an exclusive engine tracks every open session
            for session in store.sessions.open():
                self.state.track(session)

    # -- following the other processes (shared) ------------------------------------------

    def follow(self, feed: ChangeFeed) -> None:
        """Keep the caches between commands, dropping what `feed` says others changed
        (its `on_change` must be `self.heard`)."""
        if not self.shared:
            raise ValueError("only a shared engine follows other processes")
        self.feed = feed

    def heard(self, change: Change) -> None:
        """The feed's thread: a change to apply before the next read (lock-free)."""
        self.state.pending.append(change)

    def fence(self) -> Fence | None:
        """What a read that reserves nothing waits for before `view` (None: nothing)."""
        return None if self.feed is None else self.feed.fence()

    def _catch_up(self) -> None:
        """Apply what others changed (the lock is held): all that waits as one change,
        so that many users changed at once (bulk provisioning) cost one pass."""
        pending = self.state.pending
        if not pending:
            return
        lines: list[str] = []
        users: list[str] = []
        everything = False
        while pending:
            change = pending.popleft()
            lines.extend(change.lines)
            users.extend(change.users)
            everything = everything or change.everything
        self.state.apply(Change(tuple(lines), tuple(users), everything))

    # -- commands -----------------------------------------------------------------------

    @contextmanager
    def unit_of_work(self, line_ids: Iterable[str] = ()) -> Iterator[UnitOfWork]:
        """One command (see uow.py). A shared engine first locks the rows of `line_ids`,
        then catches up with what others committed (a fence, or, not following them,
        forgetting what it read before), and announces its own changes at the end."""
        with self._lock:
            self._recover()
            try:
                with self.store.transaction() as tx:
                    if self.shared:
                        tx.lines.lock(sorted(set(line_ids)))  # sorted: no deadlock
                        if self.feed is None:
                            self.state.forget()
                        else:   # every change committed before our locks, heard
                            self.feed.fence().wait()
                            self._catch_up()
                    uow = UnitOfWork(self, tx, self.clock())
                    yield uow
                    with tx.pipeline():   # the writes in one round trip (PostgreSQL)
                        uow.flush()
                        if self.feed is not None:
                            tx.lines.announce(CHANNEL, encode(
                                self.feed.node, uow.changed_lines(), uow.changed_users()))
            except CommitInDoubt:
                # All of it or none of it is stored: read it all again before trusting
                # the caches (a record that took is found by its id when sent again).
                self.state.forget()
                self._reload_sessions = not self.shared
                raise
            uow.publish_locked()
        self._published(uow)

    def _recover(self) -> None:
        """After a commit in doubt: the open sessions again, from the store (the lock is
        held; while the store is still away this raises and is tried at the next use)."""
        if self._reload_sessions:
            for session in self.store.sessions.open():
                self.state.track(session)
            self._reload_sessions = False

    def _published(self, uow: UnitOfWork) -> None:
        """After the commit, outside the lock: wake the dispatcher, count the batch."""
        messages, result = uow.batch.messages, uow.batch.result
        if messages:
            log.info("queued %d message(s) for %s", len(messages),
                     ", ".join(sorted({m.line_id or m.to for m in messages})))
            if self.on_messages is not None:
                self.on_messages()
        # A usage batch counts even when empty; another command when it rated records.
        if self.on_batch is not None and (uow.usage_batch or result.accepted
                                          or result.rejected):
            self.on_batch(result)

    def apply_usage(self, raw_records: Sequence[Any],
                    also: Callable[[Any], None] | None = None) -> BatchResult:
        """Validate, rate and commit a batch; answer only after the commit. `also` adds
        writes of the same transaction (a stream worker's offset)."""
        return usage.apply(self, raw_records, also)

    def screen(self, raw_records: Sequence[Any]) -> tuple[BatchResult, list[tuple[str, Any]]]:
        return usage.screen(self, raw_records)

    def queue_messages(self, messages: Sequence[OutboxMessage]) -> None:
        """Put messages that usage did not cause (replies) in the outbox."""
        if messages:
            with self.unit_of_work() as uow:
                uow.queue(messages)

    put_account = provisioning.put_account
    put_user = provisioning.put_user
    set_password = provisioning.set_password
    put_line = provisioning.put_line
    put_alerts = provisioning.put_alerts
    provision = bulk.provision

    # -- reads ----------------------------------------------------------------------------

    def line(self, line_id: str) -> Line | None:
        if self.shared:
            return self.store.lines.get(line_id)
        line = self.state.lines.get(line_id)
        if line is not None:
            return line
        with self._lock:
            return self._load_line(line_id)

    def cycle_usage(self, line: Line, at: datetime) -> CycleUsage:
        cycle = cycle_of(at, line.cycle_day)
        if self.shared:
            return self.store.usage.load_cycle(line.id, cycle.start_date) or CycleUsage(cycle)
        found = self.state.cycles.get((line.id, cycle.start_date))
        if found is not None:
            return found
        with self._lock:
            return self._load_cycle(line.id, cycle)

    def alert_settings(self, line: Line) -> AlertSettings:
        if self.shared:
            return self.store.lines.alerts(line.id) or default_settings(
                self.catalog.plans[line.plan_id], self.recipient(line).email)
        settings = self.state.alerts.get(line.id)
        if settings is not None:
            return settings
        with self._lock:
            return self._load_alerts(line)

    def recipient(self, line: Line) -> Recipient:
        """The language and e-mail of the line's user (English when it has none)."""
        if self.shared:
            return self._read_recipient(line)
        found = None if line.user_login is None else self.state.recipients.get(line.user_login)
        if found is not None:
            return found  # cached: no need to wait for a command to end
        with self._lock:
            return self._load_recipient(line)

    def plan_of(self, line: Line, at: datetime) -> Plan:
        return self.catalog.plans[line.plan_at(at)]

    def usage_summary(self, line: Line, at: datetime | None = None) -> UsageSummary:
        now = self.clock()
        when = now if at is None else at
        return summarize(line.id, self.plan_of(line, when), self.cycle_usage(line, when), now)

    def view(self, line_id: str, *, wait: bool = True,
             fence: Fence | None = None) -> LineView | None:
        """A line, its usage now and its open sessions, read consistently; None when
        there is no such line. With `wait=False`, raises `Busy` rather than wait for a
        command to end, a fence, or (following others) the store. `fence`: one the
        caller took (`fence()`) when asked, and may have waited for already."""
        if self.feed is not None:
            return self._followed_view(line_id, wait, fence)
        if self.shared:  # what is committed; reserves nothing, so no row lock either
            line = self.store.lines.get(line_id)
            if line is None:
                return None
            now = self.clock()
            return LineView(line, self.plan_of(line, now), self.cycle_usage(line, now),
                            self.store.sessions.open([line.id]), now)
        if not self._lock.acquire(blocking=wait):
            raise Busy
        try:
            if self._reload_sessions and not wait:
                raise Busy   # reading them again is I/O: not on the caller's event loop
            self._recover()
            line = self._load_line(line_id)
            if line is None:
                return None
            now = self.clock()
            return LineView(line, self.plan_of(line, now),
                            self._load_cycle(line.id, cycle_of(now, line.cycle_day)),
                            self.state.open_sessions(line.id), now)
        finally:
            self._lock.release()

    def _followed_view(self, line_id: str, wait: bool, fence: Fence | None,
                       ) -> LineView | None:
        """`view` of an engine following the others: from the cache once `fence` (or
        one taken now) is reached; a line not cached is read outside the engine's lock
        (several at once, while commands go on) and kept unless it changed meanwhile."""
        assert self.feed is not None
        if fence is None:
            if not wait:
                raise Busy
            fence = self.feed.fence()
        if not fence.reached:
            if not wait:
                raise Busy
            fence.wait()
        state = self.state
        if not self._lock.acquire(blocking=wait):
            raise Busy
        try:
            self._catch_up()
            now = self.clock()
            line = state.lines.get(line_id)
            if line is not None and line_id in state.sessions_loaded:
                usage = state.cycles.get((line_id, cycle_of(now, line.cycle_day).start_date))
                if usage is not None:
                    return LineView(line, self.plan_of(line, now), usage,
                                    state.open_sessions(line_id), now)
            if not wait:
                raise Busy     # store I/O: not on the caller's event loop
            state.loading[line_id] = state.loading.get(line_id, 0) + 1
        finally:
            self._lock.release()
        read: LineView | None = None
        try:
            loaded = self.store.lines.get(line_id)
            if loaded is None:
                return None
            cycle = cycle_of(now, loaded.cycle_day)
            read = LineView(
                loaded, self.plan_of(loaded, now),
                self.store.usage.load_cycle(line_id, cycle.start_date) or CycleUsage(cycle),
                self.store.sessions.open([line_id]), now)
        finally:
            with self._lock:
                self._catch_up()
                if state.loaded(line_id) and read is not None:
                    self._keep(read)
        read.sessions = [s for s in read.sessions if s.is_open]
        return read

    def _keep(self, read: LineView) -> None:
        """Cache what `_followed_view` read of a line (the lock is held)."""
        state, line_id = self.state, read.line.id
        state.lines.setdefault(line_id, read.line)
        key = (line_id, read.usage.cycle.start_date)
        if key not in state.cycles:
            state.put_cycle(key, read.usage)
        if line_id not in state.sessions_loaded:
            for session in read.sessions:
                state.track(session)
            state.sessions_loaded.add(line_id)

    def lines_of_sessions(self, session_ids: Sequence[str]) -> list[str]:
        """The lines whose rows a command on these sessions locks (sorted)."""
        lines: set[str] = set()
        unknown = []
        for session_id in session_ids:
            # A session's line never changes: a cached session (even stale) tells it.
            session = self.state.sessions.get(session_id)
            if session is None:
                unknown.append(session_id)
            else:
                lines.add(session.line_id)
        if unknown:
            lines.update(self.store.sessions.lines_of(unknown).values())
        return sorted(lines)

    def open_sessions(self) -> list[CreditSession]:
        """Every open session (a shared engine's: from the store)."""
        if self.shared:
            return self.store.sessions.open()
        with self._lock:
            self._recover()
            return list(self.state.sessions.values())

    def open_session_count(self) -> int:
        return len(self.open_sessions()) if self.shared else len(self.state.sessions)

    def cached_line_count(self) -> int:
        return len(self.state.lines)

    def evict_cycles(self, ended_before: datetime) -> int:
        """Forget cached usage of cycles that ended before `ended_before`; a late record
        for one loads it again from its cycle_usage row. Returns how many were let go.

        Housekeeping calls it every round, and with a million warm lines the cache holds
        a million cycles or two: one pass over them under the lock stalled every command
        for seconds (the bench's rollover phase measured 3 s a round). The lock is held
        only to copy the keys and then to forget slices of them, let go between slices;
        which cycles ended is decided outside it, once per cycle start (a key names its
        cycle, and keys do not change)."""
        slice_size = 10_000       # ~1 ms under the lock
        breathe = 0.0005          # s between slices: a waiting command takes the lock
        with self._lock:
            keys = list(self.state.cycles)
        ended = {start for start in {start for _, start in keys}
                 if Cycle(start).end < ended_before}
        old = [key for key in keys if key[1] in ended] if ended else []
        count = 0
        for first in range(0, len(old), slice_size):
            if first:
                time.sleep(breathe)
            with self._lock:
                count += self.state.drop_cycles(old[first:first + slice_size])
        if count:
            log.info("let go of the cached usage of %d finished cycle(s)", count)
        return count

    # -- loading into the caches (the engine's lock is held) ------------------------------

    def _load_line(self, line_id: str) -> Line | None:
        line = self.state.lines.get(line_id)
        if line is None:
            line = self.store.lines.get(line_id)
            if line is not None:
                self.state.lines[line_id] = line
        return line

    def _load_cycle(self, line_id: str, cycle: Cycle) -> CycleUsage:
        key = (line_id, cycle.start_date)
        found = self.state.cycles.get(key)
        if found is None:
            found = self.store.usage.load_cycle(line_id, cycle.start_date) or CycleUsage(cycle)
            self.state.put_cycle(key, found)
        return found

    def _load_sessions(self, line_id: str) -> list[CreditSession]:
        """The line's open sessions: an exclusive engine tracks them all; a shared one
        reads a line's once (following others) or at every command (not following)."""
        state = self.state
        if self.shared and line_id not in state.sessions_loaded:
            for session in self.store.sessions.open([line_id]):
                state.track(session)
            state.sessions_loaded.add(line_id)
        return state.open_sessions(line_id)

    def _load_alerts(self, line: Line) -> AlertSettings:
        settings = self.state.alerts.get(line.id)
        if settings is None:
            settings = self.store.lines.alerts(line.id) or self._default_alerts(line)
            self.state.alerts[line.id] = settings
        return settings

    def _load_recipient(self, line: Line) -> Recipient:
        login = line.user_login
        if login is None:
            return Recipient("en", None)
        found = self.state.recipients.get(login)
        if found is None:
            found = self.state.recipients[login] = self._read_recipient(line)
        return found

    def _read_recipient(self, line: Line) -> Recipient:
        user = None if line.user_login is None else self.store.users.get(line.user_login)
        return Recipient(user.language, user.email) if user else Recipient("en", None)

    def _default_alerts(self, line: Line) -> AlertSettings:
        key = (line.plan_id, self._load_recipient(line).email)
        settings = self.state.defaults.get(key)
        if settings is None:
            settings = default_settings(self.catalog.plans[line.plan_id], key[1])
            self.state.defaults[key] = settings
        return settings

    def _prefetch(self, uses: Sequence[tuple[str, datetime]]) -> list[Cycle | None]:
        """Load lines, their cycle usage at these times and their alert settings in a few
        queries, not a few per line (the lock is held). Returns each use's cycle (None:
        no such line), for `UnitOfWork.rate`."""
        state = self.state
        missing = list({line_id for line_id, _ in uses if line_id not in state.lines})
        if missing:
            state.lines.update(self.store.lines.get_many(missing))
        cycles: dict[tuple[str, date], Cycle] = {}
        touched: dict[str, Line] = {}
        found: list[Cycle | None] = []
        for line_id, at in uses:
            line = state.lines.get(line_id)
            if line is None:
                found.append(None)
                continue
            touched[line.id] = line
            cycle = cycle_of(at, line.cycle_day)
            found.append(cycle)
            key = (line.id, cycle.start_date)
            if key not in state.cycles:
                cycles[key] = cycle
        if cycles:
            loaded = self.store.usage.load_cycles(list(cycles))
            for key, cycle in cycles.items():
                state.put_cycle(key, loaded.get(key) or CycleUsage(cycle))
        unset = [line_id for line_id in touched if line_id not in state.alerts]
        if unset:
            chosen = self.store.lines.alerts_many(unset)
            for line_id in unset:
                state.alerts[line_id] = chosen.get(line_id) or self._default_alerts(
                    touched[line_id])
        return found
