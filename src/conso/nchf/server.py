"""The Nchf listener: hypercorn, on an event loop of its own (`runtime.LoopThread`).

hypercorn because it speaks HTTP/2, over cleartext with prior knowledge (h2c, as SBI
peers in a trusted network use it) and HTTP/1.1 on the same port, and over TLS with
ALPN; uvicorn, which serves the operator API, speaks no HTTP/2. Limits against abusive
clients: concurrent streams per connection, header sizes, the body size (app.py), and
idle connections closed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sys
import time
import weakref
from collections.abc import Awaitable, Callable

import h2.errors
import h2.events
from hypercorn.asyncio import serve
from hypercorn.config import Config
from hypercorn.events import Closed
from hypercorn.protocol.h2 import H2Protocol
from priority.priority import TooManyStreamsError
from starlette.types import ASGIApp

from conso.nchf.config import NchfConfig
from conso.runtime import LoopThread

log = logging.getLogger("conso.nchf")

_HandleEvents = Callable[[H2Protocol, list[h2.events.Event]], Awaitable[None]]

# Streams an HTTP/2 peer may reset within RESET_WINDOW seconds before its connection is
# closed (ENHANCE_YOUR_CALM): an SMF cancels a request now and then, a "rapid reset"
# flood (CVE-2023-44487) thousands a second.
RESET_BUDGET = 1000
RESET_WINDOW = 10.0


class _Resets:
    """The streams one connection's peer reset in the current window."""

    __slots__ = ("count", "since")

    def __init__(self) -> None:
        self.since = time.monotonic()
        self.count = 0

    def over_budget(self, more: int) -> bool:
        now = time.monotonic()
        if now - self.since > RESET_WINDOW:
            self.since, self.count = now, 0
        self.count += more
        return self.count > RESET_BUDGET


def guard_h2_connections() -> None:
    """Keep one stream, or one flooding peer, from tearing an HTTP/2 connection down
    with an unhandled exception in hypercorn (0.18) and its stack trace in the log, and
    cut a peer that resets streams by the thousand.

    - DATA arriving for a stream already answered (a 401, 413 or 415 sent before the
      client finished sending its body) raised KeyError and lost every other stream of
      the connection (pgjones/hypercorn#329; PRs #312, #334, #365). It is now
      acknowledged, so flow control lets the client finish, and dropped: the client
      reads its answer and the connection goes on. Each DATA event is looked up right
      before hypercorn handles it, so a stream answered meanwhile cannot slip through.
    - A peer resetting more than RESET_BUDGET streams in RESET_WINDOW seconds (HEADERS
      then RST_STREAM, "rapid reset"), or opening streams faster than hypercorn cleans
      them up (its priority tree overflowed: TooManyStreamsError), has its connection
      closed with GOAWAY ENHANCE_YOUR_CALM. (hypercorn's own cap, a connection closed
      after `keep_alive_max_requests` requests, is off: it lost the answer of the
      request that crossed it, on every long-lived SMF connection.)

    Idempotent; changes hypercorn's H2Protocol for the process (conso runs no other
    hypercorn server)."""
    original: _HandleEvents = H2Protocol._handle_events
    if getattr(original, "conso_guarded", False):
        return
    resets: weakref.WeakKeyDictionary[H2Protocol, _Resets] = weakref.WeakKeyDictionary()

    async def calm_down(self: H2Protocol, why: str) -> None:
        log.warning("nchf: an HTTP/2 peer %s; connection closed", why)
        self.connection.close_connection(h2.errors.ErrorCodes.ENHANCE_YOUR_CALM)
        await self._flush()
        await self.send(Closed())

    async def handle_events(self: H2Protocol, events: list[h2.events.Event]) -> None:
        reset = sum(1 for e in events if isinstance(e, h2.events.StreamReset)
                    and e.remote_reset)
        if reset and resets.setdefault(self, _Resets()).over_budget(reset):
            await calm_down(self, f"reset more than {RESET_BUDGET} streams in "
                                  f"{RESET_WINDOW:.0f} s")
            return
        try:
            pending: list[h2.events.Event] = []
            for event in events:
                if not isinstance(event, h2.events.DataReceived):
                    pending.append(event)
                    continue
                if pending:
                    await original(self, pending)
                    pending = []
                if event.stream_id in self.streams:
                    await original(self, [event])
                else:
                    self.connection.acknowledge_received_data(
                        event.flow_controlled_length or 0, event.stream_id)
            await original(self, pending)
        except TooManyStreamsError:
            await calm_down(self, "opens streams faster than they close")

    handle_events.conso_guarded = True  # type: ignore[attr-defined]
    setattr(H2Protocol, "_handle_events", handle_events)  # noqa: B010


class NchfServer:
    def __init__(self, app: ASGIApp, config: NchfConfig) -> None:
        self.app = app
        self.config = config
        self.port = config.port
        self._loop: LoopThread | None = None
        self._stop: asyncio.Event | None = None
        self._socket: socket.socket | None = None

    def start(self) -> None:
        guard_h2_connections()
        family = socket.AF_INET6 if ":" in self.config.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.config.host, self.config.port))
        sock.listen(1024)
        sock.setblocking(False)
        self._socket = sock
        self.port = sock.getsockname()[1]
        hyper = Config()
        # hypercorn wraps the descriptor it is given in a socket of its own and closes
        # it when it stops: it gets a duplicate, so that closing ours in stop() closes
        # ours (closing the one hypercorn had closed failed with EBADF, or closed
        # whatever file had been given that number since, and the rest of the shutdown
        # was skipped).
        hyper.bind = [f"fd://{os.dup(sock.fileno())}"]
        hyper.accesslog = None
        hyper.errorlog = logging.getLogger("conso.nchf.http")
        hyper.h2_max_concurrent_streams = 100
        hyper.h2_max_header_list_size = 16 * 1024
        hyper.h11_max_incomplete_size = 16 * 1024
        hyper.keep_alive_timeout = 75
        # An SMF keeps its connection: never closed after so many requests (hypercorn's
        # default, 1000, lost the answer of the request that crossed it); floods are
        # cut by guard_h2_connections instead.
        hyper.keep_alive_max_requests = sys.maxsize
        hyper.graceful_timeout = 5
        if self.config.tls_cert and self.config.tls_key:
            hyper.certfile = self.config.tls_cert
            hyper.keyfile = self.config.tls_key
        self._loop = LoopThread("conso-nchf")
        self._loop.run(self._ready())
        self._loop.submit(self._serve(hyper))
        log.info("nchf: listening on %s://%s:%d (HTTP/2 and HTTP/1.1)", self.config.scheme,
                 self.config.host, self.port)

    async def _ready(self) -> None:
        self._stop = asyncio.Event()

    async def _serve(self, hyper: Config) -> None:
        assert self._stop is not None
        try:
            await serve(self.app, hyper, shutdown_trigger=self._stop.wait,  # type: ignore[arg-type]
                        mode="asgi")
        except Exception:
            log.exception("nchf: the HTTP/2 server stopped")

    async def _shutdown(self) -> None:
        if self._stop is not None:
            self._stop.set()
        await asyncio.sleep(0.2)

    def stop(self) -> None:
        if self._loop is None:
            return
        try:
            self._loop.run(self._shutdown(), timeout=10)
        finally:
            self._loop.close(10)
            self._loop = None
            if self._socket is not None:
                self._socket.close()
