"""ChargingNotifyRequest (REAUTHORIZATION) to the SMF, as a channel of the dispatcher.

When an admin bars a function or sets a spending limit, the charging core writes a
`Reauthorization` outbox row for each open Nchf charging data resource with a
`notifyUri` (channel "nchf", addressed to it); this channel POSTs the notification
there. No answer, a 5xx or a 429 is a `ChannelDown`: the dispatcher retries with
back-off, and the admin's request never waits for the SMF. A 404 or 410 means the SMF
no longer has the session: nothing left to notify. Another 4xx is final.

HTTP/1.1 for `http://` URIs, HTTP/2 by ALPN for `https://` ones.
"""

from __future__ import annotations

import logging

import httpx

from conso.charging.ports import Reauthorization
from conso.domain.outbox import OutboxMessage
from conso.nchf.models import ChargingNotifyRequest
from conso.notify.channels.base import ChannelDown, Undeliverable

log = logging.getLogger("conso.nchf")

CHANNEL = "nchf"


class NotifyChannel:
    name = CHANNEL

    def __init__(self, timeout: float = 5.0) -> None:
        self._client = httpx.Client(timeout=timeout, http2=True)

    def send(self, message: OutboxMessage) -> None:
        push = Reauthorization.of(message)
        body = ChargingNotifyRequest(notification_type="REAUTHORIZATION")
        try:
            answer = self._client.post(message.to, content=body.model_dump_json(exclude_none=True),
                                       headers={"content-type": "application/json"})
        except httpx.HTTPError as exc:
            raise ChannelDown(f"notify {message.to} for {push.session_id}: {exc}") from None
        status = answer.status_code
        if 200 <= status < 300:
            log.info("nchf: %s notified of %s (line %s, %s)", message.to, push.session_id,
                     push.line, push.reason)
        elif status in (404, 410):
            log.info("nchf: %s no longer has %s (%d)", message.to, push.session_id, status)
        elif status == 429 or status >= 500:
            raise ChannelDown(f"notify {message.to}: {status}")
        else:
            raise Undeliverable(f"notify {message.to}: {status}")

    def close(self) -> None:
        self._client.close()
