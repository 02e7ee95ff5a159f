"""E-mail notifications through a real MTA: Debian's Exim on loopback (exim_support.py),
with the real dispatcher and SMTP channel (rules.md, "Notifications": in the user's
language, delivered exactly once, retried while the channel is down).

The message is checked as Exim delivered it: multipart/alternative with a text/plain
and a text/html part in UTF-8, the line, the cycle and the portal link in both, RFC 5322
headers (Date in +0000, a Message-ID under the From domain, Auto-Submitted) and the
envelope sender CONSO_EMAIL_RETURN_PATH (Exim's Return-path). Then a 451 that is
retried and delivered once, a 550 that fails without retry, and a final dot answered
12 s late (as a content-scanning MTA may) that is waited for, not sent twice.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage, MIMEPart
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from conso.bootstrap import Services, Settings, build
from conso.domain.alerts import AlertsChoice, ChannelChoice, RuleChoice
from conso.domain.outbox import OutboxMessage
from conso.notify.channels.base import ChannelDown
from conso.notify.channels.log import LogChannel
from conso.notify.channels.smtp import SmtpChannel
from conso.notify.dispatcher import Dispatcher

from .exim_support import Exim, exim_server, wait_delivered
from .helpers import wait_for
from .notify_support import outbox_rows

KING_VOICE = 300 * 60
EMAIL_FROM = "conso <noreply@conso.test>"
RETURN_PATH = "bounces@mail.conso.test"
PORTAL = "https://portal.conso.test"
PASSWORD = "correct-horse-battery"
DEADLINE = 20.0
SLOW_SECONDS = 12

_numbers = itertools.count(1)
_ids = itertools.count(1)


@dataclass
class Rig:
    services: Services
    db_path: Path
    exim: Exim

    def line(self, email: str, *, language: str = "en",
             rules: tuple[tuple[str, int], ...] = (("included_pct", 90),)) -> str:
        number = next(_numbers)
        line_id = f"+3247300{number:04d}"
        login = f"exim-user-{number}"
        engine = self.services.engine
        engine.put_user("acct", login, password=PASSWORD, role="user", email=email,
                        language=language)
        engine.put_line(line_id, account_id="acct", plan_id="king", user_login=login,
                        cycle_day=1)
        line = engine.line(line_id)
        assert line is not None
        engine.put_alerts(line, AlertsChoice(
            [RuleChoice(kind, value) for kind, value in rules],
            ChannelChoice(sms=False, email=email)), "test")
        return line_id

    def use(self, line_id: str, service: str, quantity: int) -> None:
        result = self.services.engine.apply_usage(
            [{"id": f"exim-cdr-{next(_ids)}", "line": line_id, "service": service,
              "quantity": quantity, "at": datetime.now(UTC).isoformat()}])
        assert result.accepted == 1, result

    def row(self, to: str) -> dict[str, Any]:
        (row,) = [r for r in outbox_rows(self.db_path) if r["recipient"] == to]
        return row

    def wait_status(self, to: str, status: str, deadline: float = DEADLINE) -> dict[str, Any]:
        def reached() -> dict[str, Any]:
            rows = [r for r in outbox_rows(self.db_path) if r["recipient"] == to]
            return rows[0] if rows and rows[0]["status"] == status else {}

        return wait_for(reached, f"the e-mail to {to} {status}", deadline)


@pytest.fixture
def exim() -> Iterator[Exim]:
    with exim_server(slow_seconds=SLOW_SECONDS) as server:
        yield server


@pytest.fixture
def rig(tmp_path: Path, exim: Exim) -> Iterator[Rig]:
    db_path = tmp_path / "c.db"
    # As from the environment: CONSO_SMTP_URL, CONSO_EMAIL_FROM, CONSO_EMAIL_RETURN_PATH,
    # CONSO_PORTAL_URL; the dispatcher retries after 1 s at most.
    services = build(Settings(db=f"sqlite:///{db_path}", operator_key="k",
                              smtp_url=f"smtp://127.0.0.1:{exim.port}", email_from=EMAIL_FROM,
                              email_return_path=RETURN_PATH, portal_url=PORTAL,
                              retry_max_seconds=1))
    services.engine.put_account("acct", name="Fleet", kind="business")
    try:
        yield Rig(services, db_path, exim)
    finally:
        services.close()


class _Html(HTMLParser):
    """The text of an HTML part, and every URL it refers to."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.urls: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.urls += [v or "" for k, v in attrs if k in ("href", "src", "background")]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parts_of(message: EmailMessage) -> tuple[MIMEPart, MIMEPart]:
    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    return parts[0], parts[1]


def brussels_cycle_start() -> str:
    today = datetime.now(ZoneInfo("Europe/Brussels")).date()
    return today.replace(day=1).strftime("%d/%m/%Y")


