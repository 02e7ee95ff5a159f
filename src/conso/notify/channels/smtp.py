"""E-mail through a real SMTP server (smtplib), one connection per message.

`CONSO_SMTP_URL` = `smtp://[user:password@]host[:port]` (plain, or STARTTLS when
`?starttls=1`), or `smtps://...` for implicit TLS. `CONSO_EMAIL_FROM` is the From
header; `CONSO_EMAIL_RETURN_PATH` the envelope sender (MAIL FROM), where bounces go
(default: the From address).

The message (RFC 5322): Date of the outbox row's creation in +0000, Message-ID
`<outbox id@domain of the From address>` (stable: a message sent twice after a crash
is recognisable as one), `Auto-Submitted: auto-generated` (RFC 3834: no auto-replies),
and multipart/alternative (text/plain, then text/html) when the row has HTML. Both
parts are UTF-8 in quoted-printable, so the message is 7-bit clean for any server.

Timeouts (RFC 5321 §4.5.3.2): `timeout` (5 min) for the connection, the greeting and
each command, `data_timeout` (10 min) for the answer to the final dot: a server that
scans the content before answering must not be given up on, or it gets the message
again and again. Once the final dot is answered 250, the message is the server's:
nothing after that (QUIT) can make it be sent again.

What this must not do: decide on retries (the dispatcher does, from ChannelDown or
Undeliverable) or touch the outbox.
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
from datetime import UTC
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

from conso.domain.outbox import OutboxMessage
from conso.notify.channels.base import ChannelDown, Undeliverable

log = logging.getLogger("conso.notify.smtp")

COMMAND_TIMEOUT = 300.0   # RFC 5321 4.5.3.2.1-5: the greeting and each command, 5 min
DATA_TIMEOUT = 600.0     # RFC 5321 4.5.3.2.6: the answer to the final dot, 10 min

# The queue id in a 250 answer to the data: Exim "OK id=1tAbCd-000123-Xy", Postfix
# "2.0.0 Ok: queued as 4Xyz", Sendmail "2.0.0 5B1Hx Message accepted for delivery".
_QUEUE_ID = re.compile(r"\bid=(\S+)|\bqueued as (\S+)", re.IGNORECASE)
_LEADING_DOT = re.compile(rb"^\.", re.MULTILINE)


def address_of(mailbox: str) -> str:
    """The bare address of `Name <local@domain>` (or of a bare address)."""
    return parseaddr(mailbox)[1] or mailbox.strip()


def domain_of(mailbox: str) -> str:
    """The domain of a mailbox's address; "localhost" when it has none."""
    local, at, domain = address_of(mailbox).rpartition("@")
    return domain.strip("[]") if at and local and domain else "localhost"


def queue_id(answer: str) -> str | None:
    found = _QUEUE_ID.search(answer)
    return next((group for group in found.groups() if group), None) if found else None


