"""The SMS channel: outbox messages through the operator's SMS centres over SMPP 3.4.

`CONSO_SMPP_URL` = one or more `smpp://system_id:password@host[:port][?system_type=X]`,
comma-separated (port 2775 by default): a bound transceiver link to each, every bound
link carrying messages (sms.md). The same links carry the texts subscribers send to
1921 (`on_deliver`) and the delivery receipts (to the dispatcher's receipt sink).

A message goes whole on one link: its text coded (GSM 03.38 or UCS-2) and split into
parts (`encoding`), each part a submit_sm asking for a delivery receipt. Its outcome,
once every part is answered: Sent (with each part's id at the SMSC), Retry (the link
or the SMSC's load, never the message: sent again at once on a link that works) or
Failed (the SMSC refused the message itself). SMPP has no idempotency key: a part
whose answer was lost may reach the handset twice once retried (at most a window's
worth per broken link).
"""

from __future__ import annotations

import functools
import itertools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from urllib.parse import parse_qs, unquote, urlsplit

from conso.domain.outbox import OutboxMessage, SentPart
from conso.notify.channels.base import (
    ChannelDown,
    Failed,
    Outcome,
    ReceiptEvent,
    Retry,
    Sent,
    Undeliverable,
)
from conso.sms.reassembly import Reassembler
from conso.sms.smpp import pdu
from conso.sms.smpp.encoding import LONG_MODES, LongMode, segments, submit_part
from conso.sms.smpp.errors import SmppUnavailable
from conso.sms.smpp.receipts import Receipt
from conso.sms.smpp.session import Answer, DeliverHandler, ReceiptHandler, SmppClient

log = logging.getLogger("conso.smpp")

DEFAULT_PORT = 2775


def long_mode_of(value: str) -> LongMode:
    """CONSO_SMPP_LONG's value, checked."""
    for mode in LONG_MODES:
        if value == mode:
            return mode
    raise ValueError(f"CONSO_SMPP_LONG must be one of {', '.join(LONG_MODES)}, not {value!r}")

# Statuses worth retrying: the SMSC is busy or unwell, not the message wrong.
TEMPORARY_STATUSES = frozenset({
    pdu.ESME_RINVBNDSTS,    # our session is not (yet / any more) in the right state
    pdu.ESME_RSYSERR,
    pdu.ESME_RMSGQFUL,
    pdu.ESME_RTHROTTLED,
    pdu.ESME_RX_T_APPN,
})


# How a receipt is answered once the dispatcher has (or has not) recorded it.
_RECEIPT_ANSWERS = {"recorded": pdu.ESME_ROK, "unknown": pdu.ESME_RX_P_APPN,
                    "later": pdu.ESME_RX_T_APPN}


class _Parts:
    """The answers to one message's parts, reported once all are in."""

    def __init__(self, link: str, count: int, done: Callable[[Outcome], None]) -> None:
        self.link = link
        self.done = done
        self._lock = threading.Lock()
        self._waiting = count
        self._parts: list[SentPart] = []
        self._failed: str | None = None
        self._retry: str | None = None

    def answer(self, number: int, outcome: pdu.Pdu | BaseException) -> None:
        with self._lock:
            if isinstance(outcome, BaseException):
                self._retry = self._retry or f"part {number}: {outcome}"
            elif outcome.command_status == pdu.ESME_ROK and isinstance(
                    outcome.body, pdu.SubmitSmResp):
                self._parts.append(SentPart(self.link, outcome.body.message_id, number))
            elif outcome.command_status in TEMPORARY_STATUSES:
                self._retry = self._retry or (
                    f"part {number}: {pdu.status_name(outcome.command_status)}")
            else:
                self._failed = self._failed or (
                    f"part {number} refused: {pdu.status_name(outcome.command_status)}")
            self._waiting -= 1
            if self._waiting:
                return
        if self._failed is not None:
            self.done(Failed(self._failed))
        elif self._retry is not None:
            self.done(Retry(self._retry))
        else:
            self.done(Sent(tuple(sorted(self._parts, key=lambda part: part.part))))

    def not_sent(self, number: int, count: int, error: str) -> None:
        """Parts `number`..`count` could not be handed to the link."""
        for missing in range(number, count + 1):
            self.answer(missing, SmppUnavailable(error))


