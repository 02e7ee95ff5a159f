"""A synthetic operator: lines across the catalogue's plans and a realistic record mix."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from conso.domain.line import Line, PlanPeriod
from conso.store.base import Account, Store

ACCOUNT = "bench"
# Plan mix of a mobile operator: mostly bundles, some pay-per-use, a few internet lines.
PLAN_WEIGHTS = (("king", 30), ("kong", 20), ("king-business", 15), ("kong-business", 10),
                ("payg", 20), ("internet-150", 3), ("internet-unlimited", 2))
ROAMING_EU = ("FR", "NL", "DE", "ES", "IT")
ROAMING_FAR = ("CH", "GB", "SN")  # outside the EU/EEA and not blocked with a limit
PROVISION_CHUNK = 50_000


@dataclass(frozen=True, slots=True)
class SynthLine:
    id: str
    plan: str


def make_lines(count: int, seed: int = 7) -> list[SynthLine]:
    rng = random.Random(seed)
    plans = [p for p, _ in PLAN_WEIGHTS]
    weights = [w for _, w in PLAN_WEIGHTS]
    lines = []
    for i in range(count):
        plan = rng.choices(plans, weights)[0]
        line_id = f"net-{i:07d}" if plan.startswith("internet") else f"+3248{i:07d}"
        lines.append(SynthLine(line_id, plan))
    return lines


def provision(store: Store, lines: list[SynthLine], now: datetime, *,
              cycle_day: int = 1) -> None:
    """Write the lines straight into a fresh store, a transaction every 50,000 lines
    (setup, not measured)."""
    since = now - timedelta(days=40)
    with store.transaction() as tx:
        tx.accounts.put(Account(ACCOUNT, "Bench operator", "business"), now)
    for start in range(0, len(lines), PROVISION_CHUNK):
        with store.transaction() as tx:
            tx.lines.put_many([Line(line.id, ACCOUNT, None, cycle_day,
                                    (PlanPeriod(since, line.plan),))
                               for line in lines[start:start + PROVISION_CHUNK]], now)


def _record(rng: random.Random, line: SynthLine, record_id: str, at: str) -> dict[str, Any]:
    if line.plan.startswith("internet"):
        return {"id": record_id, "line": line.id, "service": "data",
                "quantity": rng.randrange(1, 500) * 1_000_000, "at": at}
    roll = rng.random()
    record: dict[str, Any]
    if roll < 0.5:
        record = {"service": "data", "quantity": rng.randrange(10_000, 50_000_000)}
    elif roll < 0.8:
        record = {"service": "voice", "quantity": rng.randrange(5, 900),
                  "direction": "in" if rng.random() < 0.4 else "out"}
    elif roll < 0.95:
        record = {"service": "sms", "quantity": 1}
    elif roll < 0.97:
        record = {"service": "premium", "quantity": 1, "amount_cents": rng.randrange(50, 500)}
    else:
        record = {"service": "callme", "quantity": 1}
    where = rng.random()
    if where < 0.04:
        record["country"] = rng.choice(ROAMING_EU)
    elif where < 0.06:
        record["country"] = rng.choice(ROAMING_FAR)
    record.update(id=record_id, line=line.id, at=at)
    return record


def make_batches(lines: list[SynthLine], records: int, batch_size: int, now: datetime, *,
                 seed: int = 11, prefix: str = "r") -> Iterator[bytes]:
    """NDJSON bodies of `batch_size` records: ~1 % duplicates and ~0.5 % bad records."""
    rng = random.Random(seed)
    sent: list[str] = []
    at = now.isoformat()
    for start in range(0, records, batch_size):
        body = []
        for n in range(start, min(records, start + batch_size)):
            roll = rng.random()
            if roll < 0.01 and sent:
                record_id = rng.choice(sent)
                record = _record(rng, rng.choice(lines), record_id, at)
            else:
                record_id = f"{prefix}{n}"
                record = _record(rng, rng.choice(lines), record_id, at)
                if len(sent) < 100_000:
                    sent.append(record_id)
            if 0.01 <= roll < 0.015:
                record["quantity"] = -1  # a bad record, rejected with its reason
            body.append(orjson.dumps(record))
        yield b"\n".join(body)


def warm_batches(lines: list[SynthLine], batch_size: int, now: datetime) -> Iterator[bytes]:
    """One small record per line, so that every line's state is loaded (warm)."""
    at = now.isoformat()
    for start in range(0, len(lines), batch_size):
        yield b"\n".join(
            orjson.dumps({"id": f"warm-{line.id}", "line": line.id, "service": "data",
                          "quantity": 1000, "at": at})
            for line in lines[start:start + batch_size])
