"""The charging core's port: what every network front end may ask, in the core's words.

A front end (the operator's HTTP `/authorize` and `/sessions`, Diameter Gy/Ro, 5G
Nchf, SMS) decodes its protocol, maps identifiers and units to these types (a line,
a service or rating group, units, a country) and calls `ChargingCore`; it encodes
the answer back. Grants, prices, barring, limits and zero overshoot live behind this
interface, once. Front ends import this module, the domain's value types and the
runtime; never the engine, the store or another front end.

Units are the service's: seconds of voice, bytes of data, messages; money is in
micro-euros. A `country` of None means the home country.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import orjson

from conso.domain.catalog import Network
from conso.domain.consult import UsageSummary
from conso.domain.control import Decision, Grant
from conso.domain.outbox import OutboxMessage
from conso.domain.units import Direction, Service
from conso.errors import Busy
from conso.store.changes import Fence  # a point in the other processes' changes

__all__ = [  # Busy: raised by a call made with `wait=False` when the core is busy
    "MAX_UNITS",
    "SINGLE_GROUP",
    "Busy",
    "ChargingCore",
    "Consultation",
    "Event",
    "EventAnswer",
    "Fence",
    "Price",
    "Reauthorization",
    "SessionAnswer",
    "SessionEnd",
    "SessionStart",
    "SessionUpdate",
    "Units",
    "UseRequest",
]

# Requests and answers are values: none is changed once built. The ones built for every
# authorize and session update are not frozen all the same: a frozen dataclass costs
# about 1 µs more to build (measured), on a path that takes some 20 µs in all.

# The most units one request may report or ask for.
MAX_UNITS = 10**12


@dataclass(slots=True)  # treated as immutable; not frozen: built per request on the hot path
class UseRequest:
    """One use of a service on a line, as the network describes it before it starts."""

    line: str
    service: Service
    direction: Direction = Direction.OUT
    country: str | None = None
    amount_micros: int | None = None   # a premium purchase's price, when known


# The rating-group key of a front end whose sessions meter one service each (the
# operator's HTTP `/sessions`).
SINGLE_GROUP = ""


@dataclass(slots=True)  # treated as immutable; not frozen: built per request on the hot path
class Units:
    """One rating group of a session request: what was used since its last report
    and what is asked for next. `service` may be None for a group the session has
    already (a front end that does not repeat it on updates)."""

    group: str                 # the front end's rating-group key, echoed in the answer
    service: Service | None = None
    direction: Direction = Direction.OUT
    used: int = 0
    requested: int = 0


@dataclass(frozen=True, slots=True)
class SessionStart:
    session_id: str
    line: str
    units: Sequence[Units]
    country: str | None = None
    request_number: int | None = None
    origin: str = "http"          # the front end; it sends this session's pushes
    push_to: str | None = None    # where re-authorization requests go (peer, notifyUri)


@dataclass(slots=True)  # treated as immutable; not frozen: built per request on the hot path
class SessionUpdate:
    session_id: str
    units: Sequence[Units]
    request_number: int | None = None


@dataclass(frozen=True, slots=True)
class SessionEnd:
    """The last report of a session: `units` carry what was used (requested is 0)."""

    session_id: str
    units: Sequence[Units]
    request_number: int | None = None


@dataclass(slots=True)  # treated as immutable; not frozen: built per request on the hot path
class SessionAnswer:
    """The grant of each rating group asked, in the order asked; `charged_micros` is
    what the whole session has cost so far (the final cost on an end)."""

    grants: tuple[tuple[str, Grant], ...]
    charged_micros: int = 0

    def grant(self, group: str) -> Grant:
        return dict(self.grants)[group]

    @property
    def first(self) -> Grant:
        return self.grants[0][1] if self.grants else Grant(0, True, None)


@dataclass(frozen=True, slots=True)
class Event:
    """A one-time event charged at once (an SMS through the SMSF, a premium purchase):
    `event_id` makes it idempotent, like a usage record's id."""

    event_id: str
    use: UseRequest
    units: int = 1


