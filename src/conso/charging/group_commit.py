"""Group commit for session updates: updates that arrive while one group is being
committed wait and are committed together, so a busy network shares each fsync
instead of paying one per update. Answers come only after their commit.

It must not answer before the commit, nor let one update's failure fail the others.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future

from conso.charging.ports import ChargingCore, SessionAnswer, SessionUpdate


class ReportQueue:
    def __init__(self, core: ChargingCore, max_group: int = 256) -> None:
        self.core = core
        self.max_group = max_group
        self._queue: queue.SimpleQueue[tuple[SessionUpdate, Future[SessionAnswer]] | None] = \
            queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="conso-reports", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(10)
            self._thread = None

    def submit(self, update: SessionUpdate) -> Future[SessionAnswer]:
        future: Future[SessionAnswer] = Future()
        if self._thread is None:  # not started (tools, tests): apply right away
            self._settle([(update, future)])
        else:
            self._queue.put((update, future))
        return future

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group = [first]
            while len(group) < self.max_group:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._settle(group)
                    return
                group.append(item)
            self._settle(group)

    def _settle(self, group: list[tuple[SessionUpdate, Future[SessionAnswer]]]) -> None:
        try:
            answers = self.core.update_many([update for update, _ in group])
        except BaseException as exc:  # the commit failed: every update of the group did
            for _, future in group:
                future.set_exception(exc)
            return
        for (_, future), answer in zip(group, answers, strict=True):
            if isinstance(answer, Exception):
                future.set_exception(answer)
            else:
                future.set_result(answer)
