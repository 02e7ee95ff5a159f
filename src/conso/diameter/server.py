"""The Diameter listener: connections, the peers that are open, the answers of the base
protocol, and the requests conso sends (RAR).

It runs on an event loop of its own (`runtime.LoopThread`), so the HTTP server, the
dispatcher and the charging core's threads never wait for a peer, and a peer never
waits for them except through its own requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import itertools
import logging
import time
from collections import OrderedDict
from collections.abc import Sequence

from conso.diameter import codec
from conso.diameter.codec import Message
from conso.diameter.config import DiameterConfig
from conso.diameter.dictionary import (
    BASE,
    CREDIT_CONTROL,
    FLAG_ERROR,
    FLAG_PROXIABLE,
    VENDOR_3GPP,
    Avp,
    Command,
)
from conso.diameter.peer import Connection, Handler
from conso.runtime import LoopThread

log = logging.getLogger("conso.diameter")

PRODUCT = "conso"
VENDOR_ID = 0          # conso has no IANA enterprise number
FIRMWARE = 1


class DuplicateCache:
    """Answers by (Origin-Host, End-to-End id), for requests sent again with the T flag
    (RFC 6733 §6.2.2); the oldest are forgotten first. A restart forgets them all: the
    charging core's (Session-Id, CC-Request-Number) idempotency covers that case."""

    def __init__(self, size: int = 65536) -> None:
        self.size = size
        self._answers: OrderedDict[tuple[str, int], asyncio.Future[bytes]] = OrderedDict()

    def get(self, key: tuple[str, int]) -> asyncio.Future[bytes] | None:
        return self._answers.get(key)

    def put(self, key: tuple[str, int], future: asyncio.Future[bytes]) -> None:
        self._answers[key] = future
        if len(self._answers) > self.size:
            self._answers.popitem(last=False)

    def drop(self, key: tuple[str, int]) -> None:
        self._answers.pop(key, None)


class RefusalLog:
    """Warnings about refused requests, at most `burst` a peer every `window` seconds: a
    peer sending thousands of bad requests is said once with a count, not thousands of
    times. Used from the event loop's thread only."""

    def __init__(self, burst: int = 20, window: float = 10.0) -> None:
        self.burst = burst
        self.window = window
        self._peers: dict[str, tuple[float, int, int]] = {}   # start, logged, held back

    def warn(self, peer: str, message: str, *args: object) -> None:
        now = time.monotonic()
        start, logged, held = self._peers.get(peer, (now, 0, 0))
        if now - start >= self.window:
            if held:
                log.warning("diameter peer %s: %d more refusals in %g s not logged one by one",
                            peer, held, now - start)
            start, logged, held = now, 0, 0
        if logged < self.burst:
            log.warning(message, *args)
            logged += 1
        else:
            held += 1
        self._peers[peer] = (start, logged, held)
        if len(self._peers) > 10_000:   # bounded: forget the oldest peers' counts
            self._peers.pop(next(iter(self._peers)))


