"""The HTTP/1.1 listener of the API: uvicorn's httptools protocol, with limits.

uvicorn reads headers of any size and number, keeps a connection that never sends a
byte open for ever, and accepts connections until the process runs out of file
descriptors (then /healthz goes down with the rest). This protocol refuses, in
problem+json, what api/limits.py sets:

- a request line over the header budget: 414; header fields over it, or too many: 431;
- a request line and headers not sent within the header timeout: 408 (a connection that
  sent nothing is closed without an answer);
- a body that pauses longer than the body timeout: 408, and the route sees the client
  gone;
- a connection over the cap: 503 with Retry-After, once its request line and headers
  are in (they get a second, not the header timeout);
- a request httptools cannot parse: 400.

After a refusal the answer is sent, the sending side shut, and what the client still
sends read and dropped for a moment, so that it reads the answer rather than a reset.
Everything else (parsing, the request and response cycle, keep-alive) is uvicorn's.
It must not know about routes; the body size limit is limits.BodyLimit.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, ClassVar

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from conso.api.limits import HttpLimits
from conso.api.problems import problem
from conso.web.headers import security_headers

log = logging.getLogger("conso.api")

OVER_CAPACITY_GRACE = 1.0   # seconds an over-the-cap connection has to send its request
LINGER_SECONDS = 2.0        # reading and dropping what a refused client still sends
_WARN_EVERY = 10.0          # seconds between two warnings that the cap is reached


class _Refused(Exception):
    """Raised in a parser callback to stop parsing; `_refusal` says the answer."""


class LimitedHttpProtocol(HttpToolsProtocol):
    limits: ClassVar[HttpLimits] = HttpLimits()
    _warned_at: ClassVar[float] = float("-inf")

    def __init__(self, config: Config, server_state: ServerState, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._reading_head = True       # between two requests or inside a request's head
        self._head_received = 0         # bytes received while reading this head
        self._head_size = 0             # its request target and header fields, as parsed
        self._header_count = 0
        self._in_body = False           # the head is in, the body not yet all
        self._body_seen = 0.0           # when the body last moved (loop time)
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._over_capacity = False
        self._refusal: tuple[int, str, dict[str, str]] | None = None
        self._lingering = False

    # -- connection ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        over = len(self.connections) >= self.limits.max_connections
        super().connection_made(transport)
        if over:
            self._over_capacity = True
            now = time.monotonic()
            if now - LimitedHttpProtocol._warned_at > _WARN_EVERY:
                LimitedHttpProtocol._warned_at = now
                log.warning("%d connections open, the cap: answering 503 to new ones",
                            len(self.connections) - 1)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    def eof_received(self) -> None:
        if self._lingering:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            return  # answered; what the client still sends is dropped
        self._unset_keepalive_if_required()
        if self._reading_head:
            self._head_received += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            return  # no upgrade is spoken (ws="none"): the request is answered as any
        except httptools.HttpParserError:
            status, detail, headers = self._refusal or (400, "invalid HTTP request", {})
            self._refuse(status, detail, headers)
            return
        # A request in one read, the common case, arms no timer.
        if self._reading_head and self._head_received:
            if self._head_received > self.limits.max_header_bytes:
                self._refuse(431, f"the request line and header fields are over "
                                  f"{self.limits.max_header_bytes} bytes")
            elif self._head_timer is None:
                self._arm_head_timer()
        elif self._in_body:
            self._body_seen = self.loop.time()
            if self._body_timer is None:
                self._arm_body_timer(self.limits.body_timeout)

    # -- parser callbacks ------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._reading_head = True
        self._head_size = 0
        self._header_count = 0

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        self._head_size += len(url)
        if len(self.url) > self.limits.max_header_bytes:
            self._stop(414, f"the request target is over {self.limits.max_header_bytes} bytes")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        self._head_size += len(name) + len(value) + 4
        if self._header_count > self.limits.max_headers:
            self._stop(431, f"more than {self.limits.max_headers} header fields")
        if self._head_size > self.limits.max_header_bytes:
            self._stop(431, f"the request line and header fields are over "
                            f"{self.limits.max_header_bytes} bytes")
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._reading_head = False
        self._head_received = 0
        self._cancel_head_timer()
        if self._over_capacity:
            self._stop(503, "too many connections; retry in a moment", {"Retry-After": "1"})
        super().on_headers_complete()
        self._in_body = True
        self._body_seen = self.loop.time()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_body = False
        self._cancel_body_timer()
        self._reading_head = True
        self._head_received = 0

    # -- timeouts --------------------------------------------------------------------

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        delay = self.limits.header_timeout
        if self._over_capacity:
            delay = min(delay, OVER_CAPACITY_GRACE)
        self._head_timer = self.loop.call_later(delay, self._head_timeout)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timeout(self) -> None:
        self._head_timer = None
        if self.transport.is_closing() or not self._reading_head:
            return
        if self.cycle is not None and not self.cycle.response_complete:
            self._arm_head_timer()  # an answer is being sent; the next head waits for it
            return
        if self._head_received == 0:
            self.transport.close()  # nothing asked, nothing to answer
            return
        self._refuse(408, f"the request line and headers took over "
                          f"{self.limits.header_timeout:g} seconds")

    def _arm_body_timer(self, delay: float) -> None:
        self._cancel_body_timer()
        self._body_timer = self.loop.call_later(delay, self._body_timeout)

    def _cancel_body_timer(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _body_timeout(self) -> None:
        self._body_timer = None
        cycle = self.cycle
        if self.transport.is_closing() or not self._in_body or cycle is None:
            return
        if self.flow.read_paused:
            self._body_seen = self.loop.time()  # the route is slow to read, not the client
        paused = self.loop.time() - self._body_seen
        if paused < self.limits.body_timeout:
            self._arm_body_timer(self.limits.body_timeout - paused)
            return
        if cycle.response_started:
            self.transport.close()
            return
        # The route waits for the rest of the body: it sees the client gone, and what
        # it answers is dropped (uvicorn sends nothing for a gone client).
        cycle.disconnected = True
        cycle.message_event.set()
        self._refuse(408, f"the body paused for over {self.limits.body_timeout:g} seconds")

    def _cancel_timers(self) -> None:
        self._cancel_head_timer()
        self._cancel_body_timer()

    # -- refusals --------------------------------------------------------------------

    def _stop(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        """In a parser callback: refuse the request and stop parsing."""
        self._refusal = (status, detail, headers or {})
        raise _Refused(detail)

    def send_400_response(self, msg: str) -> None:
        self._refuse(400, "invalid HTTP request")

    def _refuse(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        """Answer `status` in problem+json, close the sending side, and close the
        connection once the client stops sending or LINGER_SECONDS have passed."""
        self._refusal = None
        self._cancel_timers()
        if self._lingering or self.transport.is_closing():
            return
        self._lingering = True
        self.flow.resume_reading()
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete and not cycle.disconnected:
            # An earlier request's answer is under way: it is the last on this connection.
            cycle.keep_alive = False
            return
        log.info("refused %s: %d %s", self._peer(), status, detail)
        self.transport.write(self._answer(status, detail, headers or {}))
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)

    def _answer(self, status: int, detail: str, headers: dict[str, str]) -> bytes:
        response = problem(status, detail, headers=headers)
        content = [STATUS_LINE[status]]
        secured = security_headers(response.raw_headers, https=self.scheme == "https")
        for name, value in [*self.server_state.default_headers, *response.raw_headers,
                            *secured, (b"connection", b"close")]:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend([b"\r\n", bytes(response.body)])
        return b"".join(content)

    def _peer(self) -> str:
        return f"{self.client[0]}:{self.client[1]}" if self.client else "a client"


def protocol_class(limits: HttpLimits) -> type[LimitedHttpProtocol]:
    """The listener's protocol with these limits (uvicorn builds one per connection)."""
    return type("LimitedHttpProtocol", (LimitedHttpProtocol,), {"limits": limits})


def uvicorn_options(limits: HttpLimits) -> dict[str, Any]:
    """Keyword arguments of `uvicorn.run` for these limits. uvicorn's own
    `limit_concurrency` is left off: it answers 503 in plain text, and only once a
    request is in; the protocol does it."""
    return {
        "http": protocol_class(limits),
        "ws": "none",
        "timeout_keep_alive": limits.keepalive_timeout,
        "backlog": limits.backlog,
        "h11_max_incomplete_event_size": limits.max_header_bytes,
    }
