"""A thread-based SMPP 3.4 client (ESME) bound as transceiver to one SMS centre (a link).

Threads per link, started by the constructor:

- the session thread connects, binds, then reads every PDU: it matches
  responses to requests by sequence number, answers enquire_link and unbind,
  sends enquire_link when the link has been quiet for `enquire_interval`, and
  reconnects with exponential backoff when the connection drops or the bind is
  refused. A submit_sm left unanswered for `timeout` seconds means the link is
  broken (sms.md): nothing more is sent on it, it is closed, and every request
  in flight fails with ConnectionLost so that its message is sent again;
- the delivery thread hands each whole text from a subscriber to
  `on_deliver(source, destination, text)`; the deliver_sm was answered at once
  when it was read (its parts put together first), so a slow handler never holds
  up the SMS centre;
- the callers' threads, in `submit_async`, take a slot of the window (at most
  `window` submit_sm outstanding, fewer after ESME_RTHROTTLED / ESME_RMSGQFUL,
  paced to `max_rate` a second) and send; the response comes back through a
  callback on the session thread.

Delivery receipts go to `on_receipt(link, receipt, answer)`: `answer(status)`
sends the deliver_sm_resp once the receipt is recorded.

Not here: what to retry (the channel's and the dispatcher's), the PDU bytes
(`pdu`), text coding (`encoding`), receipts' fields (`receipts`), the socket's
framing and request matching (`connection`), business rules (`conso.sms.inbound`).
"""

from __future__ import annotations

import logging
import queue
import random
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

from conso.sms.reassembly import Reassembler
from conso.sms.smpp import pdu as p
from conso.sms.smpp.connection import Connection
from conso.sms.smpp.encoding import read_user_data, submit_sm
from conso.sms.smpp.errors import (
    BindRefused,
    CommandFailed,
    ConnectionLost,
    NotBound,
    SmppError,
    SmppTimeout,
)
from conso.sms.smpp.receipts import Receipt, read_receipt

log = logging.getLogger("conso.smpp")

DeliverHandler = Callable[[str, str, str], None]
Answer = Callable[[int], None]
ReceiptHandler = Callable[[str, Receipt, Answer], None]
ResponseHandler = Callable[[p.Pdu | BaseException], None]

