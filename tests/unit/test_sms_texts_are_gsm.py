"""Every SMS text conso writes, in each language, is in the GSM 03.38 alphabet, so it goes
as data_coding 0 with 160 characters a part, not UCS-2 with 70 (sms.md)."""

from __future__ import annotations

import pytest

from conso.notify import templates
from conso.sms.smpp.encoding import is_gsm


def _texts(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _texts(item)]
    return []


@pytest.mark.parametrize("language", templates.LANGUAGES)
def test_every_sms_template_is_gsm(language: str) -> None:
    texts = _texts(templates._T[language]) + list(
        templates._SERVICE[language].values())
    assert texts
    assert [text for text in texts if not is_gsm(text)] == []


@pytest.mark.parametrize("language", templates.LANGUAGES)
def test_the_help_text_is_gsm(language: str) -> None:
    assert is_gsm(templates.help_text(language))
