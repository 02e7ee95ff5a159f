"""Request bodies over HTTP (api/schemas.py, api/locations.py): the API checks JSON types
in its own words, the domain checks what a line may choose and names the field only, and
a route adds where in the request the field was. Together they answer what the API always
answered (`errors[].loc` and `msg` of the 422), without a server."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from conso.api.locations import http_located, located_in_request
from conso.api.schemas import AlertsIn, BarringIn
from conso.catalog_file import load_catalog
from conso.domain.alerts import AlertError, AlertsChoice, ChannelChoice, RuleChoice, parse_settings
from conso.domain.control import ControlError, check_limit_amount, parse_barring
from conso.errors import InvalidInput

CATALOG = load_catalog(None)
KING = CATALOG.plans["king"]
PAYG = CATALOG.plans["payg"]
INTERNET_150 = CATALOG.plans["internet-150"]

Loc = tuple[str | int, ...]
Errors = list[tuple[Loc, str]]
BARRING = TypeAdapter(BarringIn)
UNKNOWN_FUNCTION = ("unknown function (known: data, voice_out, voice_in, voice_out_roaming, "
                    "voice_in_roaming, sms_out, premium)")


def _refusal(exc: ValidationError) -> Errors:
    """A body's type errors as FastAPI answers them: under "body"."""
    return [(("body", *e["loc"]), e["msg"]) for e in exc.errors()]


def _service(exc: AlertError | ControlError) -> InvalidInput:
    """What the service layer raises for a domain error (engine.put_alerts,
    charging/settings.py)."""
    return InvalidInput(exc.loc, exc.msg)


def put_alerts(raw: Any, plan: Any = KING) -> Errors:
    """The 422's errors of PUT /lines/{line}/alerts with this JSON body; [] if accepted."""
    try:
        choice = AlertsIn.model_validate(raw).choice()
    except ValidationError as exc:
        return _refusal(exc)
    try:
        with located_in_request():
            try:
                parse_settings(choice, plan)
            except AlertError as exc:
                raise _service(exc) from None
    except InvalidInput as exc:
        return [(exc.loc, exc.msg)]
    return []


def put_barring(raw: Any) -> Errors:
    try:
        changes = BARRING.validate_python(raw)
    except ValidationError as exc:
        return _refusal(exc)
    try:
        with located_in_request():
            try:
                parse_barring(changes, frozenset())
            except ControlError as exc:
                raise _service(exc) from None
    except InvalidInput as exc:
        return [(exc.loc, exc.msg)]
    return []


RULES = "must be a list of {kind, value}"
RULE = "must be an object {kind, value}"
KIND = "must be 'included_pct' or 'extra_eur'"
WHOLE = "must be a whole number"
CHANNELS = "must be an object {sms, second_number, email}"
E164 = "must be an E.164 number such as +32470000001, or null"
EMAIL = "must be an e-mail address, or null"
SIX = [{"kind": "included_pct", "value": v} for v in (75, 90, 100)] + [
    {"kind": "extra_eur", "value": v} for v in (5, 10, 15)]