# Statuses that say "slow down", not "this message is wrong" (sms.md).
THROTTLING = frozenset({p.ESME_RTHROTTLED, p.ESME_RMSGQFUL})
_THROTTLE_PAUSE = 1.0       # the first back-off after a throttling answer, doubled up to...
_THROTTLE_PAUSE_MAX = 16.0

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
                 on_receipt: ReceiptHandler | None = None,
                 on_bound: Callable[[], None] | None = None,
                 enquire_interval: float = 30.0, timeout: float = 10.0,
                 reconnect_delay: float = 0.5, max_reconnect_delay: float = 30.0,
                 window: int = 10, max_rate: float | None = None,
                 reassembler: Reassembler | None = None) -> None:
        if window < 1:
            raise ValueError(f"the SMPP window must be at least 1, not {window}")
        if max_rate is not None and max_rate <= 0:
            raise ValueError(f"the SMPP rate must be positive, not {max_rate}")
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
        self.name = self._peer              # which SMS centre: receipts are matched by it
        self._on_receipt = on_receipt
        self._on_bound = on_bound
        self.window = window
        self._interval = 0.0 if max_rate is None else 1.0 / max_rate
        self._window_now = window           # smaller while the SMSC throttles
        self._throttle_pause = _THROTTLE_PAUSE
        self._paused_until = 0.0
        self._next_send = 0.0
        # submit_sm in flight on the current connection: sequence -> when it was sent.
        self._inflight: OrderedDict[int, float] = OrderedDict()
        # Shared by the links of one channel: a text's parts may come over several.
        self._reassembler = reassembler or Reassembler()
        self._lock = threading.Lock()
        self._state = threading.Condition(self._lock)
        self._closing = threading.Event()
        self._conn: Connection | None = None
        self._bound = False
        self._last_error: str | None = None
        self._sequence = 0
        self._deliveries: queue.Queue[tuple[str, str, str] | None] = queue.Queue()
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

    @property
    def ready(self) -> bool:
        """Bound and not paused by throttling: it will take messages (waiting for a
        slot of its window when it is full)."""
        with self._lock:
            return self._bound and time.monotonic() >= self._paused_until

    @property
    def free_slots(self) -> int:
        with self._lock:
            return max(0, self._window_now - len(self._inflight)) if self._bound else 0

    def submit(self, source: str, destination: str, text: str) -> str:
        """Send one text (a long one whole in message_payload) and wait for its answer;
        returns the SMSC's message_id."""
        done: Future[p.Pdu] = Future()

        def answered(outcome: p.Pdu | BaseException) -> None:
            if isinstance(outcome, BaseException):
                done.set_exception(outcome)
            else:
                done.set_result(outcome)

        self.submit_async(submit_sm(source, destination, text), answered)
        try:
            # The broken-link rule answers within the timeout; this is a backstop.
            response = done.result(self._timeout * 2 + 1.0)
        except FutureTimeout:
            raise SmppTimeout(f"no submit_sm_resp from {self._peer}") from None
        if response.command_status != p.ESME_ROK:
            raise CommandFailed("submit_sm", response.command_status)
        if not isinstance(response.body, p.SubmitSmResp):
            raise CommandFailed("submit_sm", p.ESME_RINVCMDID)
        return response.body.message_id

    def submit_async(self, body: p.SubmitSm, on_response: ResponseHandler, *,
                     wait: float | None = None) -> None:
        """Send a submit_sm once the window has room (waiting up to `wait`, by default
        the client's timeout); `on_response` later gets its response PDU (whatever its
        status) or the SmppError that ended it. Raises NotBound when the link cannot
        take it (down, broken, or still full after `wait`)."""
        conn, sequence = self._take_slot(self._timeout if wait is None else wait)

        def finished(future: Future[p.Pdu]) -> None:
            self._release(sequence)
            error = future.exception()
            if error is not None:
                on_response(error)
                return
            response = future.result()
            self._after_response(response.command_status)
            on_response(response)

        try:
            conn.request(p.Pdu(body, sequence), finished)
        except BaseException:
            self._release(sequence)
            raise

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

    # ------------------------------------------------------------------ the window

    def _take_slot(self, wait: float) -> tuple[Connection, int]:
        deadline = time.monotonic() + wait
        with self._state:
            while True:
                if self._closing.is_set() or not self._bound or self._conn is None:
                    state = "closed" if self._closing.is_set() else "not bound"
                    detail = f" (last error: {self._last_error})" if self._last_error else ""
                    raise NotBound(f"SMPP link to {self._peer} {state}{detail}")
                now = time.monotonic()
                start = max(self._paused_until, self._next_send)
                if len(self._inflight) < self._window_now and now >= start:
                    break
                if now >= deadline:
                    raise NotBound(f"SMPP link to {self._peer} busy: its window of "
                                   f"{self._window_now} is full")
                # Until a slot frees (notified), the pause or pacing ends, or the deadline.
                until = min(deadline, start) if start > now else deadline
                self._state.wait(max(until - now, 0.001))
            sequence = self._advance_sequence()
            self._inflight[sequence] = now
            if self._interval:
                self._next_send = max(now, self._next_send) + self._interval
            return self._conn, sequence

    def _release(self, sequence: int) -> None:
        with self._state:
            if self._inflight.pop(sequence, None) is not None:
                self._state.notify_all()

    def _after_response(self, status: int) -> None:
        with self._state:
            if status in THROTTLING:
                # Slow down, not stop: half the window, and a pause that grows while
                # the SMS centre keeps saying so.
                self._window_now = max(1, self._window_now // 2)
                self._paused_until = time.monotonic() + self._throttle_pause
                log.warning("SMSC %s throttles (%s): window %d, pausing %.1fs", self._peer,
                            p.status_name(status), self._window_now, self._throttle_pause)
                self._throttle_pause = min(self._throttle_pause * 2, _THROTTLE_PAUSE_MAX)
            elif status == p.ESME_ROK:
                self._throttle_pause = _THROTTLE_PAUSE
                if self._window_now < self.window:
                    self._window_now += 1
                    self._state.notify_all()

    def _overdue(self) -> float | None:
        """How long the oldest submit_sm in flight has waited past the timeout."""
        with self._lock:
            if not self._inflight:
                return None
            oldest = next(iter(self._inflight.values()))
        late = time.monotonic() - oldest - self._timeout
        return late if late > 0 else None

    # ------------------------------------------------------------------ requests

    def _next_sequence(self) -> int:
        with self._lock:
            return self._advance_sequence()

    def _advance_sequence(self) -> int:
        """The next sequence number (the caller holds the lock)."""
        self._sequence = self._sequence % p.MAX_SEQUENCE + 1
        return self._sequence

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
                self._window_now = self.window
                self._paused_until = 0.0
                self._state.notify_all()
        except BaseException as exc:
            with self._lock:
                self._conn = None
            conn.close(str(exc))
            raise
        log.info("SMPP bound as transceiver to %s as %r", self._peer, self.system_id)
        if self._on_bound is not None:
            self._on_bound()       # what waits for a link goes at once (sms.md)
        return conn

    def _serve(self, conn: Connection) -> str:
        """Read until the connection ends; returns why it ended."""
        reason = "closed"
        try:
            while not conn.aborted:
                self._read_once(conn, _TICK)
                self._keep_alive(conn)
                late = self._overdue()
                if late is not None:
                    # sms.md's broken-link rule: stop sending on it at once, then close.
                    with self._state:
                        self._bound = False
                    raise ConnectionLost(
                        f"no submit_sm_resp within {self._timeout:g}s: link broken, "
                        f"{len(self._inflight)} message(s) in flight sent again")
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
            self._received(conn, pdu, body)
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

    # ------------------------------------------------------------------ deliver_sm

    def _received(self, conn: Connection, pdu: p.Pdu, body: p.DeliverSm) -> None:
        """A receipt goes to `on_receipt`, which answers once it is recorded; a text is
        answered at once, put together with its other parts, and queued for the
        delivery thread when whole."""
        sequence = pdu.sequence_number

        def answer(status: int) -> None:
            try:
                conn.send(p.Pdu(p.DeliverSmResp(), sequence, status))
            except SmppError as exc:
                log.warning("deliver_sm_resp seq %d to %s not sent (%s); the SMSC will "
                            "deliver it again", sequence, self._peer, exc)

        source, destination = p.from_address(body.source), p.from_address(body.destination)
        if p.is_receipt(body):
            try:
                receipt = read_receipt(body)
            except ValueError as exc:
                log.warning("unreadable delivery receipt from %s seq %d: %s", self._peer,
                            sequence, exc)
                answer(p.ESME_RX_P_APPN)
                return
            if self._on_receipt is None:
                log.info("delivery receipt %s (%s) from %s not recorded: no handler",
                         receipt.message_id, receipt.stat, self._peer)
                answer(p.ESME_ROK)
                return
            self._on_receipt(self.name, receipt, answer)
            return
        try:
            inbound = read_user_data(body)
        except ValueError as exc:
            log.warning("deliver_sm from %s to %s refused: %s", source, destination, exc)
            answer(p.ESME_RX_P_APPN)
            return
        answer(p.ESME_ROK)
        text = self._reassembler.add(source, destination, inbound)
        if text is None:
            log.info("part %d of %d of a text from %s to %s; waiting for the rest",
                     inbound.concat.number if inbound.concat else 1,
                     inbound.concat.total if inbound.concat else 1, source, destination)
            return
        self._deliveries.put((source, destination, text))

    # ------------------------------------------------------------------ delivery thread

    def _run_deliveries(self) -> None:
        while (item := self._deliveries.get()) is not None:
            source, destination, text = item
            if self._on_deliver is None:
                log.warning("text from %s to %s dropped: no handler", source, destination)
                continue
            try:
                self._on_deliver(source, destination, text)
            except Exception:
                log.exception("handler failed for the text from %s to %s", source,
                              destination)
