"""`/docs`: Swagger UI on the API's OpenAPI document, from this project's own files.

Swagger UI's script and style sheet are vendored in `static/` (from the npm package
swagger-ui-dist, with its licence), and it is started by `static/docs.js`, not by an
inline script: the page works under the strict Content-Security-Policy of every page
(`headers.py`) and asks no other origin for anything. This module only renders that page.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from conso.web.routes import templates

router = APIRouter(include_in_schema=False)


@router.get("/docs")
def docs(request: Request) -> HTMLResponse:
    app = request.app
    return templates.TemplateResponse(request, "docs.html", {
        "title": app.title, "openapi_url": app.openapi_url or "/openapi.json"})
