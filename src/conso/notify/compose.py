"""Turning a crossed threshold into outbox messages, one per chosen channel, and an
admin's change of a line into the SMS that tells its user.

Message ids are derived from (line, cycle, threshold, channel, recipient), so
the same crossing can never produce two messages, whatever is replayed; a change's
from (line, what changed, before, after, when), so the same change queues once (the
outbox ignores an id it has).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from conso.domain.alerts import AlertSettings, Channels, Crossing, RuleKind
from conso.domain.consult import UsageSummary
from conso.domain.outbox import OutboxMessage
from conso.notify import templates
from conso.notify.email_body import DEFAULT_PORTAL_URL, email_body

NOTIFY_SHORT_CODE = "8644"
CONSULT_SHORT_CODE = "1921"
_NAMESPACE = uuid.UUID("5b0c6a5e-3c1f-4d0e-9a51-4f2b8e7a9c10")


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who reads the line's messages: their language and e-mail on file."""

    language: str
    email: str | None


def rule_view(crossing: Crossing) -> dict[str, Any]:
    view: dict[str, Any] = {"kind": crossing.rule.kind.value, "value": crossing.rule.value}
    if crossing.service is not None:
        view["service"] = crossing.service.value
    return view


def notification_messages(
    crossing: Crossing, summary: UsageSummary, settings: AlertSettings, recipient: Recipient,
    now: datetime, *, email_sender: str, limit_micros: int | None = None,
    portal_url: str = DEFAULT_PORTAL_URL, roaming_spent_micros: int | None = None,
) -> list[OutboxMessage]:
    """One message per chosen channel. An SMS carries the short text; an e-mail the
    subject, a fuller text and its HTML alternative, linking to the line's page on
    the portal at `portal_url`. For the roaming data cap (`roaming_cap_pct`),
    `limit_micros` is the cap and `roaming_spent_micros` what data outside the EU/EEA
    cost this cycle."""
    rendered = templates.notification(crossing, summary, recipient.language, limit_micros,
                                      roaming_spent_micros=roaming_spent_micros)
    targets: list[tuple[str, str, str]] = []
    channels = settings.channels
    if crossing.rule.kind in (RuleKind.LIMIT_PCT, RuleKind.ROAMING_CAP_PCT):
        # The spending limit's and the roaming data cap's own SMS from 8644, whatever
        # the chosen channels.
        channels = Channels(sms=True)
    if channels.sms:
        targets.append(("sms", NOTIFY_SHORT_CODE, summary.line))
    if channels.second_number:
        targets.append(("sms", NOTIFY_SHORT_CODE, channels.second_number))
    if channels.email:
        targets.append(("email", email_sender, channels.email))
    cycle = summary.cycle_start.date().isoformat()
    rule = rule_view(crossing)
    # A changed spending limit re-arms its thresholds: the new ones are new messages.
    key = crossing.key if crossing.rule.kind is not RuleKind.LIMIT_PCT else (
        f"{crossing.key}|limit={limit_micros}")
    email = email_body(crossing, summary, recipient.language, portal_url=portal_url,
                       limit_micros=limit_micros) if channels.email else None
    messages = []
    for channel, sender, to in targets:
        message_id = str(uuid.uuid5(_NAMESPACE, f"{summary.line}|{cycle}|{key}|{channel}|{to}"))
        if channel == "email" and email is not None:
            messages.append(OutboxMessage(
                id=message_id, channel=channel, sender=sender, to=to, subject=email.subject,
                text=email.text, html=email.html, line_id=summary.line, rule=rule,
                created_at=now))
        else:
            messages.append(OutboxMessage(
                id=message_id, channel=channel, sender=sender, to=to, subject=None,
                text=rendered.text, line_id=summary.line, rule=rule, created_at=now))
    return messages


def change_message(line_id: str, text: str, *, what: str, before: Any, after: Any,
                   now: datetime) -> OutboxMessage:
    """The SMS from 8644 telling a line's user what an admin or the operator changed
    (barring, the spending limit, a plan change that dropped it). Not a crossed
    threshold, so its `rule` is null (api.md's message shapes); its id is the change's,
    so the same change at the same moment queues nothing more."""
    key = f"{line_id}|change|{what}|{before!r}|{after!r}|{now.isoformat()}"
    return OutboxMessage(
        id=str(uuid.uuid5(_NAMESPACE, key)), channel="sms", sender=NOTIFY_SHORT_CODE,
        to=line_id, subject=None, text=text, line_id=line_id, rule=None, created_at=now)


def sms_reply(line_id: str | None, to: str, text: str, now: datetime) -> OutboxMessage:
    """A reply from 1921 (CONSULT or help): not a notification, so no rule."""
    return OutboxMessage(
        id=str(uuid.uuid4()), channel="sms", sender=CONSULT_SHORT_CODE, to=to, subject=None,
        text=text, line_id=line_id, rule=None, created_at=now,
    )

