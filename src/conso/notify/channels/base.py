"""What every channel is: `send` one outbox message, or say why it could not.

`ChannelDown` means try again later (connection refused, timeout, a 4xx); the
dispatcher retries with backoff until the channel is back. `Undeliverable`
means retrying cannot help (a refused recipient); the message is marked failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


class ChannelDown(Exception):
    """A temporary failure: the dispatcher retries the message later."""


class Undeliverable(Exception):
    """A permanent failure: the message is marked failed."""


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    id: str                          # stable; used as the idempotency key towards channels
    channel: str                     # "sms" | "email"
    sender: str                      # "8644", "1921", or the From address
    to: str                          # E.164 number or e-mail address
    subject: str | None
    text: str
    line_id: str | None
    rule: dict[str, Any] | None
    created_at: datetime
    status: str = "queued"           # queued | sending | sent | failed
    attempts: int = 0
    last_error: str | None = None
    sent_at: datetime | None = None


class Channel(Protocol):
    name: str

    def send(self, message: OutboxMessage) -> None: ...
    def close(self) -> None: ...
