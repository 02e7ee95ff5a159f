"""Keywords a subscriber texts to 1921 (pure: no I/O).

`CONSULT` in any case, surrounding spaces ignored, asks for the usage summary;
anything else gets a short help text.
"""

from __future__ import annotations

from enum import StrEnum

CONSULT_NUMBER = "1921"


class Keyword(StrEnum):
    CONSULT = "consult"
    UNKNOWN = "unknown"


def keyword_of(text: str) -> Keyword:
    if text.strip().casefold() == "consult":
        return Keyword.CONSULT
    return Keyword.UNKNOWN
