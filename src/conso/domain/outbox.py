"""An outbox message: what conso will send, written in the transaction that caused it.

Notifications and replies to the subscriber (SMS, e-mail) and pushes to the network
(re-authorization) are all outbox rows; a channel registered under `channel` sends
them. Pure data: no I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


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
