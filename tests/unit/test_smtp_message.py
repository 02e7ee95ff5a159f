"""The e-mail as the SMTP channel puts it on the wire (RFC 5322 and RFC 3834), its
envelope sender and timeouts (RFC 5321), and the queue id read from the server's answer.
The exchange with real servers is in tests/integration (aiosmtpd and Exim)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP
from email.policy import default as default_policy

import pytest

from conso.domain.outbox import OutboxMessage
from conso.notify.channels.smtp import SmtpChannel, domain_of, queue_id

FROM = "conso <noreply@conso.example.be>"
BRUSSELS_SUMMER = timezone(timedelta(hours=2))


def outbox(html: str | None = "<p>Vos dépenses : 12,34 €</p>", **changes: object
           ) -> OutboxMessage:
    fields: dict[str, object] = {
        "id": "6f1c2a4e-0000-5000-8000-000000000001", "channel": "email", "sender": FROM,
        "to": "ann@example.com", "subject": "Votre consommation : 12,34 €",
        "text": "Vos dépenses hors forfait atteignent 12,34 € (alerte à 10,00 €).\n"
                ".a line that starts with a dot\n",
        "line_id": "+32470000001", "rule": None,
        "created_at": datetime(2026, 7, 14, 9, 30, tzinfo=BRUSSELS_SUMMER), "html": html}
    fields.update(changes)
    return OutboxMessage(**fields)  # type: ignore[arg-type]


def on_the_wire(channel: SmtpChannel, message: OutboxMessage) -> EmailMessage:
    raw = channel.email_of(message).as_bytes(policy=SMTP)
    assert raw.isascii(), "7-bit clean: no server needs 8BITMIME for it"
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")   # CRLF only
    # Read back as a mailbox stores it (LF line ends), like the Exim test's maildir.
    return message_from_bytes(raw.replace(b"\r\n", b"\n"), policy=default_policy)


def test_headers_follow_rfc_5322_and_rfc_3834() -> None:
    mail = on_the_wire(SmtpChannel("mx", 25, sender=FROM), outbox())
    assert mail["From"] == FROM
    assert mail["To"] == "ann@example.com"
    assert mail["Subject"] == "Votre consommation : 12,34 €"
    assert mail["Date"] == "Tue, 14 Jul 2026 07:30:00 +0000"      # UTC, said as +0000
    assert mail["Message-ID"] == "<6f1c2a4e-0000-5000-8000-000000000001@conso.example.be>"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["MIME-Version"] == "1.0"


def test_the_same_outbox_row_gives_the_same_headers_when_sent_again() -> None:
    channel = SmtpChannel("mx", 25, sender=FROM)
    first, again = on_the_wire(channel, outbox()), on_the_wire(channel, outbox())
    for header in ("Message-ID", "Date", "Subject"):
        assert first[header] == again[header]


def test_a_naive_creation_time_is_taken_as_utc() -> None:
    mail = on_the_wire(SmtpChannel("mx", 25, sender=FROM),
                       outbox(created_at=datetime(2026, 1, 2, 3, 4, 5)))
    assert mail["Date"] == "Fri, 02 Jan 2026 03:04:05 +0000"


def test_text_and_html_make_a_multipart_alternative_in_utf8() -> None:
    mail = on_the_wire(SmtpChannel("mx", 25, sender=FROM), outbox())
    assert mail.get_content_type() == "multipart/alternative"
    plain, html = mail.iter_parts()
    assert (plain.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    for part in (plain, html):
        assert part.get_content_charset() == "utf-8"
        assert part["Content-Transfer-Encoding"] == "quoted-printable"
        assert part["MIME-Version"] is None
    assert plain.get_content() == outbox().text
    assert html.get_content() == "<p>Vos dépenses : 12,34 €</p>\n"


def test_without_html_the_message_is_plain_text() -> None:
    mail = on_the_wire(SmtpChannel("mx", 25, sender=FROM), outbox(html=None))
    assert mail.get_content_type() == "text/plain"
    assert mail.get_content_charset() == "utf-8"
    assert mail.get_content() == outbox().text


@pytest.mark.parametrize(("sender", "domain"), [
    ("conso <noreply@conso.example.be>", "conso.example.be"),
    ("noreply@Mail.Example.org", "Mail.Example.org"),
    ('"Conso, alerts" <a@b.example>', "b.example"),
    ("noreply@[192.0.2.1]", "192.0.2.1"),
    ("conso", "localhost"),
])
def test_the_message_id_is_under_the_from_domain(sender: str, domain: str) -> None:
    assert domain_of(sender) == domain


def test_the_envelope_sender_is_the_return_path_or_else_the_from_address() -> None:
    assert SmtpChannel("mx", 25, sender=FROM).return_path == "noreply@conso.example.be"
    channel = SmtpChannel.from_url("smtp://mx.example:2525", FROM,
                                   return_path="Bounces <bounces@conso.example.be>")
    assert channel.return_path == "bounces@conso.example.be"
    assert channel.sender == FROM
    assert (channel.host, channel.port) == ("mx.example", 2525)


def test_the_timeouts_are_rfc_5321s_unless_given() -> None:
    channel = SmtpChannel.from_url("smtps://u:p%40ss@mx.example", FROM)
    assert (channel.timeout, channel.data_timeout) == (300.0, 600.0)
    assert (channel.tls, channel.port, channel.password) == ("implicit", 465, "p@ss")
    short = SmtpChannel("mx", 25, sender=FROM, timeout=2, data_timeout=3)
    assert (short.timeout, short.data_timeout) == (2, 3)


@pytest.mark.parametrize(("answer", "found"), [
    ("OK id=1xYBBS-0002Xn-1v", "1xYBBS-0002Xn-1v"),              # Exim
    ("2.0.0 Ok: queued as 4Z8Hk71s4Jz9rr", "4Z8Hk71s4Jz9rr"),   # Postfix
    ("2.0.0 OK", None),
    ("", None),
])
def test_the_queue_id_is_read_from_the_answer_to_the_data(answer: str, found: str | None
                                                          ) -> None:
    assert queue_id(answer) == found


def test_times_are_utc_in_the_date_whatever_the_zone() -> None:
    at = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    mail = on_the_wire(SmtpChannel("mx", 25, sender=FROM), outbox(created_at=at))
    assert mail["Date"] == "Thu, 31 Dec 2026 23:30:00 +0000"
