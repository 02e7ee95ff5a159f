"""The engine's hot state: what it keeps in memory per line, loaded on first use.

Lines, their cycle usage, their notification settings, their users' language and
e-mail, and the open credit-control sessions. Only the engine reads and writes it,
under its lock; a unit of work publishes its changes here after its commit, so the
cache never holds a change that is not durable.

A shared engine (several processes on one database) keeps it too when it follows the
other processes' changes (store/changes.py): what they announce waits in `pending`
(appended by the feed's thread) and is applied (`apply`) by the engine under its lock
before it reads; a line changed elsewhere is dropped whole, and read again at its
next use. Without a feed, a shared engine forgets it all at every command.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from conso.domain.alerts import AlertSettings
from conso.domain.line import Line
from conso.domain.rating import CycleUsage
from conso.domain.sessions import CreditSession
from conso.notify.compose import Recipient
from conso.store.changes import Change


@dataclass(slots=True)
class HotState:
    lines: dict[str, Line] = field(default_factory=dict)
    cycles: dict[tuple[str, date], CycleUsage] = field(default_factory=dict)
    alerts: dict[str, AlertSettings] = field(default_factory=dict)
    recipients: dict[str, Recipient] = field(default_factory=dict)
    # The plans' default settings, one shared object per (plan, e-mail): lines are many.
    defaults: dict[tuple[str, str | None], AlertSettings] = field(default_factory=dict)
    sessions: dict[str, CreditSession] = field(default_factory=dict)   # open ones
    sessions_by_line: dict[str, set[str]] = field(default_factory=dict)
    # A shared engine's: the lines whose open sessions are all in `sessions` (an
    # exclusive engine tracks every open session from its start), and each line's
    # cached cycles, so that a line changed elsewhere is dropped without a scan.
    sessions_loaded: set[str] = field(default_factory=set)
    cycle_keys: dict[str, set[date]] = field(default_factory=dict)
    indexed: bool = False
    # Changes other processes announced, not applied yet (thread-safe appends).
    pending: deque[Change] = field(default_factory=deque)
    # Lines a shared engine is reading outside its lock (readers of each), and those
    # of them changed meanwhile: what was read of those is not kept.
    loading: dict[str, int] = field(default_factory=dict)
    changed_while_loading: set[str] = field(default_factory=set)

    def forget(self) -> None:
        """Drop what other processes may have changed."""
        self.changed_while_loading.update(self.loading)
        self.lines.clear()
        self.cycles.clear()
        self.alerts.clear()
        self.recipients.clear()
        self.sessions.clear()
        self.sessions_by_line.clear()
        self.sessions_loaded.clear()
        self.cycle_keys.clear()

    def put_cycle(self, key: tuple[str, date], usage: CycleUsage) -> None:
        self.cycles[key] = usage
        if self.indexed:
            self.cycle_keys.setdefault(key[0], set()).add(key[1])

    def put_cycles(self, cycles: dict[tuple[str, date], CycleUsage]) -> None:
        for key, usage in cycles.items():
            self.put_cycle(key, usage)

    def apply(self, change: Change) -> None:
        """What another process changed: those lines and users are read again."""
        if change.everything:
            self.forget()
            return
        for line_id in change.lines:
            self.drop_line(line_id)
        if change.users:
            for login in change.users:
                self.recipients.pop(login, None)
            # A plan's default settings name the user's e-mail: only custom ones stay.
            self.alerts = {k: v for k, v in self.alerts.items() if v.customised}

    def loaded(self, line_id: str) -> bool:
        """A read of the line outside the lock is over: whether what it read may be
        kept (the line did not change meanwhile)."""
        left = self.loading.pop(line_id) - 1
        if left:
            self.loading[line_id] = left
            return line_id not in self.changed_while_loading
        if line_id in self.changed_while_loading:
            self.changed_while_loading.discard(line_id)
            return False
        return True

    def touched(self, line_ids: set[str]) -> None:
        """This process changed these lines (a command, once committed)."""
        if self.loading:
            self.changed_while_loading.update(line_ids & self.loading.keys())

    def drop_line(self, line_id: str) -> None:
        if line_id in self.loading:
            self.changed_while_loading.add(line_id)
        self.lines.pop(line_id, None)
        self.alerts.pop(line_id, None)
        for start in self.cycle_keys.pop(line_id, ()):
            self.cycles.pop((line_id, start), None)
        for session_id in self.sessions_by_line.pop(line_id, ()):
            self.sessions.pop(session_id, None)
        self.sessions_loaded.discard(line_id)

    def track(self, session: CreditSession) -> None:
        """Keep an open session; a closed or expired one is let go."""
        if not session.is_open:
            self.untrack(session)
            return
        self.sessions[session.id] = session
        self.sessions_by_line.setdefault(session.line_id, set()).add(session.id)

    def untrack(self, session: CreditSession) -> None:
        self.sessions.pop(session.id, None)
        ids = self.sessions_by_line.get(session.line_id)
        if ids is not None:
            ids.discard(session.id)
            if not ids:
                del self.sessions_by_line[session.line_id]

    def open_sessions(self, line_id: str) -> list[CreditSession]:
        return [self.sessions[sid] for sid in self.sessions_by_line.get(line_id, ())]

    def drop_cycles(self, keys: Sequence[tuple[str, date]]) -> int:
        """Forget these cycles (the engine chose finished ones); returns how many were
        cached."""
        count = 0
        for key in keys:
            if self.cycles.pop(key, None) is not None:
                count += 1
                starts = self.cycle_keys.get(key[0])   # a shared engine's index
                if starts is not None:
                    starts.discard(key[1])
                    if not starts:
                        del self.cycle_keys[key[0]]
        return count