class DiameterServer:
    def __init__(self, config: DiameterConfig) -> None:
        self.config = config
        self.handler: Handler = _no_handler
        self.duplicates = DuplicateCache()
        self.refusals = RefusalLog()
        self.peers: dict[str, Connection] = {}       # open connections by Origin-Host
        self.connections: set[Connection] = set()
        self.tasks: set[asyncio.Future[None]] = set()   # replays in progress
        self.state_id = int(time.time()) & 0xFFFFFFFF
        self._hop = itertools.count(1)
        self._e2e = itertools.count(1)
        self._loop: LoopThread | None = None
        self._server: asyncio.AbstractServer | None = None
        self._identity = [codec.utf8(Avp.ORIGIN_HOST, config.origin_host),
                          codec.utf8(Avp.ORIGIN_REALM, config.origin_realm)]
        self.port = config.port

    # -- life -----------------------------------------------------------------------------------

    def start(self) -> None:
        self._loop = LoopThread("conso-diameter")
        self._loop.run(self._listen())
        if self.config.peers is None:
            log.warning("CONSO_DIAMETER_PEERS is not set: any Diameter peer may connect")
        log.info("diameter: listening on %s:%d as %s (realm %s)", self.config.host,
                 self.port, self.config.origin_host, self.config.origin_realm)

    def stop(self) -> None:
        if self._loop is None:
            return
        try:
            self._loop.run(self._shutdown(), timeout=5)
        finally:
            self._loop.close(5)
            self._loop = None

    async def _listen(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._connection, self.config.host,
                                                self.config.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    def _connection(self) -> Connection:
        connection = Connection(self)
        self.connections.add(connection)
        return connection

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        # RFC 6733 §5.4: tell each open peer we go (Disconnect-Cause REBOOTING 0), briefly.
        waits = [self._disconnect(c) for c in list(self.connections) if c.is_open]
        if waits:
            await asyncio.gather(*waits, return_exceptions=True)
        for connection in list(self.connections):
            connection.close()

    async def _disconnect(self, connection: Connection) -> None:
        with contextlib.suppress(TimeoutError, ConnectionError):
            await connection.request(Command.DISCONNECT_PEER, BASE,
                                     [*self._identity, codec.u32(Avp.DISCONNECT_CAUSE, 0)],
                                     timeout=1.0)

    @property
    def loop(self) -> LoopThread:
        if self._loop is None:
            raise RuntimeError("the Diameter server is not started")
        return self._loop

    # -- peers ----------------------------------------------------------------------------------

    def opened(self, connection: Connection) -> None:
        earlier = self.peers.get(connection.peer_host)
        if earlier is not None and earlier is not connection:
            log.info("diameter peer %s connected again; requests to it go to the new link",
                     connection.peer_host)
        self.peers[connection.peer_host] = connection

    def forget(self, connection: Connection) -> None:
        self.connections.discard(connection)
        if self.peers.get(connection.peer_host) is connection:
            del self.peers[connection.peer_host]
            # another open link of the same host, if any, takes over
            for other in self.connections:
                if other.is_open and other.peer_host == connection.peer_host:
                    self.peers[other.peer_host] = other
                    break

    def identifiers(self) -> tuple[int, int]:
        """A fresh hop-by-hop id, and an end-to-end id whose high 12 bits are the time's
        low bits (RFC 6733 §3), unique across restarts for four minutes."""
        hop = next(self._hop) & 0xFFFFFFFF
        e2e = ((int(time.time()) & 0xFFF) << 20) | (next(self._e2e) & 0xFFFFF)
        return hop, e2e

    def identity(self) -> list[bytes]:
        return list(self._identity)

    async def reauthorize(self, host: str, session_id: str) -> int:
        """Send the peer a Re-Auth-Request for the session; its RAA's Result-Code."""
        connection = self.peers.get(host)
        if connection is None or not connection.is_open:
            raise ConnectionError(f"diameter peer {host} is not connected")
        answer = await connection.request(Command.RE_AUTH, CREDIT_CONTROL, [
            codec.utf8(Avp.SESSION_ID, session_id), *self._identity,
            codec.utf8(Avp.DESTINATION_REALM, connection.peer_realm),
            codec.utf8(Avp.DESTINATION_HOST, host),
            codec.u32(Avp.AUTH_APPLICATION_ID, CREDIT_CONTROL),
            codec.u32(Avp.RE_AUTH_REQUEST_TYPE, 0),     # AUTHORIZE_ONLY
        ], timeout=self.config.answer_timeout)
        result = answer.avps.find(Avp.RESULT_CODE)
        return result.u32() if result is not None else 0

    # -- answers of the base protocol -----------------------------------------------------------

    def base_answer(self, request: Message, avps: Sequence[bytes], result: int = 2001) -> bytes:
        return codec.message(request.command, request.application, [
            codec.u32(Avp.RESULT_CODE, result), *self._identity,
            codec.u32(Avp.ORIGIN_STATE_ID, self.state_id), *avps,
        ], flags=request.flags & FLAG_PROXIABLE, hop_by_hop=request.hop_by_hop,
            end_to_end=request.end_to_end)

    def capabilities_answer(self, request: Message, result: int,
                            connection: Connection) -> bytes:
        local = "127.0.0.1"
        if connection.transport is not None:
            sockname = connection.transport.get_extra_info("sockname")
            if sockname:
                local = sockname[0]
        return self.base_answer(request, [
            codec.address(Avp.HOST_IP_ADDRESS, ipaddress.ip_address(local).packed),
            codec.u32(Avp.VENDOR_ID, VENDOR_ID),
            codec.utf8(Avp.PRODUCT_NAME, PRODUCT, mandatory=False),
            codec.u32(Avp.SUPPORTED_VENDOR_ID, VENDOR_3GPP),
            codec.u32(Avp.AUTH_APPLICATION_ID, CREDIT_CONTROL),
            codec.u32(Avp.FIRMWARE_REVISION, FIRMWARE, mandatory=False),
        ], result)

    def error_answer(self, command: int, application: int, hop_by_hop: int,  # noqa: PLR0917
                     end_to_end: int, result: int, why: str, *, failed: bytes | None = None,
                     session_id: bytes | None = None) -> bytes:
        """An answer that refuses a request: the E bit for protocol errors (3xxx)."""
        avps = []
        if session_id is not None:
            avps.append(codec.avp(Avp.SESSION_ID, session_id))
        avps += [codec.u32(Avp.RESULT_CODE, result), *self._identity,
                 codec.utf8(Avp.ERROR_MESSAGE, why[:200], mandatory=False)]
        if failed is not None:
            avps.append(codec.grouped(Avp.FAILED_AVP, [failed]))
        flags = FLAG_ERROR if 3000 <= result < 4000 else 0
        return codec.message(command, application, avps, flags=flags | FLAG_PROXIABLE,
                             hop_by_hop=hop_by_hop, end_to_end=end_to_end)


async def _no_handler(message: Message, connection: Connection) -> bytes:
    raise RuntimeError("no Diameter application attached")
