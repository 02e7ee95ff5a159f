"""The engine's hot state: what it keeps in memory per line, loaded on first use.

Lines, their cycle usage, their notification settings, their users' language and
e-mail, and the open credit-control sessions. Only the engine reads and writes it,
under its lock; a unit of work publishes its changes here after its commit, so the
cache never holds a change that is not durable. A shared engine (several processes
on one database) forgets it at the start of every command.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from conso.domain.alerts import AlertSettings
from conso.domain.line import Line
from conso.domain.rating import CycleUsage
from conso.domain.sessions import CreditSession
from conso.notify.compose import Recipient


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

    def forget(self) -> None:
        """Drop what other processes may have changed (a shared engine's command)."""
        self.lines.clear()
        self.cycles.clear()
        self.alerts.clear()
        self.recipients.clear()
        self.sessions.clear()
        self.sessions_by_line.clear()

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

    def evict_cycles(self, ended_before: datetime) -> int:
        old = [key for key, usage in self.cycles.items() if usage.cycle.end < ended_before]
        for key in old:
            del self.cycles[key]
        return len(old)
