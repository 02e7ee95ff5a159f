"""Money and units: exact integer arithmetic, never floats."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conso.domain.units import (
    MICROS_PER_CENT,
    MICROS_PER_EURO,
    ceil_div,
    cents_to_micros,
    euros_to_micros,
    micros_to_cents,
)


def euro_text(micros: int) -> str:
    """Write micro-euros as a decimal euro string with six decimals."""
    return f"{micros // MICROS_PER_EURO}.{micros % MICROS_PER_EURO:06d}"


@pytest.mark.parametrize(
    ("text", "micros"),
    [
        ("0.20", 200_000),
        ("0.01", 10_000),
        ("25.00", 25_000_000),
        ("5", 5_000_000),
        ("0", 0),
        ("0.000001", 1),
        ("1.50", 1_500_000),
        ("1234567.891234", 1_234_567_891_234),
        (" 0.10 ", 100_000),
    ],
)
def test_euro_strings_convert_exactly_to_micro_euros(text: str, micros: int) -> None:
    result = euros_to_micros(text)
    assert result == micros
    assert type(result) is int


def test_amounts_that_floats_cannot_represent_stay_exact() -> None:
    # 0.1 + 0.2 != 0.3 in binary floating point; in micro-euros it must.
    assert euros_to_micros("0.1") + euros_to_micros("0.2") == euros_to_micros("0.3")
    # 2**53 + 1 micro-euros is the first integer a float cannot hold.
    big = 2**53 + 1
    assert euros_to_micros(euro_text(big)) == big


@given(st.integers(min_value=0, max_value=10**18))
def test_every_micro_euro_amount_round_trips_through_its_decimal_string(micros: int) -> None:
    assert euros_to_micros(euro_text(micros)) == micros


@pytest.mark.parametrize(
    "bad",
    ["", "abc", "1,20", "0.2.0", "-0.01", "-5", "0.0000001", "1.0000005", "NaN", "Infinity",
     "-Infinity", "€5"],
)
def test_bad_negative_or_too_precise_strings_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        euros_to_micros(bad)


@pytest.mark.parametrize("not_text", [None, 0.2, 5])
def test_only_strings_are_accepted_so_floats_never_sneak_in(not_text: Any) -> None:
    with pytest.raises(ValueError):
        euros_to_micros(not_text)


def test_an_amount_more_precise_than_a_micro_euro_is_refused_however_long() -> None:
    with pytest.raises(ValueError):
        euros_to_micros("1.0000000000000000000000000001")


@pytest.mark.parametrize(
    ("micros", "cents"),
    [
        (0, 0),
        (4_999, 0),
        (5_000, 1),
        (10_000, 1),
        (14_999, 1),
        (15_000, 2),
        (203_334, 20),
        (205_000, 21),
        (999_999, 100),
    ],
)
def test_micros_round_to_the_nearest_cent_halves_up(micros: int, cents: int) -> None:
    assert micros_to_cents(micros) == cents


@given(st.integers(min_value=0, max_value=10**15))
def test_a_rounded_cent_is_within_half_a_cent_and_halves_go_up(micros: int) -> None:
    cents = micros_to_cents(micros)
    assert cents * MICROS_PER_CENT - MICROS_PER_CENT // 2 <= micros
    assert micros < cents * MICROS_PER_CENT + MICROS_PER_CENT // 2


@given(st.integers(min_value=0, max_value=10**12))
def test_cents_convert_to_micros_and_back_unchanged(cents: int) -> None:
    assert cents_to_micros(cents) == cents * 10_000
    assert micros_to_cents(cents_to_micros(cents)) == cents


@pytest.mark.parametrize(
    ("numerator", "denominator", "quotient"),
    [(0, 60, 0), (1, 60, 1), (59, 60, 1), (60, 60, 1), (61, 60, 2),
     (61 * 200_000, 60, 203_334), (1_000, 1_000, 1), (1_001, 1_000, 2)],
)
def test_ceil_div_rounds_up(numerator: int, denominator: int, quotient: int) -> None:
    assert ceil_div(numerator, denominator) == quotient


@given(st.integers(min_value=0, max_value=10**30), st.integers(min_value=1, max_value=10**12))
def test_ceil_div_is_the_exact_ceiling(numerator: int, denominator: int) -> None:
    quotient = ceil_div(numerator, denominator)
    assert quotient == math.ceil(Fraction(numerator, denominator))
    assert (quotient - 1) * denominator < numerator <= quotient * denominator
