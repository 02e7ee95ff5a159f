"""The shapes of identifiers: accounts, logins, lines (E.164 or free internet ids)."""

from __future__ import annotations

import re

ACCOUNT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
LOGIN = re.compile(r"^[a-z0-9][a-z0-9._@+-]{0,63}\Z")
E164 = re.compile(r"^\+[1-9][0-9]{6,14}\Z")
IMSI = re.compile(r"^[0-9]{6,15}\Z")   # how the network names a SIM (diameter.md, nchf.md)
INTERNET_LINE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}\Z")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+\Z")
LANGUAGES = ("en", "fr", "nl")
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256


def is_mobile_number(line_id: str) -> bool:
    return E164.match(line_id) is not None
