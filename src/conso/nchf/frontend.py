"""The Nchf front end as one piece: the HTTP/2 listener, the adapter over the charging
core, and the channel that notifies SMFs."""

from __future__ import annotations

from conso.charging.ports import ChargingCore
from conso.nchf.app import NchfApp
from conso.nchf.charging import ConvergedCharging, SubmitUpdate
from conso.nchf.config import NchfConfig
from conso.nchf.notify import NotifyChannel
from conso.nchf.server import NchfServer


class NchfFrontEnd:
    def __init__(self, core: ChargingCore, config: NchfConfig, *,
                 submit_update: SubmitUpdate | None = None) -> None:
        self.config = config
        self.charging = ConvergedCharging(core, config, submit_update=submit_update)
        self.app = NchfApp(self.charging, config)
        self.server = NchfServer(self.app.app, config)
        self.channel = NotifyChannel(config.notify_timeout)

    @property
    def port(self) -> int:
        return self.server.port

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()
        self.charging.close()
