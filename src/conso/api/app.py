"""The FastAPI application: mounts every router and the problem+json handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp

from conso import __version__
from conso.api import (
    accounts,
    control,
    history,
    notifications,
    openapi,
    ops,
    problems,
    provisioning,
    selfcare,
    sms,
    usage,
)
from conso.bootstrap import Services
from conso.web import docs, fleet
from conso.web import routes as web
from conso.web.headers import SecurityHeaders


class _App(FastAPI):
    """The app with its security headers outermost: on every answer, also the 500s that
    Starlette's error middleware (outside any added middleware) writes."""

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(super().build_middleware_stack())


def create_app(services: Services) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        services.start()
        yield
        # Stopping the dispatcher here lets in-flight sends finish; the store is
        # closed by whoever built the services.
        services.stop()

    app = _App(
        lifespan=lifespan,
        title="conso",
        version=__version__,
        description="Real-time mobile consumption control. See api.md for the contract.",
        openapi_url="/openapi.json",
        docs_url=None,    # conso.web.docs serves /docs from the project's own files
        redoc_url=None,
    )
    app.state.services = services
    problems.install(app)
    openapi.install(app, services.catalog)
    for module in (provisioning, usage, selfcare, accounts, history, notifications,
                   control, sms, ops):
        app.include_router(module.router)
    app.include_router(web.router)
    app.include_router(fleet.router)
    app.include_router(docs.router)
    static = Path(web.__file__).parent / "static"
    app.mount("/static", StaticFiles(directory=static), name="static")
    return app
