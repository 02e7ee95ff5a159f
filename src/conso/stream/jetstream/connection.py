"""One nats-py client on its own event loop, driven from conso's synchronous threads.

nats-py is asyncio-only while conso is synchronous and threaded, so every connection
runs its nats-py client on an event loop of its own, in a daemon thread
(``conso.runtime.LoopThread``); ``Connection.run`` blocks the calling thread until the
loop answers, and raises ``StreamError`` when NATS refuses, fails or does not answer
within the configured timeout (plus a short grace).

This module is where NATS errors become ``StreamError``; it must not know streams,
partitions or consumers (see admin.py, publish.py, consume.py), nor run a loop of its own
beside the runtime's.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import nats.errors
from nats.aio.client import Client
from nats.js import JetStreamContext

from conso.runtime import LoopClosedError, LoopThread, LoopTimeoutError
from conso.stream.errors import StreamError

__all__ = ["GRACE", "Connection", "StreamError", "describe", "redact"]

GRACE = 2.0  # extra seconds the calling thread waits beyond the loop-side timeouts

log = logging.getLogger(__name__)
_T = TypeVar("_T")


def redact(url: str) -> str:
    """The NATS URL(s) fit for messages and logs: credentials (user, password, token) removed."""
    shown = []
    for part in url.split(","):
        split = urlsplit(part.strip())
        if split.username is None and split.password is None:
            shown.append(part.strip())
            continue
        host = split.hostname or ""
        if split.port is not None:
            host = f"{host}:{split.port}"
        shown.append(urlunsplit(split._replace(netloc=f"***@{host}")))
    return ",".join(shown)


def describe(exc: BaseException) -> str:
    """An exception as text that names its kind (nats-py's str() is often just "nats: timeout")."""
    text = str(exc).strip()
    name = type(exc).__name__
    if not text:
        return name
    return text if name in text else f"{name}: {text}"


async def _open(url: str, timeout: float, where: str) -> Client:
    """Connect; a server that is down fails the first connect at once (not after minutes)."""
    connecting = True
    errors: list[Exception] = []

    async def on_error(exc: Exception) -> None:
        if connecting:
            errors.append(exc)
        else:
            log.warning("NATS at %s: %s", where, describe(exc))

    async def on_disconnected() -> None:
        if not connecting and not nc.is_closed:  # nats-py calls this on close() too
            log.warning("NATS at %s: disconnected, reconnecting", where)

    async def on_reconnected() -> None:
        log.info("NATS at %s: reconnected", where)

    nc = Client()
    try:
        # nats-py retries a refused first connect max_reconnect_attempts times, sleeping
        # reconnect_time_wait in between (60 x 2 s by default), even with allow_reconnect
        # off: so connect with one quick retry, then switch to reconnecting forever.
        await asyncio.wait_for(
            nc.connect(
                servers=[part.strip() for part in url.split(",")],
                name="conso",
                error_cb=on_error,
                disconnected_cb=on_disconnected,
                reconnected_cb=on_reconnected,
                connect_timeout=max(1, math.ceil(timeout)),
                max_reconnect_attempts=1,
                reconnect_time_wait=0,
            ),
            timeout,
        )
    except (nats.errors.Error, OSError) as exc:  # asyncio.TimeoutError is an OSError
        await _quiet_close(nc)
        cause = describe(errors[-1]) if errors else describe(exc)
        raise StreamError(f"cannot connect to NATS at {where}: {cause}") from exc
    connecting = False
    nc.options["max_reconnect_attempts"] = -1  # options is read at each reconnect
    nc.options["reconnect_time_wait"] = 2
    return nc


async def _quiet_close(nc: Client) -> None:
    try:
        if nc.is_connected:
            await nc.flush(timeout=1)
    except (nats.errors.Error, OSError) as exc:
        log.debug("flush before close failed: %s", exc)
    try:
        await nc.close()
    except (nats.errors.Error, OSError) as exc:
        log.debug("close failed: %s", exc)


class Connection:
    """A connected nats-py client (``nc``, ``js``) on its own event-loop thread.

    Thread-safe. Connects at construction (StreamError when it cannot, within timeout).
    """

    def __init__(self, url: str, timeout: float, thread_name: str) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be > 0, not {timeout}")
        self.where = redact(url)
        self.timeout = timeout
        self._loop = LoopThread(thread_name)
        self._closed = False  # close() called
        self._close_lock = threading.Lock()
        try:
            self.nc = self.run(_open(url, timeout, self.where), "connecting to NATS")
        except BaseException:
            self._stop_loop()
            raise
        self.js: JetStreamContext = self.nc.jetstream(timeout=timeout)

    def run(self, coro: Coroutine[Any, Any, _T], what: str, timeout: float | None = None) -> _T:
        """Run coro on the loop and wait (timeout + GRACE); nats errors become StreamError.

        ``what`` names the operation in the error message; ``timeout`` defaults to the
        connection's.
        """
        limit = (self.timeout if timeout is None else timeout) + GRACE
        try:
            return self._loop.run(coro, timeout=limit)
        except LoopClosedError:
            raise StreamError(f"{what} at {self.where}: connection closed") from None
        except LoopTimeoutError:  # our wait ran out, not the coroutine
            raise StreamError(f"{what} at {self.where}: no answer within {limit:g} s") from None
        except StreamError:
            raise
        except (nats.errors.Error, OSError) as exc:
            raise StreamError(f"{what} at {self.where}: {describe(exc)}") from exc

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Flush and close the client, stop the loop and join its thread (idempotent)."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        try:
            self.run(_quiet_close(self.nc), "closing the NATS connection")
        except StreamError as exc:
            log.warning("%s", exc)
        self._stop_loop()

    def _stop_loop(self) -> None:
        self._closed = True
        self._loop.close(timeout=self.timeout + GRACE)
