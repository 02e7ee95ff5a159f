"""The portal as an installable app: its service worker's answer and the offline note.

The manifest and icons are plain static files (`static/manifest.webmanifest`, the PNGs
drawn by scripts/make-portal-icons.py); the worker itself is `static/sw.js`, served here
as `/portal/sw.js` so that it may control the portal's pages: `Service-Worker-Allowed:
/portal` widens its scope to `/portal` itself (the start page), and its own
Content-Security-Policy (headers.WORKER_POLICY) lets it fetch this origin, which the
policy of other non-HTML answers forbids. `no-cache` makes browsers look for a new
worker on every visit.

OFFLINE_NOTE holds the words app.js shows over a page or figures served from the
worker's copy ("as of 14:32"); app.js puts in the time, in the page's language and
Europe/Brussels time. This module serves and says; it reads no user data.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import Response

from conso.web.headers import WORKER_POLICY

router = APIRouter(include_in_schema=False)
WORKER = Path(__file__).parent / "static" / "sw.js"
WORKER_SCOPE = "/portal"

# `{time}` is replaced by app.js: "14:32" the same day, else with the date
# ("3 December at 14:32", "3 décembre à 14:32", "3 december om 14:32").
OFFLINE_NOTE = {
    "en": "You are offline. Figures as of {time}.",
    "fr": "Vous êtes hors ligne. Dernière mise à jour\u00a0: {time}.",
    "nl": "U bent offline. Laatst bijgewerkt: {time}.",
}


@router.get("/portal/sw.js")
def service_worker() -> Response:
    return Response(WORKER.read_bytes(), media_type="text/javascript",
                    headers={"Service-Worker-Allowed": WORKER_SCOPE,
                             "Cache-Control": "no-cache",
                             "Content-Security-Policy": WORKER_POLICY})
