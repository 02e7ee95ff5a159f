"""Text (domain/text.py): what an id, a line, a login or a name may hold, on every store."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from conso.api import control, sms
from conso.api.schemas import Body, LoginIn, UserIn
from conso.domain.text import is_clean_text, text_problem


@pytest.mark.parametrize("value", ["+32470000001", "acme-fleet_2.0", "jan.peeters@acme.be",
                                   "Société Générale", "Łódź 🚀", "", "a b"])
def test_ids_names_and_unicode_letters_are_text(value: str) -> None:
    assert text_problem(value) is None
    assert is_clean_text(value)


@pytest.mark.parametrize(("value", "problem"), [
    ("a\x00b", "must not contain control characters (U+0000 at 1)"),
    ("\n", "must not contain control characters (U+000A at 0)"),
    ("tab\there", "must not contain control characters (U+0009 at 3)"),
    ("esc\x1b", "must not contain control characters (U+001B at 3)"),
    ("del\x7f", "must not contain control characters (U+007F at 3)"),
    ("next\x85line", "must not contain control characters (U+0085 at 4)"),
    ("half\ud800", "must not contain a lone surrogate (U+D800 at 4)"),
])
def test_nul_other_control_characters_and_lone_surrogates_are_refused(value: str,
                                                                      problem: str) -> None:
    assert text_problem(value) == problem
    assert not is_clean_text(value)


def test_free_text_may_hold_tabs_and_line_breaks_but_no_other_control() -> None:
    assert text_problem("CONSULT\r\n\tplease", multiline=True) is None
    assert text_problem("CONSULT\x00", multiline=True) is not None
    assert text_problem("bell\x07", multiline=True) is not None
    assert text_problem("\x0b", multiline=True) is not None


@given(st.text())
def test_refused_exactly_when_a_character_is_a_control_or_a_surrogate(value: str) -> None:
    bad = any(unicodedata.category(c) in ("Cc", "Cs") for c in value)
    assert (text_problem(value) is not None) == bad
    assert is_clean_text(value) == (not bad)


def _bodies(model: type[BaseModel] = Body) -> list[type[Body]]:
    found: list[type[Body]] = []
    for sub in model.__subclasses__():
        found.append(sub)
        found.extend(_bodies(sub))
    return found


def _string_keys(model: type[Body]) -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        if "str" in str(field.annotation) and (field.alias or name) not in model.secrets:
            keys.append(field.alias or name)
    return keys


# Routes whose bodies are defined outside schemas.py: imported so that they are found.
ELSEWHERE = (control.AuthorizeIn, sms.InboundIn)
BODIES = [(model, key) for model in _bodies() for key in _string_keys(model)]


def test_every_request_body_has_string_fields_to_check() -> None:
    found = {(model.__name__, key) for model, key in BODIES}
    assert {("AccountIn", "name"), ("LoginIn", "login"), ("AuthorizeIn", "line"),
            ("SessionStartIn", "session_id"), ("InboundIn", "from"),
            ("ChannelsIn", "email")} <= found


@pytest.mark.parametrize(("model", "key"), BODIES,
                         ids=[f"{m.__name__}.{k}" for m, k in BODIES])
def test_every_string_of_every_request_body_refuses_a_nul_at_its_key(
    model: type[Body], key: str,
) -> None:
    data: dict[str, Any] = {key: "a\x00b"}
    with pytest.raises(ValueError) as raised:
        model.model_validate(data)
    errors = raised.value.errors()  # type: ignore[attr-defined]
    assert [(e["loc"], e["type"]) for e in errors] == [((key,), "control_character")]


def test_a_password_is_a_secret_not_text_it_may_hold_anything() -> None:
    assert LoginIn.model_validate({"login": "jan", "password": "a\x00\tb"}).password == "a\x00\tb"
    assert UserIn.model_validate({"password": "long\x00enough", "role": "user"}).password
