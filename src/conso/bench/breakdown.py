"""Where an ingested record's time goes: the same records, measured in-process.

Two figures beside the HTTP run, on the same records and lines:

- the **engine** alone: `Engine.apply_usage` on a fresh SQLite store, each batch
  committed, as the server does it but with no HTTP, no JSON decoding of the body
  and no other thread;
- the **domain** alone: what conso must do in Python for each record whatever the
  storage (validate it, rate it against the line's cycle usage, check its
  notification thresholds), with no store at all.

Set against the floor, they say which part a target is out of reach in. conso has to
do at least the floor's work for each record (decode it, store its row) and its domain
step besides; half the floor leaves 2 / floor seconds a record for both, so the domain
step must cost no more than the floor's 1 / floor. When it costs more, no storage or
transport change in Python can reach half the floor.
"""

from __future__ import annotations

import gc
import logging
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from conso import gc_tuning
from conso.bench.synth import SynthLine, provision
from conso.catalog_file import load_catalog
from conso.domain.alerts import crossings, default_settings, watch
from conso.domain.cycle import cycle_of
from conso.domain.rating import CycleUsage, rate
from conso.domain.records import RecordError, parse_record
from conso.engine import Engine
from conso.store.sqlite import SQLiteStore


def decoded(bodies: list[bytes]) -> list[list[Any]]:
    return [[orjson.loads(raw) for raw in body.split(b"\n")] for body in bodies]


def engine_rate(batches: list[list[Any]], lines: list[SynthLine], now: datetime,
                workdir: Path) -> float:
    """Records a second through the engine and a fresh SQLite store (lines cold)."""
    store = SQLiteStore(workdir / "engine-only.db")
    # The server's log is its own file; in-process, the engine would log to the console.
    logger = logging.getLogger("conso")
    level = logger.level
    logger.setLevel(logging.WARNING)
    thresholds = gc_tuning.tune()  # as `conso serve` runs it
    try:
        store.migrate()
        provision(store, lines, now)
        engine = Engine(store, load_catalog(None))
        count = 0
        started = time.perf_counter()
        for batch in batches:
            engine.apply_usage(batch)
            count += len(batch)
        return count / (time.perf_counter() - started)
    finally:
        gc.set_threshold(*thresholds)
        logger.setLevel(level)
        store.close()


def domain_rate(batches: list[list[Any]], lines: list[SynthLine], now: datetime) -> float:
    """Records a second through validation, rating and the threshold check only."""
    catalog = load_catalog(None)
    plan_of = {line.id: catalog.plans[line.plan] for line in lines}
    settings = {plan_id: default_settings(plan, None) for plan_id, plan in catalog.plans.items()}
    usage: dict[str, CycleUsage] = {}
    future = timedelta(hours=24)
    count = 0
    started = time.perf_counter()
    for batch in batches:
        for obj in batch:
            count += 1
            try:
                record = parse_record(obj, home_country=catalog.home_country, now=now,
                                      max_future=future)
                plan = plan_of[record.line]
                cycle = cycle_of(record.at, 1)
                used = usage.get(record.line)
                if used is None:
                    used = usage[record.line] = CycleUsage(cycle)
                used.add(rate(record, plan, catalog, used))
            except RecordError:
                continue
            rules = settings[plan.id].rules
            if rules and watch(rules, plan, used.fired, None).reached(used.meters,
                                                                      used.spend_micros):
                fired = set(used.fired)
                crossings(rules, plan, used.meters, used.spend_micros, fired=fired)
                used.fired = frozenset(fired)
    return count / (time.perf_counter() - started)


def budget(figures: dict[str, Any], floor: float, engine: float, domain: float) -> None:
    """The breakdown's figures, in records/s and in microseconds a record."""
    figures["engine_only_records_per_s"] = round(engine)
    figures["domain_only_records_per_s"] = round(domain)
    figures["us_per_record_http"] = round(1e6 / figures["ingest_records_per_s"], 1)
    figures["us_per_record_engine"] = round(1e6 / engine, 1)
    figures["us_per_record_domain"] = round(1e6 / domain, 1)
    figures["us_per_record_floor"] = round(1e6 / floor, 1)
    figures["us_per_record_half_floor"] = round(2e6 / floor, 1)
    # Over 1: the domain step alone costs more than the floor's whole work.
    figures["domain_vs_floor_cost"] = round(floor / domain, 2)
