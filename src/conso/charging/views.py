"""Answers in the API's words that more than one front end shows: a spending limit's
state, a grant, a session's cost. Money leaves here in cents, rounded once."""

from __future__ import annotations

from typing import Any

from conso.domain.control import Grant
from conso.domain.line import Line
from conso.domain.units import MICROS_PER_CENT, MICROS_PER_EURO, micros_to_cents


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


def grant_view(grant: Grant) -> dict[str, Any]:
    return {"granted": grant.granted, "final": grant.final, "reason": grant.reason}


def cost_view(charged_micros: int) -> dict[str, Any]:
    return {"charged_cents": micros_to_cents(charged_micros), "charged_micros": charged_micros}


def limit_answer(line: Line, spend_micros: int) -> dict[str, Any]:
    """`GET /spending-limit`: the limit's view, or its fields null when there is none."""
    return limit_view(line, spend_micros) or {
        "amount_eur": None, "amount_cents": None,
        "spent_cents": micros_to_cents(spend_micros), "reached": False, "overshoot_cents": 0}
