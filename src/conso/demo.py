"""The demo business account: an admin, employees on different plans, some usage.

Seeding is idempotent (PUTs and record ids), so `conso serve --demo` can be
restarted on the same database.
"""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from conso.domain.cycle import cycle_of
from conso.domain.units import Service
from conso.engine import Engine

log = logging.getLogger("conso.demo")

ACCOUNT = "demo-fleet"


@dataclass(frozen=True, slots=True)
class DemoUser:
    login: str
    password: str
    role: str
    language: str
    line: str | None
    plan: str | None


DEMO_USERS = (
    DemoUser("admin", "admin-demo", "admin", "en", None, None),
    DemoUser("alice", "alice-demo", "user", "en", "+32470000001", "king-business"),
    DemoUser("bruno", "bruno-demo", "user", "fr", "+32470000002", "kong-business"),
    DemoUser("chloe", "chloe-demo", "user", "nl", "+32470000003", "payg"),
    DemoUser("dirk", "dirk-demo", "user", "nl", "+32470000004", "king-business"),
)


def seed(engine: Engine) -> list[DemoUser]:
    engine.put_account(ACCOUNT, name="Demo Fleet NV", kind="business")
    for user in DEMO_USERS:
        existing = engine.store.users.get(user.login)
        engine.put_user(ACCOUNT, user.login, password=None if existing else user.password,
                        role=user.role, email=f"{user.login}@demo-fleet.example",
                        language=user.language)
        if user.line is not None and user.plan is not None:
            engine.put_line(user.line, account_id=ACCOUNT, plan_id=user.plan,
                            user_login=user.login, cycle_day=None)
    engine.apply_usage(history(engine.clock()))
    return list(DEMO_USERS)


def history(now: datetime) -> list[dict[str, Any]]:
    """Usage from the start of the current cycle until now, the same on every run."""
    rng = random.Random(f"{now.date().isoformat()}")
    start = cycle_of(now, 1).start
    records: list[dict[str, Any]] = []
    hours = int((now - start).total_seconds() // 3600)
    # A different appetite per line, so the gauges tell different stories.
    appetite = {"+32470000001": 1.15, "+32470000002": 0.4, "+32470000003": 0.2,
                "+32470000004": 0.8}
    for line, scale in appetite.items():
        for hour in range(0, hours, 3):
            at = start + timedelta(hours=hour, minutes=rng.randrange(60))
            stamp = at.isoformat()
            base = f"demo-{line[-4:]}-{at:%Y%m%d%H}"
            records.append({"id": base + "-d", "line": line, "service": "data",
                            "quantity": int(rng.randrange(20, 60) * 1_000_000 * scale),
                            "at": stamp})
            if rng.random() < 0.5:
                records.append({"id": base + "-v", "line": line, "service": "voice",
                                "quantity": int(rng.randrange(30, 240) * scale), "at": stamp})
            if rng.random() < 0.4:
                records.append({"id": base + "-s", "line": line, "service": "sms",
                                "quantity": 1 + int(3 * scale), "at": stamp})
    return records[:10_000]


class TrafficGenerator:
    """Live demo traffic: every few seconds a little usage on each demo line, so a
    newcomer sees gauges fill, thresholds fire and messages arrive within a minute.
    A line stops receiving traffic once it is well past its bundle."""

    def __init__(self, engine: Engine, interval: float = 2.0) -> None:
        self.engine = engine
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._rng = random.Random()
        self._count = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="conso-demo-traffic",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.engine.apply_usage(self.tick())
            except Exception:
                log.exception("demo traffic failed")

    def tick(self) -> list[dict[str, Any]]:
        now = self.engine.clock()
        records: list[dict[str, Any]] = []
        for user in DEMO_USERS:
            if user.line is None:
                continue
            line = self.engine.line(user.line)
            if line is None:
                continue
            summary = self.engine.usage_summary(line)
            data = summary.services.get(Service.DATA)
            if data is not None and data.included and data.used > data.included * 1.3:
                continue
            self._count += 1
            stamp = now.isoformat()
            base = f"live-{now:%Y%m%d%H%M%S}-{self._count}"
            records.append({"id": base + "-d", "line": user.line, "service": "data",
                            "quantity": self._rng.randrange(40, 160) * 1_000_000,
                            "at": stamp})
            if self._rng.random() < 0.3:
                records.append({"id": base + "-v", "line": user.line, "service": "voice",
                                "quantity": self._rng.randrange(20, 300), "at": stamp})
            if self._rng.random() < 0.2:
                records.append({"id": base + "-s", "line": user.line, "service": "sms",
                                "quantity": 1, "at": stamp})
        return records
