"""Answers in the API's words that more than one front end shows: a spending limit's
state, a grant, a session's cost. Money leaves here in cents, rounded once."""

from __future__ import annotations

from datetime import date
from typing import Any

from conso.domain.catalog import Catalog
from conso.domain.control import Grant, cap_position, roaming_cap_in_force
from conso.domain.line import Line
from conso.domain.rating import rate_class
from conso.domain.units import MICROS_PER_CENT, MICROS_PER_EURO, Direction, Service, micros_to_cents


def limit_view(line: Line, spend_micros: int) -> dict[str, Any] | None:
    """A line's spending limit and where its spend stands; None without a limit."""
    limit = line.spending_limit_micros
    if limit is None:
        return None
    return {
        "amount_eur": limit // MICROS_PER_EURO,
        "amount_cents": limit // MICROS_PER_CENT,
        "spent_cents": micros_to_cents(spend_micros),
        "reached": spend_micros >= limit,
        "overshoot_cents": max(0, spend_micros - limit) // MICROS_PER_CENT,  # whole cents over
    }


def roaming_cap_view(line: Line, catalog: Catalog, cycle_start: date,
                     roaming_data_bytes: int) -> dict[str, Any] | None:
    """The roaming data cap of a mobile line in the cycle starting `cycle_start`, and what
    its data outside the EU/EEA cost; None for an internet line (never roaming) or a
    catalogue without a cap. `enabled` is the line's setting; `continued`: the user chose
    to go on past the cap for this cycle; `reached`: data roaming is stopped now."""
    amount = catalog.roaming_data_cap_micros
    plan = catalog.plans.get(line.plan_id)
    rc = None if plan is None else rate_class(plan, catalog, Service.DATA, Direction.OUT,
                                              _outside_eu(catalog))
    if amount is None or rc is None or rc.meter == Service.DATA.value:
        return None
    where = cap_position(rc, roaming_data_bytes)
    in_force = roaming_cap_in_force(line, catalog, cycle_start)
    return {
        "enabled": not line.roaming_cap_off,
        "amount_cents": amount // MICROS_PER_CENT,
        "spent_cents": micros_to_cents(where.spent_micros),
        "reached": in_force is not None and where.reached(in_force),
        "continued": line.roaming_continued == cycle_start,
    }


def _outside_eu(catalog: Catalog) -> str:
    """A country code of no EU/EEA country, to name the roaming rate class."""
    return "ZZ" if not catalog.is_home_zone("ZZ") else "XX"


def grant_view(grant: Grant) -> dict[str, Any]:
    return {"granted": grant.granted, "final": grant.final, "reason": grant.reason}


def cost_view(charged_micros: int) -> dict[str, Any]:
    return {"charged_cents": micros_to_cents(charged_micros), "charged_micros": charged_micros}


def limit_answer(line: Line, spend_micros: int) -> dict[str, Any]:
    """`GET /spending-limit`: the limit's view, or its fields null when there is none."""
    return limit_view(line, spend_micros) or {
        "amount_eur": None, "amount_cents": None,
        "spent_cents": micros_to_cents(spend_micros), "reached": False, "overshoot_cents": 0}