# Each answer as the API gave it when the domain still parsed the JSON body itself.
@pytest.mark.parametrize(("raw", "errors"), [
    ([], [(("body",), "Input should be a valid dictionary")]),
    ("rules", [(("body",), "Input should be a valid dictionary")]),
    ({}, [(("body", "rules"), RULES)]),
    ({"rules": None}, [(("body", "rules"), RULES)]),
    ({"rules": {"kind": "included_pct", "value": 90}}, [(("body", "rules"), RULES)]),
    ({"channels": {"sms": True}}, [(("body", "rules"), RULES)]),
    ({"rules": SIX}, [(("body", "rules"), "at most 5 notifications per line, got 6")]),
    ({"rules": [5]}, [(("body", "rules", 0), RULE)]),
    ({"rules": [None]}, [(("body", "rules", 0), RULE)]),
    ({"rules": [{"kind": "included_pct"}]}, [(("body", "rules", 0), RULE)]),
    ({"rules": [{"value": 90}]}, [(("body", "rules", 0), RULE)]),
    ({"rules": [{"kind": "included_pct", "value": 90, "x": 1}]}, [(("body", "rules", 0), RULE)]),
    ({"rules": [{"kind": 5, "value": 90}]}, [(("body", "rules", 0, "kind"), KIND)]),
    ({"rules": [{"kind": None, "value": 90}]}, [(("body", "rules", 0, "kind"), KIND)]),
    ({"rules": [{"kind": "percent", "value": 90}]}, [(("body", "rules", 0, "kind"), KIND)]),
    ({"rules": [{"kind": "limit_pct", "value": 50}]}, [(("body", "rules", 0, "kind"), KIND)]),
    ({"rules": [{"kind": "included_pct", "value": True}]},
     [(("body", "rules", 0, "value"), WHOLE)]),
    ({"rules": [{"kind": "included_pct", "value": 90.0}]},
     [(("body", "rules", 0, "value"), WHOLE)]),
    ({"rules": [{"kind": "included_pct", "value": None}]},
     [(("body", "rules", 0, "value"), WHOLE)]),
    ({"rules": [{"kind": "extra_eur", "value": "10"}]}, [(("body", "rules", 0, "value"), WHOLE)]),
    ({"rules": [{"kind": "included_pct", "value": 80}]},
     [(("body", "rules", 0, "value"), "must be one of [75, 90, 100]")]),
    ({"rules": [{"kind": "extra_eur", "value": 20}]},
     [(("body", "rules", 0, "value"), "must be one of [5, 10, 15, 25, 30, 50, 75, 100]")]),
    ({"rules": [{"kind": "included_pct", "value": 90}, {"kind": "included_pct", "value": 90}]},
     [(("body", "rules", 1), "the same notification twice")]),
    ({"rules": [], "channels": None}, [(("body", "channels"), CHANNELS)]),
    ({"rules": [], "channels": []}, [(("body", "channels"), CHANNELS)]),
    ({"rules": [], "channels": {"fax": 1}}, [(("body", "channels", "fax"), "unknown channel")]),
    ({"rules": [], "channels": {"fax": 1, "ab": 2}},
     [(("body", "channels", "ab"), "unknown channel")]),
    ({"rules": [], "channels": {"sms": None}},
     [(("body", "channels", "sms"), "must be true or false")]),
    ({"rules": [], "channels": {"sms": 1}},
     [(("body", "channels", "sms"), "must be true or false")]),
    ({"rules": [], "channels": {"sms": "true"}},
     [(("body", "channels", "sms"), "must be true or false")]),
    ({"rules": [], "channels": {"second_number": "0470 00 00 99"}},
     [(("body", "channels", "second_number"), E164)]),
    ({"rules": [], "channels": {"second_number": 32470000099}},
     [(("body", "channels", "second_number"), E164)]),
    ({"rules": [], "channels": {"email": "nobody"}}, [(("body", "channels", "email"), EMAIL)]),
    ({"rules": [], "channels": {"email": 5}}, [(("body", "channels", "email"), EMAIL)]),
    ({"rules": [], "channels": {"email": "a" * 250 + "@x.be"}},
     [(("body", "channels", "email"), EMAIL)]),
    ({"rules": [], "channels": {"sms": True}}, []),
    ({"rules": [], "channels": {"second_number": None, "email": None}}, []),
    ({"rules": [{"kind": "extra_eur", "value": 10}],
      "channels": {"sms": True, "second_number": "+32470000099", "email": "me@example.com"}}, []),
])
def test_a_bundle_lines_alerts_are_answered_as_before(raw: Any, errors: Errors) -> None:
    assert put_alerts(raw) == errors