class SmtpChannel:
    name = "email"

    def __init__(self, host: str, port: int, *, sender: str, return_path: str | None = None,
                 username: str | None = None, password: str | None = None,
                 tls: str = "none", timeout: float = COMMAND_TIMEOUT,
                 data_timeout: float = DATA_TIMEOUT) -> None:
        self.host = host
        self.port = port
        self.sender = sender                      # the From header
        self.return_path = address_of(return_path or sender)  # MAIL FROM: bounces
        self.username = username
        self.password = password
        self.tls = tls
        self.timeout = timeout
        self.data_timeout = data_timeout

    @classmethod
    def from_url(cls, url: str, sender: str, *, return_path: str | None = None) -> SmtpChannel:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"bad SMTP URL {url!r}: expected smtp://[user:pass@]host[:port]")
        query = parse_qs(parts.query)
        tls = "implicit" if parts.scheme == "smtps" else (
            "starttls" if query.get("starttls", ["0"])[0] in ("1", "true", "yes") else "none")
        port = parts.port or (465 if tls == "implicit" else 25)
        return cls(parts.hostname, port, sender=sender, return_path=return_path,
                   username=unquote(parts.username) if parts.username else None,
                   password=unquote(parts.password) if parts.password else None, tls=tls)

    def message_id(self, message: OutboxMessage) -> str:
        return f"<{message.id}@{domain_of(self.sender)}>"

    def email_of(self, message: OutboxMessage) -> EmailMessage:
        """The e-mail as it goes on the wire (RFC 5322 headers, both parts)."""
        email = EmailMessage()
        created = message.created_at
        created = created.replace(tzinfo=UTC) if created.tzinfo is None else created
        email["From"] = self.sender
        email["To"] = message.to
        email["Subject"] = message.subject or "conso"
        email["Date"] = format_datetime(created.astimezone(UTC), usegmt=False)  # +0000
        email["Message-ID"] = self.message_id(message)
        email["Auto-Submitted"] = "auto-generated"
        email.set_content(message.text, cte="quoted-printable")
        if message.html is not None:
            email.add_alternative(message.html, subtype="html", cte="quoted-printable")
            for part in email.iter_parts():
                del part["MIME-Version"]  # the message's header, not a part's
        return email

    def _connect(self) -> smtplib.SMTP:
        if self.tls == "implicit":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                    context=ssl.create_default_context())
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout)

    def send(self, message: OutboxMessage) -> None:
        email = self.email_of(message)
        client: smtplib.SMTP | None = None
        try:
            client = self._connect()
            if self.tls == "starttls":
                client.starttls(context=ssl.create_default_context())
            if self.username:
                client.login(self.username, self.password or "")
            answer = self._transaction(client, email, message.to)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if all(code >= 500 for code in codes):
                raise Undeliverable(f"recipient refused: {exc.recipients}") from None
            raise ChannelDown(f"recipient deferred: {exc.recipients}") from None
        except smtplib.SMTPDataError as exc:
            # The server refused this message's content: retrying cannot help.
            if exc.smtp_code >= 500:
                raise Undeliverable(f"{exc.smtp_code} {exc.smtp_error!r}") from None
            raise ChannelDown(f"{exc.smtp_code} {exc.smtp_error!r}") from None
        except smtplib.SMTPNotSupportedError as exc:
            raise Undeliverable(str(exc)) from None
        except (smtplib.SMTPException, OSError) as exc:
            # Connection, authentication or sender problems are the channel's, not the
            # message's: keep the message and retry until the server is back.
            raise ChannelDown(f"{type(exc).__name__}: {exc}") from None
        finally:
            if client is not None:
                _quit(client)
        log.info("e-mail %s to %s taken by %s:%d, queue id %s", message.id, message.to,
                 self.host, self.port, queue_id(answer) or f"unknown (answer {answer!r})")

    def _transaction(self, client: smtplib.SMTP, email: EmailMessage, to: str) -> str:
        """MAIL, RCPT, DATA with the timeouts of RFC 5321; the answer to the final dot."""
        client.ehlo_or_helo_if_needed()
        mail_options: list[str] = []
        policy = SMTP_POLICY
        if not (self.return_path + to).isascii():
            if not client.has_extn("smtputf8"):
                raise smtplib.SMTPNotSupportedError(
                    "the server does not take non-ASCII addresses (no SMTPUTF8)")
            mail_options = ["SMTPUTF8", "BODY=8BITMIME"]
            policy = SMTP_POLICY.clone(utf8=True)
        data = email.as_bytes(policy=policy)
        code, reply = client.mail(self.return_path, mail_options)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, reply, self.return_path)
        code, reply = client.rcpt(to)
        if code not in (250, 251):
            raise smtplib.SMTPRecipientsRefused({to: (code, reply)})
        code, reply = client.docmd("DATA")
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        body = _LEADING_DOT.sub(b"..", data)
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        client.send(body + b".\r\n")
        # The server may now scan the message before answering: wait as long as it may.
        if client.sock is not None:
            client.sock.settimeout(self.data_timeout)
        code, reply = client.getreply()
        if client.sock is not None:
            client.sock.settimeout(self.timeout)
        if code != 250:
            raise smtplib.SMTPDataError(code, reply)
        return reply.decode("utf-8", "replace")

    def close(self) -> None:
        return None


def _quit(client: smtplib.SMTP, timeout: float = 10.0) -> None:
    """Say goodbye, briefly; whatever happens now, the message's fate is settled (an
    error here must not make a message the server took be sent again)."""
    try:
        if client.sock is not None:
            client.sock.settimeout(min(timeout, client.sock.gettimeout() or timeout))
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()
