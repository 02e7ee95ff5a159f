"""The SMS channel: outbox messages through the operator's SMS centre over SMPP 3.4
(one bound transceiver link).

`CONSO_SMPP_URL` = `smpp://system_id:password@host[:port][?system_type=X]`
(port 2775 by default). The same link carries the texts subscribers send to
1921 (deliver_sm) to the `on_deliver` callback.

This module only maps the link's failures onto the channel's two outcomes:
`ChannelDown` (retry later) and `Undeliverable` (give up). SMPP 3.4 has no
idempotency key, so a submit_sm whose response was lost (timeout, dropped
connection) may reach the subscriber twice once retried.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, unquote, urlsplit

from conso.domain.outbox import OutboxMessage
from conso.notify.channels.base import ChannelDown, Undeliverable
from conso.sms.smpp import pdu
from conso.sms.smpp.errors import CommandFailed, SmppUnavailable
from conso.sms.smpp.session import DeliverHandler, SmppClient

log = logging.getLogger("conso.smpp")

DEFAULT_PORT = 2775

# Statuses worth retrying: the SMSC is busy or unwell, not the message wrong.
TEMPORARY_STATUSES = frozenset({
    pdu.ESME_RINVBNDSTS,    # our session is not (yet / any more) in the right state
    pdu.ESME_RSYSERR,
    pdu.ESME_RMSGQFUL,
    pdu.ESME_RTHROTTLED,
    pdu.ESME_RX_T_APPN,
})


class SmppChannel:
    name = "sms"

    def __init__(self, client: SmppClient) -> None:
        self.client = client

    def send(self, message: OutboxMessage) -> None:
        try:
            message_id = self.client.submit(message.sender, message.to, message.text)
        except SmppUnavailable as exc:
            raise ChannelDown(str(exc)) from None
        except CommandFailed as exc:
            if exc.command_status in TEMPORARY_STATUSES:
                raise ChannelDown(str(exc)) from None
            raise Undeliverable(str(exc)) from None
        except ValueError as exc:     # an address or a text that SMPP cannot carry
            raise Undeliverable(str(exc)) from None
        log.info("SMS %s from %s to %s accepted by the SMSC as %s", message.id,
                 message.sender, message.to, message_id)

    def close(self) -> None:
        self.client.close()


def smpp_from_url(url: str, on_deliver: DeliverHandler | None, *,
                  enquire_interval: float = 30.0, timeout: float = 10.0) -> SmppClient:
    """A client (already connecting) for `smpp://system_id:password@host[:port]`,
    with an optional `?system_type=X`. ValueError says what is wrong, without
    repeating the password."""
    expected = "expected smpp://system_id:password@host[:port][?system_type=X]"
    try:
        parts = urlsplit(url)
        port = parts.port or DEFAULT_PORT
    except ValueError as exc:
        raise ValueError(f"bad SMPP URL ({exc}): {expected}") from None
    if parts.scheme != "smpp":
        raise ValueError(f"bad SMPP URL: scheme {parts.scheme!r} is not smpp; {expected}")
    if not parts.hostname:
        raise ValueError(f"bad SMPP URL: no host; {expected}")
    if not parts.username:
        raise ValueError(f"bad SMPP URL: no system_id; {expected}")
    if parts.path not in ("", "/") or parts.fragment:
        raise ValueError(f"bad SMPP URL: unexpected path or fragment; {expected}")
    query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=False)
    unknown = sorted(set(query) - {"system_type"})
    if unknown:
        raise ValueError(f"bad SMPP URL: unknown parameter(s) {', '.join(unknown)}; {expected}")
    system_type = query.get("system_type", [""])[-1]
    system_id = unquote(parts.username)
    password = unquote(parts.password or "")
    for name, value, size in (("system_id", system_id, 15), ("password", password, 8),
                              ("system_type", system_type, 12)):
        if not value.isascii() or len(value) > size:
            shown = "" if name == "password" else f" {value!r}"
            raise ValueError(f"bad SMPP URL: {name}{shown} must be at most {size} ASCII "
                             "characters")
    return SmppClient(parts.hostname, port, system_id, password, system_type=system_type,
                      on_deliver=on_deliver, enquire_interval=enquire_interval,
                      timeout=timeout)
