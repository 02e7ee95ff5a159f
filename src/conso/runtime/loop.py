"""``LoopThread``: an asyncio event loop running in a daemon thread, driven from other threads.

Any number of threads may hand it coroutines: ``run`` blocks the calling thread until
the coroutine's outcome (its value, or its exception re-raised as is), ``submit`` returns
a ``concurrent.futures.Future`` at once. ``close`` stops the loop, cancels what still
runs on it, and joins the thread; after it, nothing more is accepted.

This module must not block its own loop: a blocking ``run`` from the loop's thread is
refused (it would wait for itself forever). It must not translate the coroutine's
errors either: only its own conditions (closed, no answer in time) are its exceptions.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["LoopClosedError", "LoopThread", "LoopTimeoutError"]

_T = TypeVar("_T")


class LoopClosedError(RuntimeError):
    """The loop was closed: the coroutine was refused, or cancelled before it answered."""


class LoopTimeoutError(TimeoutError):
    """The calling thread's wait ran out before the coroutine answered (it was cancelled).

    Distinct from a ``TimeoutError`` the coroutine raised itself, which ``run`` re-raises
    unchanged.
    """


class LoopThread:
    """An event loop of its own in a daemon thread; thread-safe, started at construction."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._loop = asyncio.new_event_loop()
        self._lock = threading.Lock()  # orders submissions before the loop's stop
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    @property
    def name(self) -> str:
        """The thread's name (also used in error messages)."""
        return self._name

    @property
    def closed(self) -> bool:
        """True once ``close`` was called: the loop is stopping or stopped."""
        return self._closed

    def in_loop_thread(self) -> bool:
        """Whether the calling thread is the loop's own."""
        return threading.current_thread() is self._thread

    def submit(self, coro: Coroutine[Any, Any, _T]) -> concurrent.futures.Future[_T]:
        """Schedule coro on the loop and return its future at once.

        Cancelling the future cancels the coroutine. Raises LoopClosedError (and closes
        coro, so that it is not reported as never awaited) once ``close`` was called.
        """
        with self._lock:
            if self._closed:
                coro.close()
                raise LoopClosedError(f"{self._name}: event loop closed")
            return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def run(self, coro: Coroutine[Any, Any, _T], timeout: float | None = None) -> _T:
        """Run coro on the loop and block until it answers; returns its value.

        An exception of the coroutine is raised as is. Raises LoopTimeoutError after
        ``timeout`` seconds (None: no limit), having cancelled the coroutine;
        LoopClosedError if the loop is closed, before or while waiting; RuntimeError when
        called from the loop's own thread. If the calling thread is interrupted while
        waiting, the coroutine is cancelled.
        """
        if self.in_loop_thread():
            coro.close()
            raise RuntimeError(f"blocking call on {self._name} from its own event-loop thread")
        future = self.submit(coro)
        try:
            try:
                return future.result(timeout)
            except TimeoutError:  # concurrent.futures.TimeoutError is TimeoutError
                if future.cancel():  # still pending: our wait ran out, not the coroutine
                    raise LoopTimeoutError(
                        f"{self._name}: no answer within {timeout:g} s") from None
                return future.result()  # done meanwhile, or the coroutine's own TimeoutError
        except concurrent.futures.CancelledError:
            if self._closed:
                raise LoopClosedError(f"{self._name}: event loop closed while waiting") from None
            raise
        except BaseException:
            future.cancel()
            raise

    def close(self, timeout: float | None = None) -> None:
        """Stop the loop and join its thread (up to ``timeout`` seconds); idempotent.

        Coroutines still running are cancelled, async generators finalized, the loop
        closed, all on its thread. Called from the loop's own thread, it stops the loop
        without joining.
        """
        with self._lock:
            if not self._closed:
                self._closed = True
                with contextlib.suppress(RuntimeError):  # the loop closed on its own meanwhile
                    self._loop.call_soon_threadsafe(self._loop.stop)
        if not self.in_loop_thread():
            self._thread.join(timeout)

    def __enter__(self) -> LoopThread:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
        finally:
            tasks = asyncio.all_tasks(self._loop)
            for task in tasks:
                task.cancel()
            if tasks:
                self._loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()
