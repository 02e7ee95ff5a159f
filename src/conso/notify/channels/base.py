"""What every channel is: `send` one outbox message, or say why it could not.

`ChannelDown` means try again later (connection refused, timeout, a 4xx); the
dispatcher retries with backoff until the channel is back. `Undeliverable`
means retrying cannot help (a refused recipient); the message is marked failed.
"""

from __future__ import annotations

from typing import Protocol

from conso.domain.outbox import OutboxMessage


class ChannelDown(Exception):
    """A temporary failure: the dispatcher retries the message later."""


class Undeliverable(Exception):
    """A permanent failure: the message is marked failed."""


class Channel(Protocol):
    name: str

    def send(self, message: OutboxMessage) -> None: ...
    def close(self) -> None: ...
