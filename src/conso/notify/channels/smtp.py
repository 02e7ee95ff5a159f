"""E-mail through a real SMTP server (smtplib), one connection per message.

`CONSO_SMTP_URL` = `smtp://[user:password@]host[:port]` (plain, or STARTTLS when
`?starttls=1`), or `smtps://...` for implicit TLS. The outbox id becomes the
Message-ID, so a message sent twice after a crash can be recognised as one.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import parse_qs, unquote, urlsplit

from conso.domain.outbox import OutboxMessage
from conso.notify.channels.base import ChannelDown, Undeliverable


class SmtpChannel:
    name = "email"

    def __init__(self, host: str, port: int, *, sender: str, username: str | None = None,
                 password: str | None = None, tls: str = "none", timeout: float = 10.0) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.username = username
        self.password = password
        self.tls = tls
        self.timeout = timeout

    @classmethod
    def from_url(cls, url: str, sender: str) -> SmtpChannel:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"bad SMTP URL {url!r}: expected smtp://[user:pass@]host[:port]")
        query = parse_qs(parts.query)
        tls = "implicit" if parts.scheme == "smtps" else (
            "starttls" if query.get("starttls", ["0"])[0] in ("1", "true", "yes") else "none")
        port = parts.port or (465 if tls == "implicit" else 25)
        return cls(parts.hostname, port, sender=sender,
                   username=unquote(parts.username) if parts.username else None,
                   password=unquote(parts.password) if parts.password else None, tls=tls)

    def _email(self, message: OutboxMessage) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = message.to
        email["Subject"] = message.subject or "conso"
        email["Date"] = formatdate(message.created_at.timestamp(), localtime=False)
        email["Message-ID"] = f"<{message.id}@conso>"
        email.set_content(message.text)
        return email

    def send(self, message: OutboxMessage) -> None:
        email = self._email(message)
        try:
            if self.tls == "implicit":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout,
                    context=ssl.create_default_context())
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with client:
                if self.tls == "starttls":
                    client.starttls(context=ssl.create_default_context())
                if self.username:
                    client.login(self.username, self.password or "")
                client.send_message(email)
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
        except (smtplib.SMTPException, OSError) as exc:
            # Connection, authentication or sender problems are the channel's, not the
            # message's: keep the message and retry until the server is back.
            raise ChannelDown(f"{type(exc).__name__}: {exc}") from None

    def close(self) -> None:
        return None
