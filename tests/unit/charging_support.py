"""The charging core on the in-memory store: services built with fakes, and the
operator's HTTP shapes of a session (one service each) in the core's words."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from conso.bootstrap import Services, Settings, build
from conso.charging.ports import (
    SINGLE_GROUP,
    SessionAnswer,
    SessionEnd,
    SessionStart,
    SessionUpdate,
    Units,
)
from conso.domain.control import Grant
from conso.domain.outbox import OutboxMessage
from conso.domain.units import Direction, Service
from conso.store import open_store


class FakeChannel:
    """Keeps what it is asked to send: a front end's or a subscriber channel's stand-in."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sent: list[OutboxMessage] = []

    def send(self, message: OutboxMessage) -> None:
        self.sent.append(message)

    def close(self) -> None:
        pass


def memory_services(clock: Callable[[], datetime], *,
                    validity: timedelta = timedelta(minutes=10)) -> Services:
    return build(Settings(operator_key="k", session_validity=validity),
                 store=open_store("memory:"),
                 channels={"sms": FakeChannel("sms"), "email": FakeChannel("email")},
                 clock=clock)


def start(services: Services, session_id: str, line: str, service: Service, requested: int,
          *, direction: Direction = Direction.OUT, country: str | None = None) -> Grant:
    answer = services.charging.start(SessionStart(
        session_id, line, (Units(SINGLE_GROUP, service, direction, requested=requested),),
        country=country))
    return answer.first


def update_request(session_id: str, used: int, requested: int,
                   number: int | None = None) -> SessionUpdate:
    return SessionUpdate(session_id, (Units(SINGLE_GROUP, used=used, requested=requested),),
                         number)


def update(services: Services, session_id: str, used: int, requested: int,
           number: int | None = None) -> Grant:
    return services.charging.update(update_request(session_id, used, requested, number)).first


def end(services: Services, session_id: str, used: int) -> int:
    answer: SessionAnswer = services.charging.end(
        SessionEnd(session_id, (Units(SINGLE_GROUP, used=used),)))
    return answer.charged_micros
