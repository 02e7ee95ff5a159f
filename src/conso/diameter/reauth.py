"""Re-Auth-Requests as a channel of the dispatcher: when an admin bars a function or sets
a spending limit, the charging core writes a `Reauthorization` outbox row for each open
Diameter session of the line (channel "diameter", addressed to the session's peer); this
channel sends it as a RAR (command 258, AUTHORIZE_ONLY) and waits for the RAA.

A peer that is not connected, or does not answer in time, is a `ChannelDown`: the
dispatcher retries with back-off and the admin's request never waits for the network.
An RAA of 5002 (the peer no longer has the session) ends the push: there is nothing
left to re-authorize.
"""

from __future__ import annotations

import logging

from conso.charging.ports import Reauthorization
from conso.diameter.credit import CreditControl
from conso.diameter.dictionary import Result
from conso.diameter.server import DiameterServer
from conso.domain.outbox import OutboxMessage
from conso.notify.channels.base import ChannelDown, Undeliverable

log = logging.getLogger("conso.diameter")

CHANNEL = "diameter"


class ReauthChannel:
    name = CHANNEL

    def __init__(self, server: DiameterServer, credit: CreditControl) -> None:
        self.server = server
        self.credit = credit

    def send(self, message: OutboxMessage) -> None:
        push = Reauthorization.of(message)
        # The peer that last spoke for the session (failover moves it), else its first.
        host = self.credit.peer_of(push.session_id) or message.to
        try:
            result = self.server.loop.run(self.server.reauthorize(host, push.session_id),
                                          timeout=self.server.config.answer_timeout + 1)
        except (ConnectionError, TimeoutError, RuntimeError) as exc:
            raise ChannelDown(f"RAR for session {push.session_id} to {host}: {exc}") from None
        if result == Result.SUCCESS:
            log.info("RAR for session %s (line %s, %s) answered by %s", push.session_id,
                     push.line, push.reason, host)
        elif result == Result.UNKNOWN_SESSION_ID:
            log.info("RAR for session %s: %s no longer has it", push.session_id, host)
        else:
            raise Undeliverable(f"RAR for session {push.session_id}: {host} answered {result}")

    def close(self) -> None:
        """The server's life is the front end's, not the dispatcher's."""
