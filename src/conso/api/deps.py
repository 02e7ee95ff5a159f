"""Dependencies shared by the routes: the services and the caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from conso.access import Principal
from conso.bootstrap import Services

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


ServicesDep = Annotated[Services, Depends(services)]
CallerDep = Annotated[Principal, Depends(caller)]
