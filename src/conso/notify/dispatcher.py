"""The dispatcher: delivers outbox messages through their channel, exactly once.

Each message goes queued -> sending (committed before the channel is called)
-> sent (committed after). A channel that is down leaves the message queued
with a growing delay (1 s, 2 s, 4 s ... up to `max_backoff`), forever: a
notification is never dropped because a mail server was away. A crash between
"sending" and "sent" is the one window where a message may be handed over
twice; it is re-sent with the same id, which SMTP carries as Message-ID so
the receiving side can drop the copy.

Several dispatchers may share one database (several API processes): each claims a
message with a compare-and-set from queued to sending, so only one sends it, and
a message left "sending" is queued again only once its claim is `stale_after` old
(a dispatcher that owns the database alone requeues them all when it starts).
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from conso.domain.outbox import OutboxMessage
from conso.notify.channels.base import Channel, ChannelDown, Undeliverable, WindowedChannel
from conso.notify.windowed import WindowedSender
from conso.store.base import Store

log = logging.getLogger("conso.notify")


def backoff(attempts: int, max_backoff: float) -> float:
    return float(min(max_backoff, 2 ** max(0, attempts - 1)))


class Dispatcher:
    def __init__(
        self, store: Store, channels: Mapping[str, Channel], *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        max_backoff: float = 300.0, batch_size: int = 100,
        shared: bool = False, stale_after: timedelta = timedelta(minutes=30),
    ) -> None:
        self.shared = shared
        # Longer than the slowest send there is: e-mail with RFC 5321's timeouts may take
        # 5 minutes a command and 10 after the final dot before it gives up.
        self.stale_after = stale_after
        # Other processes' messages wake no one here: a shared dispatcher looks often.
        self.max_idle = 1.0 if shared else 5.0
        self.store = store
        self.channels = dict(channels)
        self.clock = clock
        self.max_backoff = max_backoff
        self.batch_size = batch_size
        # One worker a channel: a mail server that hangs must not hold up the SMS.
        self._wakes = {name: threading.Event() for name in self.channels}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._recorders: list[tuple[WindowedSender, threading.Thread]] = []

    def register(self, name: str, channel: Channel) -> None:
        """Add a channel before `start` (a front end's pushes to the network)."""
        if self._threads:
            raise RuntimeError("channels are registered before the dispatcher starts")
        self.channels[name] = channel
        self._wakes[name] = threading.Event()

    def start(self) -> None:
        requeued = self.requeue_interrupted()
        if requeued:
            log.warning("%d message(s) were being sent when conso stopped; sending again "
                        "with the same id", requeued)
        self.run_once_unroutable()
        for name, channel in self.channels.items():
            target: Callable[[], None]
            if isinstance(channel, WindowedChannel):
                sender = self._windowed(name, channel)
                recorder = threading.Thread(target=sender.run_recorder, daemon=True,
                                            name=f"conso-recorder-{name}")
                recorder.start()
                self._recorders.append((sender, recorder))
                target = sender.run
            else:
                target = functools.partial(self._run, name)
            thread = threading.Thread(target=target, name=f"conso-dispatcher-{name}",
                                      daemon=True)
            thread.start()
            self._threads.append(thread)

    def _windowed(self, name: str, channel: WindowedChannel) -> WindowedSender:
        return WindowedSender(
            self.store, channel, clock=self.clock,
            backoff=lambda attempts: backoff(attempts, self.max_backoff),
            stop=self._stop, wake=self._wakes[name],
            idle_wait=lambda: self._idle_wait(name), batch_size=self.batch_size)

    def requeue_interrupted(self) -> int:
        """Queue again what a crash left 'sending' (when shared: claims gone stale)."""
        now = self.clock()
        with self.store.transaction() as tx:
            if self.shared:
                return tx.outbox.requeue_interrupted(now, claimed_before=now - self.stale_after)
            return tx.outbox.requeue_interrupted(now)

    def wake(self) -> None:
        for event in self._wakes.values():
            event.set()

    def stop(self, timeout: float = 10.0) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self.wake()
        for thread in self._threads:
            thread.join(timeout)
        for channel in self.channels.values():
            channel.close()
        # A closed channel has reported all it had in flight: record it, then stop.
        for sender, recorder in self._recorders:
            sender.finish()
            recorder.join(timeout)

    def _run(self, name: str) -> None:
        wake = self._wakes[name]
        while not self._stop.is_set():
            try:
                sent = self.run_once(name)
            except Exception:
                log.exception("dispatcher pass on %s failed; retrying", name)
                sent = 0
            if sent:
                continue
            wake.wait(self._idle_wait(name))
            wake.clear()

    def _idle_wait(self, channel: str) -> float:
        due = self.store.outbox.next_due_at(channel)
        if due is None:
            return self.max_idle
        return max(0.0, min(self.max_idle, (due - self.clock()).total_seconds()))

    def run_once_unroutable(self) -> None:
        """Mark failed the queued messages of channels that are not configured."""
        for message in self.store.outbox.due(self.clock(), 10_000):
            if message.channel not in self.channels:
                self._deliver(message)

    def run_once(self, channel: str | None = None) -> int:
        """Try every message that is due (on one channel, or all); return how many."""
        messages = self.store.outbox.due(self.clock(), self.batch_size, channel)
        for message in messages:
            if self._stop.is_set():
                break
            self._deliver(message)
        return len(messages)

    def _deliver(self, message: OutboxMessage) -> None:
        channel = self.channels.get(message.channel)
        if channel is None:
            with self.store.transaction() as tx:
                tx.outbox.mark_failed(message.id, f"no channel {message.channel!r} is configured",
                                      self.clock())
            return
        with self.store.transaction() as tx:
            claimed = tx.outbox.mark_sending(message.id, self.clock())
        if not claimed:
            return  # another dispatcher has it
        attempts = message.attempts + 1
        try:
            channel.send(message)
        except Undeliverable as exc:
            log.error("%s %s to %s failed for good: %s", message.channel, message.id,
                      message.to, exc)
            with self.store.transaction() as tx:
                tx.outbox.mark_failed(message.id, str(exc), self.clock())
            return
        except (ChannelDown, OSError) as exc:
            delay = backoff(attempts, self.max_backoff)
            log.warning("%s %s to %s: channel down (%s); attempt %d, next in %.0f s",
                        message.channel, message.id, message.to, exc, attempts, delay)
            with self.store.transaction() as tx:
                now = self.clock()
                tx.outbox.mark_retry(message.id, str(exc), now + timedelta(seconds=delay), now)
            return
        with self.store.transaction() as tx:
            tx.outbox.mark_sent(message.id, self.clock())
        log.debug("%s %s sent to %s", message.channel, message.id, message.to)