def test_a_french_notification_arrives_once_with_both_parts_and_the_rfc5322_headers(
    rig: Rig, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="conso.notify.smtp")
    to = "ann@example.com"
    rig.services.start()
    line = rig.line(to, language="fr", rules=(("extra_eur", 5),))
    rig.use(line, "voice", KING_VOICE + 30 * 60)   # 30 min beyond the bundle: EUR 6
    row = rig.wait_status(to, "sent")
    (mail,) = wait_delivered(rig.exim, to, 1)

    # The headers (RFC 5322) and the envelope sender (RFC 5321) as Exim delivered them.
    assert mail["From"] == EMAIL_FROM
    assert mail["To"] == to
    # The subject names what was reached (the EUR 5 alert); the text, the amount now.
    assert mail["Subject"] == row["subject"] == (
        "Votre consommation : 5,00 € de dépenses hors forfait")
    assert str(mail["Date"]).endswith(" +0000")
    assert mail["Date"].datetime.utcoffset() == timedelta(0)
    assert mail["Message-ID"] == f"<{row['id']}@conso.test>"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["Return-path"] == f"<{RETURN_PATH}>"
    assert f"<= {RETURN_PATH} " in rig.exim.mainlog()

    # Both parts: the same news in French, the line, the cycle, the link to its page.
    plain, html = parts_of(mail)
    text = plain.get_content()
    assert text == row["text"]
    news = "Vos dépenses hors forfait ont atteint 6,00 € ce cycle-ci (alerte à 5,00 €)."
    link = f"{PORTAL}/portal/lines/%2B{line[1:]}"
    for fragment in (news, f"Ligne : {line}", f"Cycle : du {brussels_cycle_start()} au ",
                     "5,00 € de dépenses hors forfait", link):
        assert fragment in text, (fragment, text)
    page = _Html()
    page.feed(html.get_content())
    shown = " ".join(" ".join(page.text).split())
    for fragment in (news, line, f"du {brussels_cycle_start()} au ",
                     "Voir votre ligne sur le portail"):
        assert fragment in shown, (fragment, shown)
    assert page.urls == [link]                       # nothing loaded from elsewhere
    assert not page.tags & {"img", "script", "link", "style", "iframe"}

    assert (row["attempts"], row["last_error"]) == (1, None)
    # One line logged for the message, with the queue id that Exim gave it.
    (exim_id,) = re.findall(r"\bid (\S+)\s", str(mail["Received"]))
    logged = [r.getMessage() for r in caplog.records if r.name == "conso.notify.smtp"]
    assert logged == [f"e-mail {row['id']} to {to} taken by 127.0.0.1:{rig.exim.port}, "
                      f"queue id {exim_id}"]


def test_a_451_is_retried_and_the_message_delivered_exactly_once(rig: Rig) -> None:
    to = "defer-once@example.com"
    rig.services.start()
    line = rig.line(to)
    rig.use(line, "voice", KING_VOICE * 9 // 10)
    row = rig.wait_status(to, "sent")
    assert row["attempts"] == 2 and row["last_error"] is None
    (mail,) = wait_delivered(rig.exim, to, 1)
    assert mail["Message-ID"] == f"<{row['id']}@conso.test>"
    assert "451 4.3.0" in rig.exim.mainlog() or "temporarily rejected RCPT" in rig.exim.mainlog()
    assert len(rig.exim.messages(to)) == 1


def test_a_550_fails_the_message_for_good_without_a_retry(rig: Rig) -> None:
    clock = [datetime.now(UTC) + timedelta(seconds=1)]
    dispatcher = Dispatcher(
        rig.services.store,
        {"email": SmtpChannel.from_url(f"smtp://127.0.0.1:{rig.exim.port}", EMAIL_FROM,
                                       return_path=RETURN_PATH),
         "sms": LogChannel("sms")},
        clock=lambda: clock[0], max_backoff=1)
    refused, accepted = "refuse@example.com", "accepted@example.com"
    rig.use(rig.line(refused), "voice", KING_VOICE * 9 // 10)
    rig.use(rig.line(accepted), "voice", KING_VOICE * 9 // 10)
    assert dispatcher.run_once() == 2
    for _ in range(3):                     # however long we wait, it is not tried again
        clock[0] += timedelta(seconds=10)
        assert dispatcher.run_once() == 0
    failed = rig.row(refused)
    assert (failed["status"], failed["attempts"]) == ("failed", 1)
    assert "550" in failed["last_error"] and "no such mailbox" in failed["last_error"]
    assert rig.row(accepted)["status"] == "sent"
    assert len(wait_delivered(rig.exim, accepted, 1)) == 1
    assert rig.exim.messages(refused) == []


def test_a_final_dot_answered_late_is_waited_for_and_delivered_once(rig: Rig) -> None:
    """Exim answers the final dot 12 s late; the old channel gave up after 10 s and the
    dispatcher sent the message again. With the RFC's 10 minutes it is sent once."""
    to = "slow@example.com"
    rig.services.start()
    line = rig.line(to)
    started = datetime.now(UTC)
    rig.use(line, "voice", KING_VOICE * 9 // 10)
    row = rig.wait_status(to, "sent", DEADLINE + SLOW_SECONDS)
    assert datetime.now(UTC) - started >= timedelta(seconds=SLOW_SECONDS)
    assert (row["attempts"], row["last_error"]) == (1, None)
    (mail,) = wait_delivered(rig.exim, to, 1)
    assert mail["Message-ID"] == f"<{row['id']}@conso.test>"
    assert rig.exim.mainlog().count(f"<= {RETURN_PATH} ") == 1
    assert len(rig.exim.messages(to)) == 1


def test_the_channel_waits_ten_minutes_for_the_final_dot_and_less_is_a_channel_down(
    exim: Exim,
) -> None:
    """The data timeout is the one that decides: shorter than the server's answer, the
    send is a ChannelDown (the dispatcher would send again)."""
    channel = SmtpChannel.from_url(f"smtp://127.0.0.1:{exim.port}", EMAIL_FROM)
    assert (channel.timeout, channel.data_timeout) == (300.0, 600.0)      # RFC 5321
    impatient = SmtpChannel("127.0.0.1", exim.port, sender=EMAIL_FROM, timeout=5,
                            data_timeout=1)
    message = OutboxMessage(id="impatient-1", channel="email", sender=EMAIL_FROM,
                            to="slow@impatient.test", subject="s", text="t", line_id=None,
                            rule=None, created_at=datetime.now(UTC))
    with pytest.raises(ChannelDown, match="timed out"):
        impatient.send(message)
