"""E-mail notifications through a real SMTP server on loopback (aiosmtpd), with the
dispatcher and the SMTP channel: delivered once, kept and retried while the mail
server is away, delivered exactly once when it is back; a refused recipient fails
for good without retries (rules.md, "Notifications")."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from conso.bootstrap import Services, Settings, build
from conso.domain.alerts import AlertsChoice, ChannelChoice, RuleChoice
from conso.notify.channels.log import LogChannel
from conso.notify.channels.smtp import SmtpChannel
from conso.notify.dispatcher import Dispatcher

from .helpers import free_port, wait_for
from .notify_support import SmtpSink, message_id_of, outbox_rows, start_smtp, text_of

GB = 10**9
KING_VOICE = 300 * 60
EMAIL_FROM = "conso <noreply@conso.test>"
PASSWORD = "correct-horse-battery"
DEADLINE = 20.0

_numbers = itertools.count(1)
_ids = itertools.count(1)


@dataclass
class Rig:
    services: Services
    db_path: Path
    port: int
    sink: SmtpSink

    def line(self, email: str, language: str = "en") -> str:
        number = next(_numbers)
        line_id = f"+3247200{number:04d}"
        login = f"user-{number}"
        engine = self.services.engine
        engine.put_user("acct", login, password=PASSWORD, role="user", email=email,
                        language=language)
        engine.put_line(line_id, account_id="acct", plan_id="king", user_login=login,
                        cycle_day=1)
        line = engine.line(line_id)
        engine.put_alerts(line, AlertsChoice(
            [RuleChoice("included_pct", 90), RuleChoice("included_pct", 100)],
            ChannelChoice(sms=False, email=email)), "test")
        return line_id

    def cross(self, line_id: str, service: str, quantity: int) -> None:
        at = datetime.now(UTC).isoformat()
        result = self.services.engine.apply_usage(
            [{"id": f"cdr-{next(_ids)}", "line": line_id, "service": service,
              "quantity": quantity, "at": at}])
        assert result.accepted == 1, result

    def rows(self) -> list[dict[str, Any]]:
        return [r for r in outbox_rows(self.db_path) if r["channel"] == "email"]


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    port = free_port()
    sink = SmtpSink()
    db_path = tmp_path / "c.db"
    services = build(Settings(db=f"sqlite:///{db_path}", operator_key="k",
                              smtp_url=f"smtp://127.0.0.1:{port}", email_from=EMAIL_FROM,
                              retry_max_seconds=1))
    services.engine.put_account("acct", name="Fleet", kind="business")
    try:
        yield Rig(services, db_path, port, sink)
    finally:
        services.close()


def all_sent(rig: Rig, count: int) -> list[dict[str, Any]] | None:
    rows = rig.rows()
    if len(rows) == count and all(r["status"] == "sent" for r in rows):
        return rows
    return None


def test_an_email_notification_arrives_once_with_subject_and_message_id(rig: Rig) -> None:
    controller = start_smtp(rig.sink, rig.port)
    try:
        rig.services.start()
        line = rig.line("ann@example.com", language="fr")
        rig.cross(line, "voice", KING_VOICE * 9 // 10)
        (row,) = wait_for(lambda: all_sent(rig, 1), "the e-mail marked sent", DEADLINE)
        received = wait_for(rig.sink.received, "the e-mail at the server", DEADLINE)
    finally:
        controller.stop()
    assert len(received) == 1
    mail = received[0]
    assert mail["Message-ID"] == message_id_of(row["id"], EMAIL_FROM) == (
        f"<{row['id']}@conso.test>")
    assert mail["Subject"] == row["subject"]
    assert mail["Subject"] == "Votre consommation : 90 % de vos appels inclus"
    assert mail["To"] == "ann@example.com"
    assert mail["From"] == EMAIL_FROM
    assert str(mail["Date"]).endswith(" +0000")
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail.get_content_type() == "multipart/alternative"
    body = text_of(mail)
    assert row["text"] in body
    assert "270 min" in body
    html = mail.get_body(("html",))
    assert html is not None and "270 min" in html.get_content()
    assert row["attempts"] == 1 and row["last_error"] is None and row["sent_at"]


def test_a_mail_server_outage_keeps_messages_queued_then_delivers_each_exactly_once(
    rig: Rig,
) -> None:
    controller = start_smtp(rig.sink, rig.port)
    rig.services.start()
    first = rig.line("first@example.com")
    rig.cross(first, "voice", KING_VOICE * 9 // 10)
    wait_for(lambda: all_sent(rig, 1), "the first e-mail sent while the server is up", DEADLINE)

    controller.stop()                                   # the mail server goes away
    lines = [rig.line(f"fleet-{i}@example.com") for i in range(3)]
    for line in lines:
        rig.cross(line, "voice", KING_VOICE * 9 // 10)  # 90 %
        rig.cross(line, "sms", 500)                     # 100 % of the SMS
    expected = 1 + 2 * len(lines)

    def retried() -> list[dict[str, Any]] | None:
        rows = rig.rows()
        waiting = [r for r in rows if r["recipient"] != "first@example.com"]
        if len(waiting) == expected - 1 and all(
            r["status"] in ("queued", "sending") and r["attempts"] >= 2 and r["last_error"]
            for r in waiting
        ):
            return waiting
        return None

    waiting = wait_for(retried, "every new e-mail retried at least twice", DEADLINE)
    assert all(r["status"] != "failed" for r in waiting)
    assert all("refused" in r["last_error"].lower() or "connect" in r["last_error"].lower()
               for r in waiting), [r["last_error"] for r in waiting]
    assert len(rig.sink.received()) == 1

    controller = start_smtp(rig.sink, rig.port)         # back, on the same port
    try:
        rows = wait_for(lambda: all_sent(rig, expected), "every e-mail sent after the outage",
                        DEADLINE)
    finally:
        controller.stop()
    counts = rig.sink.by_message_id()
    assert counts == {message_id_of(r["id"], EMAIL_FROM): 1 for r in rows}
    assert all(r["last_error"] is None for r in rows)


def test_a_550_recipient_refusal_fails_the_message_without_retry(rig: Rig) -> None:
    rig.sink.refuse = {"nobody@example.com"}
    controller = start_smtp(rig.sink, rig.port)
    clock = [datetime.now(UTC) + timedelta(seconds=1)]
    dispatcher = Dispatcher(
        rig.services.store,
        {"email": SmtpChannel("127.0.0.1", rig.port, sender=EMAIL_FROM),
         "sms": LogChannel("sms")},
        clock=lambda: clock[0], max_backoff=1)
    try:
        bad = rig.line("nobody@example.com")
        good = rig.line("somebody@example.com")
        rig.cross(bad, "voice", KING_VOICE * 9 // 10)
        rig.cross(good, "voice", KING_VOICE * 9 // 10)
        assert dispatcher.run_once() == 2
        # However long we wait, the refused one is not tried again.
        for _ in range(3):
            clock[0] += timedelta(seconds=10)
            assert dispatcher.run_once() == 0
    finally:
        controller.stop()
    rows = {r["recipient"]: r for r in rig.rows()}
    failed = rows["nobody@example.com"]
    assert failed["status"] == "failed"
    assert failed["attempts"] == 1
    assert "550" in failed["last_error"] or "refused" in failed["last_error"]
    assert rig.sink.refused == ["nobody@example.com"]
    assert rows["somebody@example.com"]["status"] == "sent"
    assert [m["To"] for m in rig.sink.received()] == ["somebody@example.com"]


def test_backoff_grows_up_to_the_maximum_while_the_server_is_down(rig: Rig) -> None:
    """With a clock of our own: attempts are 1, 2, 4 ... seconds apart, capped."""
    start = datetime.now(UTC) + timedelta(seconds=1)
    clock = [start]
    dispatcher = Dispatcher(
        rig.services.store, {"email": SmtpChannel("127.0.0.1", rig.port, sender=EMAIL_FROM)},
        clock=lambda: clock[0], max_backoff=4)
    line = rig.line("later@example.com")
    rig.cross(line, "sms", 450)
    assert dispatcher.run_once() == 1                    # attempt 1: connection refused
    gaps = []
    for attempt in range(2, 7):
        # Not due again before its delay; due exactly when it is over.
        waited = 0
        while dispatcher.run_once() == 0:
            waited += 1
            clock[0] += timedelta(seconds=1)
            assert waited <= 10
        gaps.append(waited)
        (row,) = rig.rows()
        assert (row["status"], row["attempts"]) == ("queued", attempt)
        assert row["last_error"]
    assert gaps == [1, 2, 4, 4, 4]
    controller = start_smtp(rig.sink, rig.port)
    try:
        clock[0] += timedelta(seconds=5)
        assert dispatcher.run_once() == 1
    finally:
        controller.stop()
    (row,) = rig.rows()
    assert row["status"] == "sent"
    assert list(rig.sink.by_message_id().values()) == [1]
