"""Keywords texted to 1921 (rules.md, "Check (consult)"): CONSULT in any case,
surrounding spaces ignored; anything else is unknown (and gets the help text)."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from conso.sms.keywords import CONSULT_NUMBER, Keyword, keyword_of


def test_the_short_code_is_1921() -> None:
    assert CONSULT_NUMBER == "1921"


@pytest.mark.parametrize("text", [
    "CONSULT", "consult", "Consult", "cOnSuLt", " CONSULT", "CONSULT ", "  consult  ",
    "\tConsult\n", "\r\nCONSULT\r\n",
])
def test_consult_in_any_case_with_spaces_is_consult(text: str) -> None:
    assert keyword_of(text) is Keyword.CONSULT


@pytest.mark.parametrize("text", [
    "", " ", "HELP", "STOP", "CONSULTATION", "CONSUL", "CON SULT", "CONSULT please",
    "consult?", "CONSULT.", "C0NSULT", "'CONSULT'", "SOLDE", "1921",
])
def test_other_texts_are_unknown(text: str) -> None:
    assert keyword_of(text) is Keyword.UNKNOWN


@given(st.sampled_from([" ", "\t", "\n", ""]).flatmap(
    lambda pad: st.tuples(st.just(pad), st.lists(st.booleans(), min_size=7, max_size=7))))
def test_property_any_casing_and_padding_of_consult(case: tuple[str, list[bool]]) -> None:
    pad, upper = case
    word = "".join(c.upper() if u else c for c, u in zip("consult", upper, strict=True))
    assert keyword_of(pad + word + pad * 2) is Keyword.CONSULT


@given(st.text(max_size=30))
def test_property_a_text_without_the_word_is_unknown(text: str) -> None:
    assume("consult" not in text.casefold())
    assert keyword_of(text) is Keyword.UNKNOWN


@given(st.text(min_size=1, max_size=10).filter(lambda extra: extra.strip() != ""))
def test_property_consult_with_other_words_is_unknown(extra: str) -> None:
    assert keyword_of("CONSULT " + extra) is Keyword.UNKNOWN
