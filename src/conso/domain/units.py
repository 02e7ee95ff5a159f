"""Units and money: integers only (micro-euros, seconds, messages, bytes).

Euros arrive as decimal strings (catalogue) or integer cents (API); they are
converted here exactly, never through floats.
"""

from __future__ import annotations

import re
from enum import StrEnum

_AMOUNT = re.compile(r"[0-9]+(\.[0-9]+)?")

MICROS_PER_EURO = 1_000_000
MICROS_PER_CENT = 10_000
SECONDS_PER_MINUTE = 60
BYTES_PER_KB = 1_000
BYTES_PER_MB = 1_000_000
BYTES_PER_GB = 1_000_000_000


class Service(StrEnum):
    """What a usage record is for."""

    VOICE = "voice"
    SMS = "sms"
    DATA = "data"
    PREMIUM = "premium"
    CALLME = "callme"


class Direction(StrEnum):
    OUT = "out"
    IN = "in"


UNIT_OF: dict[Service, str] = {
    Service.VOICE: "second",
    Service.SMS: "message",
    Service.DATA: "byte",
    Service.PREMIUM: "event",
    Service.CALLME: "message",
}

# The services that have an allowance and appear in the usage answer.
METERED: tuple[Service, ...] = (Service.VOICE, Service.SMS, Service.DATA)


def euros_to_micros(text: str) -> int:
    """Parse a decimal euro string such as "0.20" into micro-euros, exactly.

    Raises ValueError for anything that is not a non-negative amount with at
    most six decimals.
    """
    if not isinstance(text, str) or not _AMOUNT.fullmatch(text.strip()):
        raise ValueError(f"not a non-negative decimal amount such as \"0.20\": {text!r}")
    # Digit by digit, so no precision limit or rounding is ever involved.
    whole, _, fraction = text.strip().partition(".")
    fraction = fraction.rstrip("0")
    if len(fraction) > 6:
        raise ValueError(f"more precise than a micro-euro: {text!r}")
    return int(whole) * MICROS_PER_EURO + int(fraction.ljust(6, "0") or "0")


def cents_to_micros(cents: int) -> int:
    return cents * MICROS_PER_CENT


def micros_to_cents(micros: int) -> int:
    """Round micro-euros to the nearest cent, halves up (what a bill shows)."""
    if micros >= 0:
        return (micros + MICROS_PER_CENT // 2) // MICROS_PER_CENT
    return -((-micros + MICROS_PER_CENT // 2) // MICROS_PER_CENT)


def ceil_div(numerator: int, denominator: int) -> int:
    """Integer division rounding up, for non-negative numerators."""
    return -(-numerator // denominator)
