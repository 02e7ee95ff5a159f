"""The shapes of identifiers: account ids, logins, E.164 numbers, internet line ids."""

from __future__ import annotations

import re

import pytest

from conso.domain.ids import (
    ACCOUNT_ID,
    E164,
    EMAIL,
    INTERNET_LINE_ID,
    LOGIN,
    is_mobile_number,
)


@pytest.mark.parametrize("number", ["+32470000001", "+3247000", "+123456789012345"])
def test_e164_numbers_are_mobile_numbers(number: str) -> None:
    assert is_mobile_number(number)


@pytest.mark.parametrize(
    "number",
    ["32470000001", "0470000001", "+0470000001", "+32 470 00 00 01", "+324700",
     "+1234567890123456", "+32470abc001", ""],
)
def test_anything_else_is_not_a_mobile_number(number: str) -> None:
    assert not is_mobile_number(number)


@pytest.mark.parametrize(
    ("pattern", "good", "bad"),
    [
        (ACCOUNT_ID, "acme-fleet_2.0", "-acme"),
        (ACCOUNT_ID, "A" * 64, "A" * 65),
        (LOGIN, "jan.peeters@acme.be", "Jan"),
        (INTERNET_LINE_ID, "fiber:0042", "fiber 0042"),
        (EMAIL, "jan@acme.be", "jan@acme"),
    ],
)
def test_identifier_shapes(pattern: re.Pattern[str], good: str, bad: str) -> None:
    assert pattern.match(good)
    assert not pattern.match(bad)


@pytest.mark.parametrize(
    ("pattern", "value"),
    [(E164, "+32470000001\n"), (ACCOUNT_ID, "acme\n"), (LOGIN, "jan\n"),
     (INTERNET_LINE_ID, "fiber-1\n"), (EMAIL, "jan@acme.be\n")],
    ids=["e164", "account", "login", "internet-line", "email"],
)
def test_an_identifier_with_a_trailing_newline_is_refused(
    pattern: re.Pattern[str], value: str
) -> None:
    assert not pattern.match(value)
