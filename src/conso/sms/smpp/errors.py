"""What can go wrong talking to the SMSC, as exceptions the channel maps to its outcomes.

`SmppUnavailable` (and its kinds) means the link cannot carry a request now and
may later; `CommandFailed` carries the SMSC's non-zero command_status.

Not here: deciding what to retry (`conso.sms.channel` and the dispatcher).
"""

from __future__ import annotations

from conso.sms.smpp import pdu as p


class SmppError(Exception):
    """Something went wrong talking to the SMSC."""


class SmppUnavailable(SmppError):
    """The link cannot carry a request now; it may later (not bound, lost, timed out)."""


class NotBound(SmppUnavailable):
    """No bound session right now: connecting, bind refused, or the client is closed."""


class ConnectionLost(SmppUnavailable):
    """The connection dropped (or was dropped) before the answer came."""


class SmppTimeout(SmppUnavailable):
    """No answer within the client's timeout. A submit_sm may still have been accepted."""


class CommandFailed(SmppError):
    """The SMSC answered with a non-zero command_status."""

    def __init__(self, command: str, command_status: int) -> None:
        super().__init__(f"{command} refused: {p.status_name(command_status)}")
        self.command = command
        self.command_status = command_status


class BindRefused(CommandFailed):
    """The SMSC refused bind_transceiver (wrong system_id or password, too many binds...)."""
