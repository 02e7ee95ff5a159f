"""A sliding-window rate limiter, in memory (per process).

For limits that may be per process: texts to 1921 (sms/inbound.py), log lines. Not for
logins: their throttling must hold across API nodes and restarts, so it lives in the
store (auth.py). Pure: no I/O, and time comes in as an argument.
"""

from __future__ import annotations

import threading
from collections import deque
from datetime import datetime, timedelta


class RateLimiter:
    """At most `limit` events per key in a sliding `window`. `allow` checks and counts
    in one step under a lock, so concurrent callers never pass the limit together.
    Memory is bounded by the keys active in the last window or two: keys whose events
    all left the window are dropped, looked at or not."""

    def __init__(self, limit: int, window: timedelta) -> None:
        self.limit = limit
        self.window = window
        self._events: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()
        self._swept: datetime | None = None

    def _trim(self, key: str, now: datetime) -> deque[datetime] | None:
        """The key's events still in the window; None (and the key dropped) when none."""
        events = self._events.get(key)
        if events is None:
            return None
        cutoff = now - self.window
        while events and events[0] <= cutoff:
            events.popleft()
        if not events:
            del self._events[key]
            return None
        return events

    def _sweep(self, now: datetime) -> None:
        """Once a window, drop the keys nobody asked about whose events have all left."""
        if self._swept is not None and now - self._swept < self.window:
            return
        self._swept = now
        cutoff = now - self.window
        for key in [k for k, events in self._events.items() if events[-1] <= cutoff]:
            del self._events[key]

    def allow(self, key: str, now: datetime) -> bool:
        """Count an event if the key is under its limit; False when it is not."""
        with self._lock:
            self._sweep(now)
            events = self._trim(key, now)
            if events is None:
                events = deque()
            if len(events) >= self.limit:
                return False
            events.append(now)
            self._events[key] = events
            return True

    def blocked(self, key: str, now: datetime) -> bool:
        """Whether the key is at its limit, without counting anything."""
        with self._lock:
            events = self._trim(key, now)
            return (0 if events is None else len(events)) >= self.limit

    def __len__(self) -> int:
        """How many keys are kept."""
        with self._lock:
            return len(self._events)
