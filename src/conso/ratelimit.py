"""A sliding-window rate limiter, in memory (per process)."""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from datetime import datetime, timedelta


class RateLimiter:
    """At most `limit` events per key in a sliding `window`."""

    def __init__(self, limit: int, window: timedelta) -> None:
        self.limit = limit
        self.window = window
        self._events: dict[str, deque[datetime]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _trim(self, key: str, now: datetime) -> deque[datetime]:
        events = self._events[key]
        while events and events[0] <= now - self.window:
            events.popleft()
        if not events:
            del self._events[key]  # keep memory bounded by active keys
            return self._events[key]
        return events

    def allow(self, key: str, now: datetime) -> bool:
        """Count an event if the key is under its limit; False when it is not."""
        with self._lock:
            events = self._trim(key, now)
            if len(events) >= self.limit:
                return False
            events.append(now)
            return True

    def blocked(self, key: str, now: datetime) -> bool:
        """Whether the key is at its limit, without counting anything."""
        with self._lock:
            return len(self._trim(key, now)) >= self.limit
