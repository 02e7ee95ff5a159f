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
    status: str = "queued"           # one of STATUSES
    attempts: int = 0
    last_error: str | None = None
    sent_at: datetime | None = None
    html: str | None = None          # an e-mail's HTML alternative to `text`
    status_changed_at: datetime | None = None


# A message's life: queued -> sending (claimed, an internal step) -> sent (the SMS
# centre or mail server took it) -> delivered | undeliverable | expired | deleted (the
# SMS centre's receipt); failed when it can never be sent.
STATUSES = ("queued", "sending", "sent", "delivered", "undeliverable", "expired",
            "deleted", "failed")
RECEIPT_STATES = ("delivered", "undeliverable", "expired", "deleted")
# Which copy of a part sent twice speaks for it: any delivered, else any still pending.
_RANK = {"delivered": 0, "sent": 1, "undeliverable": 2, "expired": 3, "deleted": 4}


def shown_status(status: str) -> str:
    """A status as api.md names it: "sending" is an internal step between two commits,
    so a message being sent is still queued."""
    return "queued" if status == "sending" else status


@dataclass(frozen=True, slots=True)
class SentPart:
    """One part of a message as the SMS centre took it: its id there names the part
    in the receipt that comes back."""

    smsc: str                        # which SMS centre (its host:port)
    smsc_message_id: str
    part: int                        # 1-based


@dataclass(frozen=True, slots=True)
class StatusChange:
    status: str
    at: datetime
    detail: str | None = None


def delivery_state(parts: list[tuple[int, str]]) -> str | None:
    """The message's state from its parts' (number, state): delivered when every part
    is, else the state of the first part that ended otherwise; None while that is not
    known yet (the message stays "sent"). A part sent twice (again after a broken link)
    counts as delivered when either copy is, and as pending while either may still be."""
    best: dict[int, str] = {}
    for number, state in parts:
        known = best.get(number)
        if known is None or _RANK.get(state, 9) < _RANK.get(known, 9):
            best[number] = state
    states = [best[number] for number in sorted(best)]
    for state in states:
        if state in RECEIPT_STATES and state != "delivered":
            return state
    if states and all(state == "delivered" for state in states):
        return "delivered"
    return None
