"""Housekeeping every `interval` seconds: closes the sessions the network stopped
reporting, lets go of cached usage of cycles long over, and runs what else the
composition root adds (a shared outbox's stale claims).

It must not raise out of its thread: a failed round is logged and the next one runs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

from conso.charging.core import Charging

log = logging.getLogger("conso.control")

# How long a finished cycle's usage stays in memory (late records still come in).
CACHED_CYCLES_AFTER_END = timedelta(days=7)


class Sweeper:
    def __init__(self, core: Charging, interval: float = 30.0,
                 also: Callable[[], object] | None = None) -> None:
        self.core = core
        self.interval = interval
        self.also = also
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="conso-sweeper", daemon=True)
        self._thread.start()

    def run_once(self) -> int:
        """One round; returns how many cached cycles it let go."""
        self.core.sweep()
        engine = self.core.engine
        evicted = engine.evict_cycles(engine.clock() - CACHED_CYCLES_AFTER_END)
        if self.also is not None:
            self.also()
        return evicted

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.run_once()
            except Exception:
                log.exception("housekeeping failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
