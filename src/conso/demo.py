"""The demo business account: an admin, employees on different plans, a story each.

- alice (en, King Business): a heavy user, just under 90 % of her mobile data;
- bruno (fr, Kong Business): travelling in the United States, his data roaming outside
  the EU/EEA just under 80 % of the €50 roaming data cap;
- chloe (nl, pay as you go): a €10 spending limit, €9.40 spent (its 50 % and 90 %
  SMS sent), which the live traffic reaches;
- dirk (nl, King Business): an ordinary month.

`seed` puts each line where its story starts (the cycle's usage so far, as records
spread over the days since the cycle began) once per cycle: a restart in the same cycle
keeps what is there (records are idempotent by id, and history is only written to a
cycle that has none). `make demo-reset` deletes the demo database to start afresh.

The live traffic then runs at a normal month's pace, compressed: each tick (2 s) is
`SIMULATED_MINUTES` (15) minutes of each line's habits, so a day passes in about
3 minutes and a month in about 1.5 hours. alice crosses 90 % within a couple of
minutes, bruno's 80 % message comes within a minute and the cap stops his data roaming
a few minutes later, chloe reaches her limit within a few minutes. Like the network
under online charging, it sends no paid traffic past a reached spending limit, and no
data roaming past a reached roaming cap (until the user continues).
"""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from conso.charging.settings import ChargingSettings
from conso.domain.control import roaming_cap_in_force
from conso.domain.cycle import cycle_of
from conso.domain.line import Line
from conso.domain.rating import RateClass, rate_class
from conso.domain.units import BYTES_PER_KB, Direction, Service
from conso.engine import Engine

log = logging.getLogger("conso.demo")

ACCOUNT = "demo-fleet"
TRAVEL_COUNTRY = "US"                  # outside the EU/EEA: the roaming data cap counts
SIMULATED_MINUTES = 15                 # of a normal month, per live tick
MINUTES_PER_MONTH = 30 * 24 * 60
LIMIT_EUR = 10                         # chloe's spending limit
LIMIT_SPENT_MICROS = 9_400_000         # where her story starts
CAP_SPENT_SHARE = 0.76                 # of the roaming data cap, where bruno's starts


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
ALICE, BRUNO, CHLOE, DIRK = (u.line or "" for u in DEMO_USERS[1:])


@dataclass(frozen=True, slots=True)
class Habit:
    """A line's month: per service, how much of a month's use (the bundle's share for
    bundle lines; bytes, seconds, messages for pay-per-use) and where the story starts."""

    data_bytes: int                    # a month's mobile data at home
    voice_seconds: int
    sms: int
    roaming_bytes: int = 0             # a month's data outside the EU/EEA (travelling)


HABITS = {
    # 11.5 GB a month on a 10 GB bundle: over by the month's end.
    ALICE: Habit(11_500_000_000, 280 * 60, 300),
    # On a trip: 10 MB of data roaming a day (EUR 20 at EUR 2/MB), little at home.
    BRUNO: Habit(2_000_000_000, 200 * 60, 120, roaming_bytes=300_000_000),
    # A light pay-per-use user: about EUR 25 a month, mostly data.
    CHLOE: Habit(400_000_000, 40 * 60, 40),
    DIRK: Habit(6_000_000_000, 180 * 60, 200),
}

# Where each bundle line's story starts: the share of its data bundle used so far.
DATA_SHARE = {ALICE: 0.88, BRUNO: 0.30, DIRK: 0.55}


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
    chloe = engine.line(CHLOE)
    if chloe is not None and chloe.spending_limit_micros is None:
        ChargingSettings(engine).set_spending_limit(chloe, LIMIT_EUR, "admin")
    now = engine.clock()
    if _cycle_is_empty(engine, now):
        engine.apply_usage(history(engine, now))
    return list(DEMO_USERS)


def _cycle_is_empty(engine: Engine, now: datetime) -> bool:
    """No demo line has usage in this cycle yet: its story is still to be written."""
    for line_id in HABITS:
        line = engine.line(line_id)
        if line is None:
            continue
        summary = engine.usage_summary(line, now)
        if summary.extra_micros or any(s.used or s.roaming_used
                                       for s in summary.services.values()):
            return False
    return True


