"""What text conso keeps: no NUL, no other control character, no lone surrogate.

PostgreSQL refuses NUL in a text value, SQLite keeps it, and neither can encode a lone
surrogate (U+D800 to U+DFFF) as UTF-8; a control character in an id, a login or a name
is never meant. Every string from outside (an id, a line, a login, a name, a path
segment, a query parameter) is held to `text_problem` at the edge, before it reaches a
store, so that both stores answer the same: a 4xx, or a rejected record, never a 5xx.

Pure: no I/O. It says what is wrong; the caller decides how to refuse (a 422, a
rejected record) and where the value was.
"""

from __future__ import annotations

import re

# Unicode's control characters (Cc: C0, DEL, C1) and the surrogates.
_SINGLE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# The same, but tab, line feed and carriage return: free text such as an SMS.
_MULTILINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why `value` cannot be taken as text, or None when it can.

    Refused: NUL and every other control character (U+0000 to U+001F, U+007F to U+009F;
    with `multiline`, tab, line feed and carriage return are allowed) and lone
    surrogates. The answer names the first offending character, e.g.
    "must not contain control characters (U+0000 at 1)"."""
    found = (_MULTILINE if multiline else _SINGLE_LINE).search(value)
    if found is None:
        return None
    code = ord(found.group())
    if 0xD800 <= code <= 0xDFFF:
        return f"must not contain a lone surrogate (U+{code:04X} at {found.start()})"
    return f"must not contain control characters (U+{code:04X} at {found.start()})"


def is_clean_text(value: str, *, multiline: bool = False) -> bool:
    """`text_problem(value) is None`, for the hot paths that only need a yes or no."""
    return (_MULTILINE if multiline else _SINGLE_LINE).search(value) is None
