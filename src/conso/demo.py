"""The demo business account: an admin, employees on different plans, some usage.

Seeding is idempotent (PUTs and record ids), so `conso serve --demo` can be
restarted on the same database.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from conso.domain.cycle import cycle_of
from conso.engine import Engine

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
        existing = engine.store.get_user(user.login)
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