def test_plan_rules_are_answered_as_before() -> None:
    pct_90 = {"rules": [{"kind": "included_pct", "value": 90}]}
    assert put_alerts(pct_90, PAYG) == [(
        ("body", "rules", 0, "kind"),
        "a pay-per-use line has no allowance; choose extra_eur amounts")]
    assert put_alerts({"rules": [{"kind": "extra_eur", "value": 20}]}, INTERNET_150) == [
        (("body", "rules", 0, "kind"), "an internet line has no extra spend")]
    assert put_alerts({"rules": [], "channels": {"sms": True}}, INTERNET_150) == [
        (("body", "channels", "sms"), "an internet line cannot receive SMS")]
    assert put_alerts({"rules": [{"kind": "volume_pct", "value": 90}]}, INTERNET_150) == []


def test_an_unknown_field_of_the_body_is_refused_like_in_every_other_body() -> None:
    # api.md: "Unknown fields in a body are a 422" (this body once let them through).
    assert put_alerts({"rules": [], "extra": 1}) == [
        (("body", "extra"), "Extra inputs are not permitted")]


def test_the_body_becomes_the_domains_typed_choice() -> None:
    raw = {"rules": [{"kind": "extra_eur", "value": 10}],
           "channels": {"second_number": "+32470000099"}}
    assert AlertsIn.model_validate(raw).choice() == AlertsChoice(
        (RuleChoice("extra_eur", 10),), ChannelChoice(None, "+32470000099", None))


@pytest.mark.parametrize(("raw", "errors"), [
    ([], [(("body",), "Input should be a valid dictionary")]),
    ({}, []),
    ({"data": True, "premium": False}, []),
    ({"data": None}, [(("body", "data"), "must be true or false")]),
    ({"data": 1}, [(("body", "data"), "must be true or false")]),
    ({"data": "true"}, [(("body", "data"), "must be true or false")]),
    ({"fax": True}, [(("body", "fax"), UNKNOWN_FUNCTION)]),
    ({"data": "x", "fax": True}, [(("body", "data"), "must be true or false")]),
])
def test_a_barring_body_is_answered_as_before(raw: Any, errors: Errors) -> None:
    assert put_barring(raw) == errors


def test_a_spending_limit_error_is_in_the_body_or_the_path() -> None:
    def answer(plan: Any, amount: int) -> tuple[Loc, str]:
        try:
            with located_in_request(path=("line",)):
                try:
                    check_limit_amount(plan, amount)
                except ControlError as exc:
                    raise _service(exc) from None
        except InvalidInput as exc:
            return exc.loc, exc.msg
        raise AssertionError("accepted")

    assert answer(PAYG, 7) == (("body", "amount_eur"), "must be one of [5, 10, 20, 50]")
    assert answer(KING, 10) == (("path", "line"), "spending limits are for pay-per-use lines")


def test_a_field_located_error_is_put_in_the_body_or_the_path() -> None:
    error = InvalidInput(("rules", 0, "value"), "must be a whole number")
    located = http_located(error)
    assert (located.loc, located.msg) == (("body", "rules", 0, "value"), "must be a whole number")
    assert str(located) == "body.rules.0.value: must be a whole number"
    assert http_located(InvalidInput(("line",), "x"), path=("line",)).loc == ("path", "line")
    assert http_located(InvalidInput(("amount_eur",), "x"), path=("line",)).loc == (
        "body", "amount_eur")


@pytest.mark.parametrize("where", ["body", "path", "query"])
def test_an_error_already_located_in_the_request_is_left_as_it_is(where: str) -> None:
    error = InvalidInput((where, "since"), "not a time")
    assert http_located(error) is error
    with pytest.raises(InvalidInput) as caught, located_in_request():
        raise error
    assert caught.value is error


def test_other_errors_pass_through_untouched() -> None:
    with pytest.raises(KeyError), located_in_request():
        raise KeyError("x")
    with located_in_request():
        pass
