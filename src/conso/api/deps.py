"""Dependencies shared by the routes: the services, the caller, and text-only parameters."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from conso.access import Principal
from conso.bootstrap import Services
from conso.domain.records import RecordError, parse_time
from conso.domain.text import text_problem
from conso.errors import InvalidInput

_bearer = HTTPBearer(auto_error=False, description="operator key or a token from /auth/login")


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    svc = services(request)
    return svc.auth.principal(None if credentials is None else credentials.credentials)


def text_parameters(request: Request) -> None:
    """Path segments and query parameters are text (domain/text.py): a line id such as
    `a%00b` is a 422 at `["path", "line_id"]` before anything looks it up, whatever the
    store. Every router of the API depends on it."""
    for name, value in request.path_params.items():
        if isinstance(value, str) and (problem := text_problem(value)) is not None:
            raise InvalidInput(("path", name), problem)
    for name, value in request.query_params.multi_items():
        if (problem := text_problem(value)) is not None:
            raise InvalidInput(("query", name), problem)


# RFC 3339's date-time (section 5.6) has a "T" between the date and the time; usage
# records may have a space too (domain/records.py), a query parameter may not: the
# OpenAPI document says `format: date-time`.
_DATE_TIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt]")


def query_time(name: str, value: str | None) -> datetime | None:
    """A query parameter's instant (RFC 3339, with its offset); a 422 at it otherwise."""
    if value is None:
        return None
    try:
        if not _DATE_TIME.match(value):
            raise RecordError(name, f"is not an RFC 3339 time: {value!r}")
        return parse_time(value, name)
    except RecordError as exc:
        raise InvalidInput(("query", name), exc.problem) from None


ServicesDep = Annotated[Services, Depends(services)]
CallerDep = Annotated[Principal, Depends(caller)]
TEXT_PARAMETERS = [Depends(text_parameters)]
