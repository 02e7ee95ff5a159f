"""A thread-based SMPP 3.4 client (ESME) bound as transceiver to the operator's SMSC.

Three threads per client, started by the constructor:

- the session thread connects, binds, then reads every PDU: it matches
  responses to requests by sequence number (futures), answers enquire_link and
  unbind, sends enquire_link when the link has been quiet for `enquire_interval`,
  and reconnects with exponential backoff when the connection drops or the bind
  is refused;
- the delivery thread hands each deliver_sm to `on_deliver(source, destination,
  text)` and only then answers deliver_sm_resp (status 0), so a text is
  acknowledged once handed over and the reader never waits for the callback.
  The callback runs on that one thread, one text at a time; a slow callback
  delays later texts, never the link. If it raises, the answer is
  ESME_RX_T_APPN and the SMSC delivers the text again later;
- the caller's thread, in `submit`, sends a submit_sm and waits for its response.

Not here: retries (the dispatcher's), the PDU bytes (`conso.sms.smpp.pdu`), the
socket's framing and request matching (`conso.sms.smpp.connection`), business
rules (`conso.sms.inbound`).
"""

from __future__ import annotations

import logging
import queue
import random
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout

from conso.sms.smpp import pdu as p
from conso.sms.smpp.connection import Connection
from conso.sms.smpp.errors import (
    BindRefused,
    CommandFailed,
    ConnectionLost,
    NotBound,
    SmppError,
    SmppTimeout,
)

log = logging.getLogger("conso.smpp")

DeliverHandler = Callable[[str, str, str], None]

_TICK = 0.2             # how often the reader looks up from the socket (keep-alive, close)
_UNBIND_WAIT = 2.0      # how long close() waits for unbind_resp