def history(engine: Engine, now: datetime) -> list[dict[str, Any]]:
    """The cycle so far, up to where each line's story starts: records every three
    hours from the cycle's start (at least a dozen, closer together early in a
    cycle), the same on every run of the same day."""
    rng = random.Random(now.date().isoformat())
    start = cycle_of(now, 1).start
    span = max(now - start, timedelta(hours=1))
    slots = max(12, int(span.total_seconds() // (3 * 3600)))
    step = span / (slots + 1)
    stamps = [start + step * (i + 1) for i in range(slots)]
    records: list[dict[str, Any]] = []
    for line_id in (ALICE, BRUNO, DIRK):
        records += _bundle_history(engine, line_id, stamps, rng)
    records += _limit_history(engine, stamps, rng)
    records += _roaming_history(engine, stamps[-6:])
    return records


def _spread(total: int, parts: int, rng: random.Random) -> list[int]:
    """`total` in `parts` uneven shares (a busy evening, a quiet night) that add up."""
    weights = [rng.uniform(0.3, 1.7) for _ in range(parts)]
    scale = sum(weights)
    shares = [int(total * w / scale) for w in weights]
    shares[-1] += total - sum(shares)
    return shares


def _record(line_id: str, at: datetime, service: str, quantity: int, tag: str, *,
            country: str | None = None) -> dict[str, Any]:
    record = {"id": f"demo-{line_id[-4:]}-{at:%Y%m%d%H%M}-{tag}", "line": line_id,
              "service": service, "quantity": quantity, "at": at.isoformat()}
    if country is not None:
        record["country"] = country
    return record


def _bundle_history(engine: Engine, line_id: str, stamps: list[datetime],
                    rng: random.Random) -> list[dict[str, Any]]:
    line = engine.line(line_id)
    if line is None:
        return []
    plan = engine.plan_of(line, stamps[-1])
    habit = HABITS[line_id]
    share = DATA_SHARE[line_id]
    data_total = int((plan.allowance(Service.DATA) or habit.data_bytes) * share)
    # Calls and texts follow the same pace as data, a little behind.
    pace = share * 0.8
    voice_total = int(min(habit.voice_seconds, plan.allowance(Service.VOICE) or 0) * pace)
    sms_total = int(min(habit.sms, plan.allowance(Service.SMS) or 0) * pace)
    records = []
    for at, data, voice, sms in zip(stamps, _spread(data_total, len(stamps), rng),
                                    _spread(voice_total, len(stamps), rng),
                                    _spread(sms_total, len(stamps), rng), strict=True):
        records.append(_record(line_id, at, "data", data, "d"))
        if voice:
            records.append(_record(line_id, at, "voice", voice, "v"))
        if sms:
            records.append(_record(line_id, at, "sms", sms, "s"))
    return records


def _limit_history(engine: Engine, stamps: list[datetime],
                   rng: random.Random) -> list[dict[str, Any]]:
    """chloe's pay-per-use cycle so far: priced as it goes, stopping at EUR 9.40."""
    line = engine.line(CHLOE)
    if line is None:
        return []
    plan = engine.plan_of(line, stamps[-1])
    meters: dict[str, int] = {}
    spent = 0
    records = []
    for i, at in enumerate(stamps):
        # Spend evenly over the days: this slot may bring the total to its share.
        budget = LIMIT_SPENT_MICROS * (i + 1) // len(stamps) - spent
        for service, wanted, tag in ((Service.SMS, 1, "s"),
                                     (Service.VOICE, rng.randrange(30, 150), "v"),
                                     (Service.DATA, 100_000_000, "d")):
            rc = rate_class(plan, engine.catalog, service, Direction.OUT, "BE")
            if rc is None:
                continue
            metered = meters.get(rc.meter, 0)
            quantity = affordable(rc, metered, wanted, budget, service)
            if quantity <= 0:
                continue
            cost = rc.cost(metered, quantity)
            meters[rc.meter] = metered + quantity
            spent += cost
            budget -= cost
            records.append(_record(CHLOE, at, service.value, quantity, tag))
    return records


def _roaming_history(engine: Engine, stamps: list[datetime]) -> list[dict[str, Any]]:
    """bruno's last days: data in the United States, up to 76 % of the roaming cap."""
    line = engine.line(BRUNO)
    cap = engine.catalog.roaming_data_cap_micros
    if line is None or cap is None:
        return []
    plan = engine.plan_of(line, stamps[-1])
    rc = rate_class(plan, engine.catalog, Service.DATA, Direction.OUT, TRAVEL_COUNTRY)
    if rc is None:
        return []
    target = int(cap * CAP_SPENT_SHARE)
    per_mb = max(1, rc.cost(0, 1_000_000))
    total = target * 1_000_000 // per_mb
    shares = [total // len(stamps)] * len(stamps)
    shares[-1] += total - sum(shares)
    return [_record(BRUNO, at, "data", share, "r", country=TRAVEL_COUNTRY)
            for at, share in zip(stamps, shares, strict=True) if share]


class TrafficGenerator:
    """Live demo traffic: every `interval` seconds, `SIMULATED_MINUTES` of each demo
    line's habits (see the module's docstring), so a newcomer sees gauges move,
    thresholds fire and messages arrive within minutes, at a believable pace."""

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

    def _share(self, monthly: int) -> int:
        """A tick's share of a month's use, give or take half."""
        mean = monthly * SIMULATED_MINUTES / MINUTES_PER_MONTH
        return int(mean * self._rng.uniform(0.5, 1.5))

    def tick(self) -> list[dict[str, Any]]:
        now = self.engine.clock()
        records: list[dict[str, Any]] = []
        for line_id, habit in HABITS.items():
            line = self.engine.line(line_id)
            if line is None:
                continue
            self._count += 1
            base = f"live-{now:%Y%m%d%H%M%S}-{self._count}"
            stamp = now.isoformat()
            left = self._money_left(line, now)
            wanted: list[tuple[str, int, str, str | None]]
            if habit.roaming_bytes:      # abroad: only data roaming, while the cap allows
                wanted = [("data", self._roaming(line, self._share(habit.roaming_bytes), now),
                           "r", TRAVEL_COUNTRY)]
            else:
                wanted = [("data", self._share(habit.data_bytes), "d", None),
                          ("voice", self._share(habit.voice_seconds), "v", None),
                          ("sms", int(self._rng.random() < self._sms_chance(habit)), "s",
                           None)]
            for service, asked, tag, country in wanted:
                quantity = asked
                if left is not None and quantity > 0:
                    quantity = self._affordable(line, Service(service), quantity, left, now)
                    # The records of one tick share what is left: each takes its part.
                    left -= self._cost(line, Service(service), quantity, now)
                if quantity <= 0:
                    continue
                record = {"id": f"{base}-{tag}", "line": line_id, "service": service,
                          "quantity": quantity, "at": stamp}
                if country is not None:
                    record["country"] = country
                records.append(record)
        return records

    @staticmethod
    def _sms_chance(habit: Habit) -> float:
        return min(1.0, habit.sms * SIMULATED_MINUTES / MINUTES_PER_MONTH)

    def _money_left(self, line: Line, now: datetime) -> int | None:
        """What a spending limit leaves this cycle (None: no limit)."""
        limit = line.spending_limit_micros
        if limit is None:
            return None
        return max(0, limit - self.engine.usage_summary(line, now).extra_micros)

    def _affordable(self, line: Line, service: Service, quantity: int, left: int,
                    now: datetime) -> int:
        """As much of `quantity` as the money left buys (the network's online charging
        grants no more): none once the limit is reached."""
        plan = self.engine.plan_of(line, now)
        rc = rate_class(plan, self.engine.catalog, service, Direction.OUT, "BE")
        if rc is None:
            return quantity
        metered = self.engine.cycle_usage(line, now).meter(rc.meter)
        return affordable(rc, metered, quantity, left, service)

    def _cost(self, line: Line, service: Service, quantity: int, now: datetime) -> int:
        """What `quantity` more of a service costs the line now (at home)."""
        plan = self.engine.plan_of(line, now)
        rc = rate_class(plan, self.engine.catalog, service, Direction.OUT, "BE")
        if rc is None or quantity <= 0:
            return 0
        return rc.cost(self.engine.cycle_usage(line, now).meter(rc.meter), quantity)

    def _roaming(self, line: Line, quantity: int, now: datetime) -> int:
        """As much data outside the EU/EEA as the roaming data cap still allows (all of
        it when the user continued past the cap or switched it off)."""
        cycle = cycle_of(now, line.cycle_day)
        cap = roaming_cap_in_force(line, self.engine.catalog, cycle.start_date)
        plan = self.engine.plan_of(line, now)
        rc = rate_class(plan, self.engine.catalog, Service.DATA, Direction.OUT,
                        TRAVEL_COUNTRY)
        if cap is None or rc is None:
            return quantity
        metered = self.engine.cycle_usage(line, now).meter(rc.meter)
        return affordable(rc, metered, quantity, cap - rc.cost(0, metered), Service.DATA)


def affordable(rc: RateClass, metered: int, quantity: int, left: int,
               service: Service) -> int:
    """The most of `quantity` that costs at most `left` after `metered` (data is billed
    per started kB, so it is cut to whole kB)."""
    if left <= 0:
        return 0
    if rc.cost(metered, quantity) <= left:
        return quantity
    unit = BYTES_PER_KB if service is Service.DATA else 1
    low, high = 0, quantity // unit
    while low < high:
        middle = (low + high + 1) // 2
        if rc.cost(metered, middle * unit) <= left:
            low = middle
        else:
            high = middle - 1
    return low * unit