class SmppChannel:
    name = "sms"

    def __init__(self, links: SmppClient | Sequence[SmppClient], *,
                 long_mode: str = "udh") -> None:
        self.links = [links] if isinstance(links, SmppClient) else list(links)
        if not self.links:
            raise ValueError("an SMS channel needs at least one SMPP link")
        self.long_mode = long_mode_of(long_mode)
        self._references = itertools.count(int(time.time()) & 0xFFFF)
        self._sink: Callable[[ReceiptEvent], None] | None = None
        self._ready = threading.Condition()

    # -- what the dispatcher calls

    def set_receipt_sink(self, sink: Callable[[ReceiptEvent], None]) -> None:
        self._sink = sink

    def receipt(self, link: str, receipt: Receipt, answer: Answer) -> None:
        """A link's receipt callback (session thread): to the sink, which answers."""
        sink = self._sink
        if sink is None:     # not started yet: the SMSC will deliver the receipt again
            answer(pdu.ESME_RX_T_APPN)
            return
        sink(ReceiptEvent(link, receipt.message_id, receipt.state, receipt.stat,
                          lambda outcome: answer(_RECEIPT_ANSWERS[outcome])))

    def link_bound(self) -> None:
        with self._ready:
            self._ready.notify_all()

    def wait_ready(self, timeout: float) -> bool:
        """Whether some link takes messages (bound, not paused), waiting up to `timeout`
        for one; its window may be full: the next batch is claimed meanwhile."""
        deadline = time.monotonic() + timeout
        with self._ready:
            while not any(link.ready for link in self.links):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                # Links signal a new bind; the end of a pause is seen at the next look.
                self._ready.wait(min(remaining, 0.05))
        return True

    def submit(self, message: OutboxMessage, done: Callable[[Outcome], None]) -> None:
        """Hand one message to the link with the most room; waits while every window is
        full. `done` gets the outcome later, from a link's thread (or at once)."""
        try:
            sender, to = pdu.to_address(message.sender), pdu.to_address(message.to)
            parts = segments(message.text, reference=next(self._references) & 0xFFFF,
                             long_mode=self.long_mode)
        except ValueError as exc:     # an address or a text that SMPP cannot carry
            done(Failed(str(exc)))
            return
        link = self._pick()
        if link is None:
            reasons = "; ".join(f"{link.name}: {link.last_error or 'connecting'}"
                                for link in self.links)
            done(Retry(f"no SMPP link is bound ({reasons})"))
            return
        answers = _Parts(link.name, len(parts), done)
        for number, part in enumerate(parts, start=1):
            try:
                link.submit_async(submit_part(sender, to, part),
                                  functools.partial(answers.answer, number))
            except SmppUnavailable as exc:
                answers.not_sent(number, len(parts), str(exc))
                return

    def _pick(self) -> SmppClient | None:
        """The bound link with the most free slots (its `submit_async` waits while its
        window is full), None when no link is bound."""
        bound = [link for link in self.links if link.bound]
        return max(bound, key=lambda link: link.free_slots) if bound else None

    # -- one message, waiting (tests, tools)

    def send(self, message: OutboxMessage) -> None:
        finished: Future[Outcome] = Future()
        self.submit(message, finished.set_result)
        outcome = finished.result()
        if isinstance(outcome, Retry):
            raise ChannelDown(outcome.error)
        if isinstance(outcome, Failed):
            raise Undeliverable(outcome.error)
        log.info("SMS %s from %s to %s accepted by the SMSC as %s", message.id,
                 message.sender, message.to,
                 ", ".join(part.smsc_message_id for part in outcome.parts))

    def close(self) -> None:
        for link in self.links:
            link.close()


