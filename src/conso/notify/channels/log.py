"""The embedded default channel: the message stays in the outbox and is logged.

With nothing else connected the demo still shows every notification (in the
outbox, the API and the log) without an SMS centre or a mail server.
"""

from __future__ import annotations

import logging

from conso.domain.outbox import OutboxMessage

log = logging.getLogger("conso.notify")


class LogChannel:
    def __init__(self, name: str) -> None:
        self.name = name

    def send(self, message: OutboxMessage) -> None:
        log.info("%s %s from %s to %s: %s", self.name.upper(), message.id, message.sender,
                 message.to, message.text)

    def close(self) -> None:
        return None