class SmppClient:
    """An ESME bound as transceiver; connects in the background from construction on.

    `submit` raises NotBound, ConnectionLost or SmppTimeout (all SmppUnavailable)
    when the link cannot carry the message now, CommandFailed when the SMSC
    refuses it, and ValueError when the addresses or the text cannot be encoded.
    """

    def __init__(self, host: str, port: int, system_id: str, password: str, *,
                 system_type: str = "", on_deliver: DeliverHandler | None = None,
                 enquire_interval: float = 30.0, timeout: float = 10.0,
                 reconnect_delay: float = 0.5, max_reconnect_delay: float = 30.0) -> None:
        # Fail now, not on every bind: the values must fit their C-octet strings.
        p.encode_pdu(p.Pdu(p.BindTransceiver(system_id, password, system_type), 1))
        self.host = host
        self.port = port
        self.system_id = system_id
        self.system_type = system_type
        self._password = password
        self._on_deliver = on_deliver
        self._enquire_interval = enquire_interval
        self._timeout = timeout
        self._reconnect_delay = reconnect_delay
        self._max_reconnect_delay = max_reconnect_delay
        self._peer = f"{host}:{port}"
        self._lock = threading.Lock()
        self._state = threading.Condition(self._lock)
        self._closing = threading.Event()
        self._conn: Connection | None = None
        self._bound = False
        self._last_error: str | None = None
        self._sequence = 0
        self._deliveries: queue.Queue[tuple[Connection, p.Pdu] | None] = queue.Queue()
        self._session = threading.Thread(target=self._run_session, daemon=True,
                                         name=f"smpp-session-{self._peer}")
        self._delivery = threading.Thread(target=self._run_deliveries, daemon=True,
                                          name=f"smpp-deliver-{self._peer}")
        self._session.start()
        self._delivery.start()

    # ------------------------------------------------------------------ public

    @property
    def bound(self) -> bool:
        with self._lock:
            return self._bound

    @property
    def last_error(self) -> str | None:
        """Why the last connection or bind attempt failed (None once bound)."""
        with self._lock:
            return self._last_error

    def wait_bound(self, timeout: float) -> bool:
        """Wait until bound (True) or `timeout` seconds have passed (False)."""
        with self._state:
            return self._state.wait_for(lambda: self._bound or self._closing.is_set(),
                                        timeout) and self._bound

    def submit(self, source: str, destination: str, text: str) -> str:
        """Send one text; returns the SMSC's message_id."""
        response = self._request(p.submit_sm(source, destination, text), "submit_sm")
        if not isinstance(response.body, p.SubmitSmResp):    # _request checked the command_id
            raise CommandFailed("submit_sm", p.ESME_RINVCMDID)
        return response.body.message_id

    def close(self) -> None:
        """Unbind (briefly waiting for unbind_resp), drop the connection, stop the threads."""
        with self._state:
            if self._closing.is_set():
                return
            self._closing.set()
            conn, bound = self._conn, self._bound
            self._bound = False
            self._state.notify_all()
        if conn is not None:
            if bound:
                try:
                    future = conn.request(p.Pdu(p.Unbind(), self._next_sequence()))
                    future.result(min(self._timeout, _UNBIND_WAIT))
                except (SmppError, FutureTimeout, OSError) as exc:
                    log.info("unbind from %s not acknowledged: %s", self._peer, exc)
            conn.abort()
        self._deliveries.put(None)
        for thread in (self._session, self._delivery):
            if thread is not threading.current_thread():
                thread.join(self._timeout + 1.0)
        log.info("SMPP client for %s closed", self._peer)

    # ------------------------------------------------------------------ requests

    def _next_sequence(self) -> int:
        with self._lock:
            self._sequence = self._sequence % p.MAX_SEQUENCE + 1
            return self._sequence

    def _request(self, body: p.Body, command: str) -> p.Pdu:
        with self._lock:
            conn = self._conn if self._bound else None
            reason = self._last_error
        if conn is None:
            state = "closed" if self._closing.is_set() else "not bound"
            detail = f" (last error: {reason})" if reason and not self._closing.is_set() else ""
            raise NotBound(f"SMPP link to {self._peer} {state}{detail}")
        sequence = self._next_sequence()
        future = conn.request(p.Pdu(body, sequence))
        try:
            response = future.result(self._timeout)
        except FutureTimeout:
            conn.forget(sequence)
            raise SmppTimeout(f"no {command}_resp from {self._peer} within "
                              f"{self._timeout:g}s (seq {sequence})") from None
        if response.command_status != p.ESME_ROK:
            raise CommandFailed(command, response.command_status)
        if response.command_id != body.COMMAND_ID | p.RESPONSE_BIT:
            raise CommandFailed(command, p.ESME_RINVCMDID)
        return response

    # ------------------------------------------------------------------ session thread

    def _run_session(self) -> None:
        delay = self._reconnect_delay
        while not self._closing.is_set():
            try:
                conn = self._open()
            except Exception as exc:     # the session thread must outlive any failure
                expected = isinstance(exc, (OSError, SmppError, p.PduError))
                level = logging.WARNING if expected else logging.ERROR
                if isinstance(exc, BindRefused):
                    level = logging.ERROR
                error = str(exc) or type(exc).__name__
                with self._lock:
                    self._last_error = error
                if not self._closing.is_set():
                    log.log(level, "SMPP link to %s failed: %s; retrying in %.1fs",
                            self._peer, error, delay, exc_info=not expected)
            else:
                delay = self._reconnect_delay
                reason = self._serve(conn)
                if not self._closing.is_set():
                    log.warning("SMPP link to %s lost: %s; reconnecting in %.1fs",
                                self._peer, reason, delay)
            if self._closing.wait(delay * random.uniform(0.8, 1.0)):
                break
            delay = min(delay * 2, self._max_reconnect_delay)

    def _open(self) -> Connection:
        """Connect and bind; the connection is current (not yet bound) meanwhile,
        so that close() can abort it."""
        sock = socket.create_connection((self.host, self.port), timeout=self._timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = Connection(sock, self._peer)
        with self._lock:
            if self._closing.is_set():
                conn.close("client closed")
                raise NotBound("client closed")
            self._conn = conn
        try:
            bind = p.BindTransceiver(self.system_id, self._password, self.system_type)
            future = conn.request(p.Pdu(bind, self._next_sequence()))
            deadline = time.monotonic() + self._timeout
            while not future.done():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise SmppTimeout(f"no bind_transceiver_resp within {self._timeout:g}s")
                self._read_once(conn, min(remaining, _TICK))
            response = future.result()
            if response.command_status != p.ESME_ROK:
                raise BindRefused("bind_transceiver", response.command_status)
            with self._state:
                if self._closing.is_set():
                    raise NotBound("client closed")
                self._bound = True
                self._last_error = None
                self._state.notify_all()
        except BaseException as exc:
            with self._lock:
                self._conn = None
            conn.close(str(exc))
            raise
        log.info("SMPP bound as transceiver to %s as %r", self._peer, self.system_id)
        return conn

    def _serve(self, conn: Connection) -> str:
        """Read until the connection ends; returns why it ended."""
        reason = "closed"
        try:
            while not conn.aborted:
                self._read_once(conn, _TICK)
                self._keep_alive(conn)
        except ConnectionLost as exc:
            reason = str(exc)
        except Exception as exc:
            log.exception("SMPP session with %s failed", self._peer)
            reason = f"internal error: {exc!r}"
        with self._state:
            if self._conn is conn:
                self._conn = None
                self._bound = False
                self._last_error = reason
                self._state.notify_all()
        conn.close(reason)
        return reason

    def _read_once(self, conn: Connection, wait: float) -> None:
        try:
            pdu = conn.read_pdu(wait)
        except p.PduError as exc:
            if exc.sequence_number is None:
                raise ConnectionLost(f"unreadable data from {self._peer}: {exc}") from exc
            log.warning("bad PDU from %s: %s", self._peer, exc)
            conn.send(p.Pdu(p.GenericNack(), exc.sequence_number, exc.command_status))
            return
        if pdu is not None:
            self._dispatch(conn, pdu)

    def _dispatch(self, conn: Connection, pdu: p.Pdu) -> None:
        log.debug("received %s seq %d status %s from %s", type(pdu.body).__name__,
                  pdu.sequence_number, pdu.command_status, self._peer)
        body = pdu.body
        if pdu.is_response:
            if not conn.resolve(pdu):
                log.info("unexpected %s seq %d from %s (late or unknown)",
                         type(body).__name__, pdu.sequence_number, self._peer)
        elif isinstance(body, p.DeliverSm):
            self._deliveries.put((conn, pdu))
        elif isinstance(body, p.EnquireLink):
            conn.send(p.Pdu(p.EnquireLinkResp(), pdu.sequence_number))
        elif isinstance(body, p.Unbind):
            conn.send(p.Pdu(p.UnbindResp(), pdu.sequence_number))
            conn.abort()
            raise ConnectionLost(f"{self._peer} unbound")
        else:
            conn.send(p.Pdu(p.GenericNack(), pdu.sequence_number, p.ESME_RINVCMDID))

    def _keep_alive(self, conn: Connection) -> None:
        now = time.monotonic()
        if conn.link_check is not None:
            future, deadline = conn.link_check
            if future.done():
                conn.link_check = None
            elif now > deadline:
                raise ConnectionLost(f"no enquire_link_resp within {self._timeout:g}s")
            return
        if now - conn.last_received >= self._enquire_interval:
            future = conn.request(p.Pdu(p.EnquireLink(), self._next_sequence()))
            conn.link_check = (future, now + self._timeout)

    # ------------------------------------------------------------------ delivery thread

    def _run_deliveries(self) -> None:
        while (item := self._deliveries.get()) is not None:
            conn, pdu = item
            status = self._hand_over(pdu)
            try:
                conn.send(p.Pdu(p.DeliverSmResp(), pdu.sequence_number, status))
            except SmppError as exc:
                log.warning("deliver_sm_resp seq %d not sent (%s); the SMSC will deliver "
                            "the text again", pdu.sequence_number, exc)

    def _hand_over(self, pdu: p.Pdu) -> int:
        """Give a deliver_sm to the callback; the status to answer."""
        body = pdu.body
        assert isinstance(body, p.DeliverSm)
        source, destination = p.from_address(body.source), p.from_address(body.destination)
        if p.is_receipt(body):
            log.info("delivery receipt from %s to %s ignored", source, destination)
            return p.ESME_ROK
        try:
            text = p.message_text(body)
        except ValueError as exc:
            log.warning("deliver_sm from %s to %s refused: %s", source, destination, exc)
            return p.ESME_RX_P_APPN
        if self._on_deliver is None:
            log.warning("deliver_sm from %s to %s dropped: no handler", source, destination)
            return p.ESME_ROK
        try:
            self._on_deliver(source, destination, text)
        except Exception:
            log.exception("handler failed for deliver_sm from %s to %s", source, destination)
            return p.ESME_RX_T_APPN
        return p.ESME_ROK
