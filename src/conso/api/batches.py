"""Batch bodies: a JSON array or NDJSON, as `POST /usage` and `POST /provision` take them.

A JSON array (application/json) must be one; NDJSON (application/x-ndjson, or no media
type and a first byte that is not "[") is one item a line, and a line that is not JSON
stays in place as `None`, so that the batch rejects it by its index alone.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from conso.errors import InvalidInput, TooLarge


async def read_batch(request: Request, *, max_bytes: int, max_items: int,
                     what: str) -> list[Any]:
    """A batch request's items: 413 past `max_bytes`, 422 past `max_items` or for a body
    that is no batch."""
    body = await request.body()
    if len(body) > max_bytes:
        raise TooLarge(max_bytes)
    items = decode_batch(body, request.headers.get("content-type", ""), what)
    if len(items) > max_items:
        raise InvalidInput(("body",), f"{len(items)} {what}; at most {max_items} a call")
    return items


def decode_batch(body: bytes, content_type: str, what: str) -> list[Any]:
    """The items of a batch body; `what` names them in errors ("records", "items")."""
    media = content_type.split(";", maxsplit=1)[0].strip().lower()
    stripped = body.lstrip()
    if not stripped:
        return []
    ndjson = "ndjson" in media or "jsonl" in media or (
        media not in ("application/json", "text/json") and stripped[:1] != b"[")
    if not ndjson:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise InvalidInput(("body",), f"not valid JSON: {exc}") from None
        if not isinstance(data, list):
            raise InvalidInput(("body",), f"expected a JSON array of {what} "
                               "(or send NDJSON as application/x-ndjson)")
        return data
    items: list[Any] = []
    for raw in body.splitlines():
        if not raw.strip():
            continue
        try:
            items.append(orjson.loads(raw))
        except orjson.JSONDecodeError:
            # Kept in place so indexes match the lines; rejected as not an object.
            items.append(None)
    return items
