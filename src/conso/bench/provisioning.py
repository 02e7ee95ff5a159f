"""The bench's provisioning figures: lines a second through `POST /api/v1/provision`
(batches of 10,000, one transaction each) against the baseline of the same server's
`PUT /api/v1/lines/{id}`, one request a line, measured in the same run.

It must not touch the store: both go over HTTP, like an operator's provisioning run.
"""

from __future__ import annotations

import time
from urllib.parse import quote

import orjson

from conso.bench.client import Client

BATCH = 10_000


def _line(number: int) -> str:
    return f"+3249{number:07d}"          # a range the synthetic operator does not use


def _account(client: Client, account: str) -> None:
    client.call("PUT", f"/api/v1/accounts/{account}",
                orjson.dumps({"name": "Provisioning bench", "kind": "business"}))


def bulk_rate(port: int, key: str, count: int, first: int = 0) -> float:
    """Lines a second, `count` new lines (with their IMSIs) in batches of 10,000."""
    client = Client(port, key, timeout=600.0)
    try:
        _account(client, "bench-bulk")
        started = time.perf_counter()
        for start in range(first, first + count, BATCH):
            numbers = range(start, min(start + BATCH, first + count))
            body = b"\n".join(orjson.dumps({
                "type": "line", "line_id": _line(n), "account_id": "bench-bulk",
                "plan": "king-business", "imsi": f"20601{n:010d}"}) for n in numbers)
            answer = client.call("POST", "/api/v1/provision", body, "application/x-ndjson")
            if answer["rejected"] or answer["created"] != len(numbers):
                raise RuntimeError(f"provisioning batch: {answer['rejected'][:3]}")
        return count / (time.perf_counter() - started)
    finally:
        client.close()


def put_rate(port: int, key: str, count: int, first: int) -> float:
    """Lines a second, `count` new lines by one PUT each (the baseline)."""
    client = Client(port, key, timeout=60.0)
    try:
        _account(client, "bench-put")
        started = time.perf_counter()
        for n in range(first, first + count):
            client.call("PUT", f"/api/v1/lines/{quote(_line(n), safe='')}", orjson.dumps({
                "account_id": "bench-put", "plan": "king-business",
                "imsi": f"20601{n:010d}"}))
        return count / (time.perf_counter() - started)
    finally:
        client.close()
