"""The FastAPI application: mounts every router and the problem+json handlers."""

from __future__ import annotations

from fastapi import FastAPI

from conso import __version__
from conso.api import ops, problems, provisioning, selfcare, usage
from conso.bootstrap import Services


def create_app(services: Services) -> FastAPI:
    app = FastAPI(
        title="conso",
        version=__version__,
        description="Real-time mobile consumption control. See api.md for the contract.",
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.services = services
    problems.install(app)
    for module in (provisioning, usage, selfcare, ops):
        app.include_router(module.router)
    return app
