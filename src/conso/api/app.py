"""The FastAPI application: mounts every router and the problem+json handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from conso import __version__
from conso.api import (
    control,
    notifications,
    ops,
    problems,
    provisioning,
    selfcare,
    sms,
    usage,
)
from conso.bootstrap import Services
from conso.web import routes as web


def create_app(services: Services) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        services.start()
        yield
        # Stopping the dispatcher here lets in-flight sends finish; the store is
        # closed by whoever built the services.
        services.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="conso",
        version=__version__,
        description="Real-time mobile consumption control. See api.md for the contract.",
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.services = services
    problems.install(app)
    for module in (provisioning, usage, selfcare, notifications, control, sms, ops):
        app.include_router(module.router)
    app.include_router(web.router)
    static = Path(web.__file__).parent / "static"
    app.mount("/static", StaticFiles(directory=static), name="static")
    return app
