"""Feeding a windowed channel (SMPP): many messages in flight, outcomes recorded in batches.

Three threads per channel. The claimer claims due messages (a batch, one
transaction) a batch ahead of the sender, which hands each to the channel; the
channel holds up to its window in flight and makes the sender wait when it is full.
Nothing is claimed while no link can take a message, so a message never burns an
attempt, or a back-off, on a link that is down. The recorder takes what
the channel reports from its own threads (each message's outcome, each delivery
receipt) and commits them together, one transaction a batch; a receipt is answered
to the SMS centre only once recorded.

A message whose link broke or whose SMS centre throttled is due again at once (its
outcome is Retry): it goes on another link, or on the same one when it binds again.
Only a message retried more than `free_retries` times waits a growing back-off.
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from conso.domain.outbox import OutboxMessage
from conso.notify.channels.base import (
    Failed,
    Outcome,
    ReceiptEvent,
    Retry,
    Sent,
    WindowedChannel,
)
from conso.store.base import Store

log = logging.getLogger("conso.notify")

_Item = tuple[OutboxMessage, Outcome] | ReceiptEvent | None
_MAX_BATCH = 1000
_SUMMARY_EVERY = 5.0       # seconds between two "sent so far" log lines


class WindowedSender:
    def __init__(self, store: Store, channel: WindowedChannel, *,
                 clock: Callable[[], datetime], backoff: Callable[[int], float],
                 stop: threading.Event, wake: threading.Event,
                 idle_wait: Callable[[], float], batch_size: int = 200,
                 free_retries: int = 3) -> None:
        self.store = store
        self.channel = channel
        self.clock = clock
        self.backoff = backoff
        self.batch_size = batch_size
        self.free_retries = free_retries
        self._stop = stop
        self._wake = wake
        self._idle_wait = idle_wait
        self._results: queue.Queue[_Item] = queue.Queue()
        self._claimed: queue.Queue[OutboxMessage] = queue.Queue(maxsize=batch_size)
        self._counts = {"sent": 0, "retried": 0, "failed": 0, "receipts": 0}
        self._last_summary = time.monotonic()
        channel.set_receipt_sink(self._results.put)

    # -- the sender thread and its claimer

    def run(self) -> None:
        """Hand claimed messages to the channel (waiting while its window is full), while
        a claimer thread claims the next batch: claiming never leaves the window idle."""
        claimer = threading.Thread(target=self._run_claimer, daemon=True,
                                   name=f"conso-claimer-{self.channel.name}")
        claimer.start()
        while not self._stop.is_set():
            try:
                message = self._claimed.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                self.channel.submit(message, functools.partial(self._reported, message))
            except Exception as exc:     # the channel reports; this is a backstop
                log.exception("%s %s could not be handed over", self.channel.name, message.id)
                self._reported(message, Retry(f"internal error: {exc!r}"))
        claimer.join()
        # Stopping: what was claimed and not handed over is due again now.
        while True:
            try:
                message = self._claimed.get_nowait()
            except queue.Empty:
                break
            self._reported(message, Retry("conso stopped before sending it"))

    def _run_claimer(self) -> None:
        name = self.channel.name
        while not self._stop.is_set():
            # Not ready (no link bound, or all throttled): wait on the channel, which a
            # bind wakes, never on the idle timer.
            if not self.channel.wait_ready(0.5):
                continue
            try:
                claimed = self.claim_due()
            except Exception:
                log.exception("dispatcher pass on %s failed; retrying", name)
                claimed = 0
            if claimed:
                continue
            self._wake.wait(self._idle_wait())
            self._wake.clear()

    def claim_due(self) -> int:
        """Claim what is due (one transaction) for the sender; how many were claimed.
        At most a batch waits claimed and not yet sent."""
        room = self._claimed.maxsize - self._claimed.qsize()
        if room <= 0:
            self._stop.wait(0.005)
            return 1                # not idle: the sender is busy with what is claimed
        now = self.clock()
        due = self.store.outbox.due(now, room, self.channel.name)
        if not due:
            return 0
        with self.store.transaction() as tx:
            claimed = [m for m in due if tx.outbox.mark_sending(m.id, now)]
        for message in claimed:
            self._claimed.put(message)     # room was checked: only this thread puts
        return len(claimed)

    def _reported(self, message: OutboxMessage, outcome: Outcome) -> None:
        self._results.put((message, outcome))

    # -- the recorder thread

    def run_recorder(self) -> None:
        """Record outcomes until `finish` was called and everything before it is in."""
        while True:
            item = self._results.get()
            items = [item]
            while len(items) < _MAX_BATCH:
                try:
                    items.append(self._results.get_nowait())
                except queue.Empty:
                    break
            last = items[-1] is None
            self._record([i for i in items if i is not None])
            if last:
                return

    def finish(self) -> None:
        """No more outcomes will come (the channel is closed): the recorder ends."""
        self._results.put(None)

    def _record(self, items: list[tuple[OutboxMessage, Outcome] | ReceiptEvent]) -> None:
        if not items:
            return
        attempt = 0
        while True:
            try:
                answers, retried = self._commit(items)
                break
            except Exception:
                attempt += 1
                log.exception("recording %d outcome(s) of %s failed (try %d); retrying",
                              len(items), self.channel.name, attempt)
                if self._stop.wait(min(5.0, 0.1 * 2 ** attempt)) and attempt >= 3:
                    # Stopping: what is left 'sending' is sent again at the next start,
                    # and the SMS centre delivers these receipts again.
                    for item in items:
                        if isinstance(item, ReceiptEvent):
                            item.answer("later")
                    return
        self._after_commit(items, answers, retried)

    def _commit(self, items: list[tuple[OutboxMessage, Outcome] | ReceiptEvent]
                ) -> tuple[list[tuple[ReceiptEvent, str]], bool]:
        answers: list[tuple[ReceiptEvent, str]] = []
        retried = False
        with self.store.transaction() as tx:
            now = self.clock()
            for item in items:
                if isinstance(item, ReceiptEvent):
                    found = tx.outbox.apply_receipt(item.smsc, item.smsc_message_id,
                                                    item.state, now)
                    answers.append((item, "recorded" if found else "unknown"))
                    continue
                message, outcome = item
                if isinstance(outcome, Sent):
                    tx.outbox.mark_sent(message.id, now, outcome.parts)
                elif isinstance(outcome, Failed):
                    tx.outbox.mark_failed(message.id, outcome.error, now)
                else:
                    retried = True
                    tries = message.attempts + 1
                    delay = (0.0 if tries <= self.free_retries
                             else self.backoff(tries - self.free_retries))
                    tx.outbox.mark_retry(message.id, outcome.error,
                                         now + timedelta(seconds=delay), now)
        return answers, retried

    def _after_commit(self, items: list[tuple[OutboxMessage, Outcome] | ReceiptEvent],
                      answers: list[tuple[ReceiptEvent, str]], retried: bool) -> None:
        for event, answer in answers:
            if answer == "unknown":
                log.warning("delivery receipt from %s for unknown message %s (%s) refused",
                            event.smsc, event.smsc_message_id, event.stat)
            event.answer(answer)
        for item in items:
            if isinstance(item, ReceiptEvent):
                self._counts["receipts"] += 1
                continue
            message, outcome = item
            if isinstance(outcome, Sent):
                self._counts["sent"] += 1
                log.debug("%s %s to %s sent as %s", message.channel, message.id, message.to,
                          ", ".join(p.smsc_message_id for p in outcome.parts))
            elif isinstance(outcome, Failed):
                self._counts["failed"] += 1
                log.error("%s %s to %s failed for good: %s", message.channel, message.id,
                          message.to, outcome.error)
            else:
                self._counts["retried"] += 1
                log.warning("%s %s to %s not sent (%s); sending again", message.channel,
                            message.id, message.to, outcome.error)
        if retried:
            self._wake.set()
        if time.monotonic() - self._last_summary >= _SUMMARY_EVERY:
            self._last_summary = time.monotonic()
            log.info("%s so far: %d sent, %d retried, %d failed, %d receipts recorded",
                     self.channel.name, *self._counts.values())
