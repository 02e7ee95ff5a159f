"""Keywords a subscriber texts to 1921 (pure: no I/O).

`CONSULT` in any case, surrounding spaces ignored, asks for the usage summary;
`CONTINUE` goes on roaming with data past the roaming data cap for the rest of the
cycle (rules.md); anything else gets a short help text.
"""

from __future__ import annotations

from enum import StrEnum

CONSULT_NUMBER = "1921"


class Keyword(StrEnum):
    CONSULT = "consult"
    CONTINUE = "continue"
    UNKNOWN = "unknown"


def keyword_of(text: str) -> Keyword:
    word = text.strip().casefold()
    if word == "consult":
        return Keyword.CONSULT
    if word == "continue":
        return Keyword.CONTINUE
    return Keyword.UNKNOWN
