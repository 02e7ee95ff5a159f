"""Every SMS text conso writes, in each language, is in the GSM 03.38 alphabet, so it goes
as data_coding 0 with 160 characters a part, not UCS-2 with 70 (sms.md)."""

from __future__ import annotations

import pytest

from conso.domain.control import BARRING_FUNCTIONS
from conso.notify import templates
from conso.sms.smpp.encoding import is_gsm

# Every table of words the SMS texts are made of.
TABLES = ("_T", "_S", "_SERVICE", "_BUNDLE", "_USED_UP", "_OF_SERVICE", "_UNLIMITED",
          "_BYTES", "_REACHED", "_FUNCTION")


def _texts(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _texts(item)]
    if isinstance(value, tuple):
        return [text for item in value for text in _texts(item)]
    return []


@pytest.mark.parametrize("language", templates.LANGUAGES)
def test_every_sms_template_is_gsm(language: str) -> None:
    texts = [text for table in TABLES for text in _texts(getattr(templates, table)[language])]
    assert texts
    assert [text for text in texts if not is_gsm(text)] == []


@pytest.mark.parametrize("language", templates.LANGUAGES)
def test_the_help_and_change_texts_are_gsm(language: str) -> None:
    assert is_gsm(templates.help_text(language))
    assert is_gsm(templates.barring_text(BARRING_FUNCTIONS[:4], BARRING_FUNCTIONS[4:],
                                         language))
    assert is_gsm(templates.limit_dropped_text(10_000_000, "King", language))
    assert is_gsm(templates.continue_reply("2026-11-30", language))
