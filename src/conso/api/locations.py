"""Where a refused input is, in HTTP's words.

The service layer names the field only (`("rules", 0, "value")`, `("amount_eur",)`), so
that a Diameter or 5G front end never tells its peer about a "body". A route adds the
part of the request that carried it ("body", or "path" for a path parameter) before the
problem+json answer is built (problems.py). This module must not decide what is valid,
nor build answers.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager

from conso.errors import InvalidInput

HTTP_LOCATIONS = ("body", "path", "query")


def http_located(error: InvalidInput, *, path: Collection[str] = ()) -> InvalidInput:
    """`error` located in the request: in the path when its field is one of `path`, in the
    body otherwise; an error already located in the request is returned as it is."""
    if error.loc and error.loc[0] in HTTP_LOCATIONS:
        return error
    where = "path" if error.loc and error.loc[0] in path else "body"
    return InvalidInput((where, *error.loc), error.msg)


@contextmanager
def located_in_request(*, path: Collection[str] = ()) -> Iterator[None]:
    """Re-raise an `InvalidInput` from the block located in the request (`http_located`)."""
    try:
        yield
    except InvalidInput as exc:
        located = http_located(exc, path=path)
        if located is exc:
            raise
        raise located from None
