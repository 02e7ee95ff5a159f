"""The Diameter front end as one piece: the listener, the credit-control application
over the charging core, and the channel that sends Re-Auth-Requests."""

from __future__ import annotations

import logging

from conso.charging.ports import ChargingCore
from conso.diameter.config import DiameterConfig
from conso.diameter.credit import CreditControl
from conso.diameter.reauth import ReauthChannel
from conso.diameter.server import DiameterServer

log = logging.getLogger("conso.diameter")


class DiameterFrontEnd:
    def __init__(self, core: ChargingCore, config: DiameterConfig) -> None:
        self.config = config
        self.server = DiameterServer(config)
        self.credit = CreditControl(core, self.server)
        self.channel = ReauthChannel(self.server, self.credit)

    @property
    def port(self) -> int:
        return self.server.port

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()
        self.credit.close()
