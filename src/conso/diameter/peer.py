"""One Diameter connection (RFC 6733 §5): framing, the capabilities exchange, the
watchdog, disconnection, duplicate detection and the dispatch of requests.

A connection starts waiting for a CER: any other message then is answered 3010
DIAMETER_UNKNOWN_PEER and the link closed, as is a CER from a host outside the
allow-list; a peer with no application in common gets 5010. Once open, DWR, DPR and
answers to conso's own requests (RAA) are handled here and every other request goes to
the application (`Handler`), whose answers may come back in any order.

A defect in a message is answered with the Result-Code RFC 6733 prescribes (the E bit
for protocol errors, Failed-AVP where an AVP is at fault) and logged with the reason.
A defect in the framing (a bad version, a length that is not a length, a message over
the configured maximum) cannot be read past: it is answered when its header allows and
the link is closed. Nothing here blocks: the application's work runs elsewhere.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import TYPE_CHECKING

from conso.diameter import codec
from conso.diameter.codec import HEADER, Message, ProtocolError
from conso.diameter.dictionary import (
    BASE,
    CREDIT_CONTROL,
    FLAG_PROXIABLE,
    FLAG_REQUEST,
    FLAG_RETRANSMIT,
    RELAY,
    Avp,
    Command,
    Result,
)

if TYPE_CHECKING:
    from conso.diameter.server import DiameterServer

log = logging.getLogger("conso.diameter")

# The application's part: a request (CCR) in, the answer's bytes out.
Handler = Callable[[Message, "Connection"], Awaitable[bytes]]


class State(Enum):
    WAIT_CER = "wait-cer"
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


class Connection(asyncio.Protocol):
    def __init__(self, server: DiameterServer) -> None:
        self.server = server
        self.config = server.config
        self.state = State.WAIT_CER
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.remote = "?"
        self.peer_host = ""          # Origin-Host of its CER
        self.peer_realm = ""
        self.in_flight = 0
        self.paused = False            # reading paused: too many unanswered, or unread answers
        self.writes_blocked = False    # the peer reads our answers slower than we write them
        self.last_heard = time.monotonic()
        self.watchdog_sent: float | None = None
        self.watchdog: asyncio.TimerHandle | None = None
        self.pending: dict[int, asyncio.Future[Message]] = {}   # our requests, by hop-by-hop

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peername = transport.get_extra_info("peername")
        self.remote = f"{peername[0]}:{peername[1]}" if peername else "?"
        log.info("diameter connection from %s", self.remote)
        self._arm_watchdog()

    def connection_lost(self, exc: Exception | None) -> None:
        was = self.state
        self.state = State.CLOSED
        if self.watchdog is not None:
            self.watchdog.cancel()
        for future in self.pending.values():
            if not future.done():
                future.set_exception(ConnectionError(f"peer {self.name} disconnected"))
        self.pending.clear()
        self.server.forget(self)
        log.info("diameter peer %s disconnected%s%s", self.name,
                 "" if was is not State.OPEN else " (was open)",
                 f": {exc}" if exc else "")

    def data_received(self, data: bytes) -> None:
        self.last_heard = time.monotonic()
        self.watchdog_sent = None
        self.buffer += data
        self._drain()

    def _drain(self) -> None:
        """Read the whole messages of the buffer, until reading is paused: what a paused
        peer sent meanwhile waits here (and in the socket), not in conso's queues."""
        buffer = self.buffer
        while len(buffer) >= 4 and not self.paused and self.state is not State.CLOSED:
            version = buffer[0]
            length = int.from_bytes(buffer[1:4], "big")
            if version != 1 or length < HEADER or length % 4 or length > self.config.max_message:
                if version == 1 and len(buffer) < HEADER:
                    break    # a Diameter header: answer it once it is whole
                self._unframeable(version, length)
                return
            if len(buffer) < length:
                break
            raw = bytes(buffer[:length])
            del buffer[:length]
            try:
                self._received(raw)
            except Exception:   # a defect of conso's: this request fails, not the link
                log.exception("diameter peer %s: request not handled", self.name)
                _, _, flags, command, application, hbh, e2e = codec.header(raw)
                if flags & FLAG_REQUEST:
                    self.send(self.server.error_answer(command, application, hbh, e2e,
                                                       Result.UNABLE_TO_COMPLY,
                                                       "internal error"))

    def pause_writing(self) -> None:  # the peer reads slower than we answer
        self.writes_blocked = True
        self._pause()

    def resume_writing(self) -> None:
        self.writes_blocked = False
        self._resume()

    # -- what a connection is -----------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.peer_host or self.remote

    @property
    def is_open(self) -> bool:
        return self.state is State.OPEN

    def send(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def close(self) -> None:
        if self.state is not State.CLOSED:
            self.state = State.CLOSING
        if self.transport is not None:
            self.transport.close()

    async def request(self, command: int, application: int, avps: list[bytes],
                      timeout: float) -> Message:
        """Send a request of conso's own (RAR, DWR, DPR) and wait for its answer."""
        hop_by_hop, end_to_end = self.server.identifiers()
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self.pending[hop_by_hop] = future
        self.send(codec.message(command, application, avps, flags=FLAG_REQUEST | FLAG_PROXIABLE,
                                hop_by_hop=hop_by_hop, end_to_end=end_to_end))
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self.pending.pop(hop_by_hop, None)

    # -- reading ------------------------------------------------------------------------------

    def _unframeable(self, version: int, length: int) -> None:
        """The stream cannot be read past this header: answer if it is one, then close."""
        if version != 1:
            result, why = Result.UNSUPPORTED_VERSION, f"version {version} (garbage?)"
        elif length > self.config.max_message:
            result, why = Result.UNABLE_TO_COMPLY, \
                f"message of {length} bytes over the maximum {self.config.max_message}"
        else:
            result, why = Result.INVALID_MESSAGE_LENGTH, f"message length {length}"
        log.warning("diameter peer %s: %s; closing the connection", self.name, why)
        if len(self.buffer) >= HEADER and self.buffer[4] & FLAG_REQUEST:
            _, _, _, command, application, hbh, e2e = codec.header(bytes(self.buffer[:HEADER]))
            self.send(self.server.error_answer(command, application, hbh, e2e, result, why))
        self.buffer.clear()
        self.close()

    def _received(self, raw: bytes) -> None:
        try:
            message = codec.decode(raw)
        except ProtocolError as exc:
            self._refuse_raw(raw, exc)
            return
        if not message.is_request:
            self._answer_received(message)
            return
        if self.state is State.WAIT_CER:
            self._capabilities(message)
            return
        if self.state is not State.OPEN:
            return
        command, application = message.command, message.application
        if application == BASE:
            if command == Command.DEVICE_WATCHDOG:
                self.send(self.server.base_answer(message, []))
            elif command == Command.DISCONNECT_PEER:
                log.info("diameter peer %s disconnects (DPR)", self.name)
                self.send(self.server.base_answer(message, []))
                self.state = State.CLOSING
                self.server.forget(self)
                # RFC 6733 §5.4: the sender of the DPR closes; close anyway once it is read.
                asyncio.get_running_loop().call_later(1.0, self.close)
            elif command == Command.CAPABILITIES_EXCHANGE:
                self._refuse(message, Result.UNABLE_TO_COMPLY, "CER on an open connection")
            else:
                self._refuse(message, Result.COMMAND_UNSUPPORTED,
                             f"command {command} of the base application")
            return
        if application != CREDIT_CONTROL:
            self._refuse(message, Result.APPLICATION_UNSUPPORTED, f"application {application}")
            return
        if command != Command.CREDIT_CONTROL:
            self._refuse(message, Result.COMMAND_UNSUPPORTED, f"command {command}")
            return
        self._dispatch(message)

    def _refuse_raw(self, raw: bytes, exc: ProtocolError) -> None:
        _, _, flags, command, application, hbh, e2e = codec.header(raw)
        self.server.refusals.warn(self.name, "diameter peer %s: refused command %d: %s",
                                  self.name, command, exc.reason)
        if flags & FLAG_REQUEST:   # never answer an answer
            self.send(self.server.error_answer(command, application, hbh, e2e, exc.result,
                                               exc.reason, failed=exc.failed,
                                               session_id=_session_id(raw)))
        if self.state is State.WAIT_CER:
            self.close()

    def _refuse(self, message: Message, result: int, why: str,
                failed: bytes | None = None) -> None:
        self.server.refusals.warn(self.name, "diameter peer %s: refused command %d: %s (%d)",
                                  self.name, message.command, why, result)
        session = message.avps.find(Avp.SESSION_ID)
        self.send(self.server.error_answer(
            message.command, message.application, message.hop_by_hop, message.end_to_end,
            result, why, failed=failed, session_id=session.data if session else None))

    def _answer_received(self, message: Message) -> None:
        future = self.pending.get(message.hop_by_hop)
        if future is None:
            if message.command != Command.DEVICE_WATCHDOG:
                log.warning("diameter peer %s: answer %d to no request of ours (hop-by-hop %d)",
                            self.name, message.command, message.hop_by_hop)
            return
        if not future.done():
            future.set_result(message)

    def _capabilities(self, message: Message) -> None:
        if message.command != Command.CAPABILITIES_EXCHANGE or message.application != BASE:
            self._refuse(message, Result.UNKNOWN_PEER,
                         f"command {message.command} before the capabilities exchange")
            self.close()
            return
        try:
            codec.check(message.avps)
            host = message.avps.need(Avp.ORIGIN_HOST).text()
            realm = message.avps.need(Avp.ORIGIN_REALM).text()
        except ProtocolError as exc:
            self._refuse(message, exc.result, exc.reason, exc.failed)
            self.close()
            return
        allowed = self.config.peers
        if allowed is not None and host not in allowed:
            log.warning("diameter CER from %s (%s) refused: not in CONSO_DIAMETER_PEERS",
                        host, self.remote)
            self.send(self.server.error_answer(
                message.command, message.application, message.hop_by_hop, message.end_to_end,
                Result.UNKNOWN_PEER, f"{host} is not an allowed peer"))
            self.close()
            return
        if not _speaks_credit_control(message):
            log.warning("diameter CER from %s refused: no application in common", host)
            self.send(self.server.capabilities_answer(message, Result.NO_COMMON_APPLICATION,
                                                      self))
            self.close()
            return
        self.peer_host, self.peer_realm = host, realm
        self.state = State.OPEN
        self.send(self.server.capabilities_answer(message, Result.SUCCESS, self))
        self.server.opened(self)
        log.info("diameter peer %s (realm %s) connected from %s", host, realm, self.remote)

    # -- requests to the application ----------------------------------------------------------

    def _dispatch(self, message: Message) -> None:
        key = (self.peer_host, message.end_to_end)
        duplicates = self.server.duplicates
        if message.flags & FLAG_RETRANSMIT:
            earlier = duplicates.get(key)
            if earlier is not None:
                replay = asyncio.ensure_future(self._replay(earlier, message.hop_by_hop))
                self.server.tasks.add(replay)
                replay.add_done_callback(self.server.tasks.discard)
                return
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        duplicates.put(key, future)
        self.in_flight += 1
        if self.in_flight >= self.config.max_in_flight:
            self._pause()
        task = asyncio.ensure_future(self.server.handler(message, self))
        task.add_done_callback(lambda done: self._answered(done, message, future))

    def _answered(self, done: asyncio.Future[bytes], message: Message,
                  future: asyncio.Future[bytes]) -> None:
        self.in_flight -= 1
        self._resume()   # when few are left unanswered and the peer reads its answers
        try:
            answer = done.result()
        except Exception as exc:  # a failure of conso, not of the peer: 5012, logged
            log.exception("diameter request from %s failed", self.name)
            session = message.avps.find(Avp.SESSION_ID)
            answer = self.server.error_answer(
                message.command, message.application, message.hop_by_hop,
                message.end_to_end, Result.UNABLE_TO_COMPLY,
                f"internal error: {type(exc).__name__}",
                session_id=session.data if session else None)
            self.server.duplicates.drop((self.peer_host, message.end_to_end))
        if not future.done():
            future.set_result(answer)
        self.send(answer)   # a peer gone meanwhile: dropped; it retransmits elsewhere

    async def _replay(self, earlier: asyncio.Future[bytes], hop_by_hop: int) -> None:
        answer = await asyncio.shield(earlier)
        log.info("diameter peer %s: retransmission answered from the duplicate cache",
                 self.name)
        self.send(answer[:12] + hop_by_hop.to_bytes(4, "big") + answer[16:])

    def _pause(self) -> None:
        if not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()

    def _resume(self) -> None:
        """Read again once both reasons to stop are gone: few requests unanswered (below
        half the maximum, so that it does not flap) and the peer reading its answers."""
        if not self.paused or self.writes_blocked \
                or self.in_flight >= self.config.max_in_flight // 2:
            return
        if self.transport is not None and not self.transport.is_closing():
            self.paused = False
            self.transport.resume_reading()
            asyncio.get_running_loop().call_soon(self._drain)

    # -- the watchdog (RFC 3539) -----------------------------------------------------------------

    def _arm_watchdog(self) -> None:
        loop = asyncio.get_running_loop()
        self.watchdog = loop.call_later(self.config.watchdog_seconds, self._watch)

    def _watch(self) -> None:
        if self.state is State.CLOSED:
            return
        now = time.monotonic()
        tw = self.config.watchdog_seconds
        if self.state is State.WAIT_CER and now - self.last_heard >= tw:
            log.warning("diameter connection %s sent no CER within %g s; closed", self.remote, tw)
            self.close()
            return
        if self.watchdog_sent is not None and now - self.watchdog_sent >= tw:
            log.warning("diameter peer %s answered no DWR within %g s; closed", self.name, tw)
            self.close()
            return
        if self.state is State.OPEN and self.watchdog_sent is None and now - self.last_heard >= tw:
            self.watchdog_sent = now
            hop_by_hop, end_to_end = self.server.identifiers()
            self.send(codec.message(Command.DEVICE_WATCHDOG, BASE, self.server.identity(),
                                    flags=FLAG_REQUEST, hop_by_hop=hop_by_hop,
                                    end_to_end=end_to_end))
        self._arm_watchdog()


def _speaks_credit_control(cer: Message) -> bool:
    for avp in cer.avps:
        if avp.code == Avp.AUTH_APPLICATION_ID and avp.vendor == 0 \
                and avp.u32() in (CREDIT_CONTROL, RELAY):
            return True
        if avp.code == Avp.VENDOR_SPECIFIC_APPLICATION_ID and avp.vendor == 0:
            inner = avp.group().find(Avp.AUTH_APPLICATION_ID)
            if inner is not None and inner.u32() == CREDIT_CONTROL:
                return True
    return False


def _session_id(raw: bytes) -> bytes | None:
    """The Session-Id of a message that did not decode, when its first AVP is one."""
    if len(raw) >= HEADER + 8 and int.from_bytes(raw[HEADER:HEADER + 4], "big") == Avp.SESSION_ID:
        length = int.from_bytes(raw[HEADER + 5:HEADER + 8], "big")
        if 8 < length <= len(raw) - HEADER and not raw[HEADER + 4] & 0x80:
            return raw[HEADER + 8:HEADER + length]
    return None