def smpp_channel(urls: str, on_deliver: DeliverHandler | None, *, window: int = 10,
                 max_rate: float | None = None, long_mode: str = "udh",
                 enquire_interval: float = 30.0, timeout: float = 10.0) -> SmppChannel:
    """The SMS channel for `CONSO_SMPP_URL`: a link (already connecting) to each
    comma-separated SMSC, their receipts and binds wired to the channel."""
    made: list[SmppChannel] = []

    def on_receipt(link: str, receipt: Receipt, answer: Answer) -> None:
        if made:
            made[0].receipt(link, receipt, answer)
        else:
            answer(pdu.ESME_RX_T_APPN)

    def on_bound() -> None:
        if made:
            made[0].link_bound()

    urls_given = [url.strip() for url in urls.split(",") if url.strip()]
    if not urls_given:
        raise ValueError("CONSO_SMPP_URL names no SMSC")
    long_mode_of(long_mode)
    reassembler = Reassembler()
    links: list[SmppClient] = []
    try:
        for url in urls_given:
            links.append(smpp_from_url(url, on_deliver, on_receipt=on_receipt,
                                       on_bound=on_bound, window=window, max_rate=max_rate,
                                       reassembler=reassembler,
                                       enquire_interval=enquire_interval, timeout=timeout))
    except ValueError:
        for link in links:
            link.close()
        raise
    made.append(SmppChannel(links, long_mode=long_mode))
    return made[0]


def smpp_from_url(url: str, on_deliver: DeliverHandler | None, *,
                  on_receipt: ReceiptHandler | None = None,
                  on_bound: Callable[[], None] | None = None, window: int = 10,
                  max_rate: float | None = None, reassembler: Reassembler | None = None,
                  enquire_interval: float = 30.0, timeout: float = 10.0) -> SmppClient:
    """A client (already connecting) for `smpp://system_id:password@host[:port]`,
    with an optional `?system_type=X`. ValueError says what is wrong, without
    repeating the password."""
    expected = "expected smpp://system_id:password@host[:port][?system_type=X]"
    try:
        parts = urlsplit(url)
        port = parts.port or DEFAULT_PORT
    except ValueError as exc:
        raise ValueError(f"bad SMPP URL ({exc}): {expected}") from None
    if parts.scheme != "smpp":
        raise ValueError(f"bad SMPP URL: scheme {parts.scheme!r} is not smpp; {expected}")
    if not parts.hostname:
        raise ValueError(f"bad SMPP URL: no host; {expected}")
    if not parts.username:
        raise ValueError(f"bad SMPP URL: no system_id; {expected}")
    if parts.path not in ("", "/") or parts.fragment:
        raise ValueError(f"bad SMPP URL: unexpected path or fragment; {expected}")
    query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=False)
    unknown = sorted(set(query) - {"system_type"})
    if unknown:
        raise ValueError(f"bad SMPP URL: unknown parameter(s) {', '.join(unknown)}; {expected}")
    system_type = query.get("system_type", [""])[-1]
    system_id = unquote(parts.username)
    password = unquote(parts.password or "")
    for name, value, size in (("system_id", system_id, 15), ("password", password, 8),
                              ("system_type", system_type, 12)):
        if not value.isascii() or len(value) > size:
            shown = "" if name == "password" else f" {value!r}"
            raise ValueError(f"bad SMPP URL: {name}{shown} must be at most {size} ASCII "
                             "characters")
    return SmppClient(parts.hostname, port, system_id, password, system_type=system_type,
                      on_deliver=on_deliver, on_receipt=on_receipt, on_bound=on_bound,
                      window=window, max_rate=max_rate, reassembler=reassembler,
                      enquire_interval=enquire_interval, timeout=timeout)