@dataclass(frozen=True, slots=True)
class EventAnswer:
    granted: int                  # units debited (0: refused, see reason)
    reason: str | None
    charged_micros: int

    @property
    def allowed(self) -> bool:
        return self.reason is None


@dataclass(frozen=True, slots=True)
class Price:
    """What `units` of a use would cost now (bundle first), and whether the line's
    money left (under its spending limit, after every reservation) covers it."""

    micros: int
    enough: bool
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Consultation:
    """What a subscriber asking for their balance is told (CONSULT to 1921), and in
    which language."""

    summary: UsageSummary
    language: str


@dataclass(frozen=True, slots=True)
class Reauthorization:
    """A push towards the network: re-authorize this session (a barring or the spending
    limit changed). The core writes it as an outbox row of the channel named after the
    session's front end (its `origin`), addressed to the session's `push_to`; that
    front end registers the channel that sends it (Diameter RAR, Nchf notify)."""

    session_id: str
    line: str
    reason: str

    SENDER = "reauthorize"

    def message(self, message_id: str, *, channel: str, to: str,
                now: datetime) -> OutboxMessage:
        # No line_id: a push to the network is not in the subscriber's message history.
        text = orjson.dumps({"session_id": self.session_id, "line": self.line,
                             "reason": self.reason}).decode()
        return OutboxMessage(id=message_id, channel=channel, sender=self.SENDER, to=to,
                             subject=None, text=text, line_id=None, rule=None, created_at=now)

    @classmethod
    def of(cls, message: OutboxMessage) -> Reauthorization:
        data = orjson.loads(message.text)
        return cls(str(data["session_id"]), str(data["line"]), str(data["reason"]))


class ChargingCore(Protocol):
    """Online charging: the one interface under every network front end."""

    def fence(self) -> Fence | None:
        """Taken when a request arrives, for `authorize` (None: nothing to wait for).
        An event loop awaits `wait_async` before calling `authorize(wait=False)`."""
        ...

    def authorize(self, request: UseRequest, *, wait: bool = True,
                  fence: Fence | None = None) -> Decision:
        """May this use start now? Barring, then the spending limit (no reservation)."""
        ...

    def start(self, request: SessionStart) -> SessionAnswer: ...

    def update(self, request: SessionUpdate) -> SessionAnswer: ...

    def update_many(self, requests: Sequence[SessionUpdate]) -> list[SessionAnswer | Exception]:
        """Several updates in one transaction (group commit); each fails alone."""
        ...

    def end(self, request: SessionEnd) -> SessionAnswer: ...

    def event(self, event: Event) -> EventAnswer:
        """Debit a one-time event at once, or refuse it (nothing is counted then)."""
        ...

    def price(self, request: UseRequest, units: int) -> Price:
        """A price enquiry and balance check in one: nothing is reserved or counted."""
        ...

    def check_balance(self, request: UseRequest, units: int) -> bool:
        """Whether the money left covers `units` of this use now (Diameter CHECK_BALANCE)."""
        ...

    def subscriber(self, *, msisdn: str | None = None, imsi: str | None = None) -> str | None:
        """The line the network names by its MSISDN (international digits, no "+") or its
        SIM's IMSI; None when conso has no such line."""
        ...

    def network(self) -> Network:
        """How the catalogue names services by rating group, and the default quotas."""
        ...

    def consult(self, line: str) -> Consultation | None:
        """A line's usage this cycle, for the subscriber; None when there is no such line."""
        ...

    def continue_roaming(self, line: str) -> bool:
        """The subscriber goes on roaming with data past the roaming data cap for the
        rest of the cycle (CONTINUE texted to 1921). False: the cap does not bind the
        line (switched off, an internet line, none in the catalogue): nothing changed."""
        ...

    def send(self, messages: Sequence[OutboxMessage]) -> None:
        """Queue messages that no usage caused (a reply to the subscriber)."""
        ...
