"""What every channel is: `send` one outbox message, or say why it could not.

`ChannelDown` means try again later (connection refused, timeout, a 4xx); the
dispatcher retries with backoff until the channel is back. `Undeliverable`
means retrying cannot help (a refused recipient); the message is marked failed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from conso.domain.outbox import OutboxMessage, SentPart


class ChannelDown(Exception):
    """A temporary failure: the dispatcher retries the message later."""


class Undeliverable(Exception):
    """A permanent failure: the message is marked failed."""


class Channel(Protocol):
    name: str

    def send(self, message: OutboxMessage) -> None: ...
    def close(self) -> None: ...


# What a windowed channel reports of each message it was handed, later, from its own
# threads: the dispatcher records it.

@dataclass(frozen=True, slots=True)
class Sent:
    parts: tuple[SentPart, ...] = ()


@dataclass(frozen=True, slots=True)
class Retry:
    """Not sent, and not the message's fault (link lost, throttled): send it again."""

    error: str


@dataclass(frozen=True, slots=True)
class Failed:
    error: str


Outcome = Sent | Retry | Failed


@dataclass(frozen=True, slots=True)
class ReceiptEvent:
    """A delivery receipt as the channel read it. `answer` tells its sender, once
    recorded, "recorded", "unknown" (no message of ours: refused for good) or "later"
    (not recorded now: to be sent again)."""

    smsc: str
    smsc_message_id: str
    state: str | None           # a final state of domain.outbox.RECEIPT_STATES, or None
    stat: str
    answer: Callable[[str], None]


@runtime_checkable
class WindowedChannel(Protocol):
    """A channel with many messages in flight at once (SMPP's window): `submit` hands
    one over and returns; `done(outcome)` comes later from another thread."""

    name: str

    def wait_ready(self, timeout: float) -> bool: ...
    def submit(self, message: OutboxMessage, done: Callable[[Outcome], None]) -> None: ...
    def set_receipt_sink(self, sink: Callable[[ReceiptEvent], None]) -> None: ...
    def close(self) -> None: ...
