"""Operations (api.md, "Operations"): health, metrics, the OpenAPI document, errors."""

from __future__ import annotations

import re

import httpx

from .helpers import Api, assert_problem, new_number, record

_SAMPLE = re.compile(r'^conso_usage_records_total\{outcome="(\w+)"\} ([0-9.e+]+)$', re.M)


def usage_counters(anon: httpx.Client) -> dict[str, float]:
    answer = anon.get("/metrics")
    assert answer.status_code == 200, answer.text
    return {outcome: float(value) for outcome, value in _SAMPLE.findall(answer.text)}


def test_healthz(anon: httpx.Client) -> None:
    answer = anon.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


def test_metrics_is_prometheus_text(anon: httpx.Client) -> None:
    answer = anon.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    assert "version=0.0.4" in answer.headers["content-type"]
    assert "# TYPE conso_usage_records_total counter" in answer.text
    assert "# HELP " in answer.text


def test_metrics_count_the_records_of_a_batch(anon: httpx.Client, api: Api) -> None:
    line = api.line(api.account())
    before = usage_counters(anon)
    repeat = record(line, "sms", 1)
    result = api.feed([record(line, "sms", 1), record(line, "voice", 60), repeat, repeat,
                       record(new_number(), "sms", 1)])
    assert (result["accepted"], result["duplicates"], len(result["rejected"])) == (3, 1, 1)
    after = usage_counters(anon)
    assert after["accepted"] - before.get("accepted", 0) == 3
    assert after["duplicate"] - before.get("duplicate", 0) == 1
    assert after["rejected"] - before.get("rejected", 0) == 1


def test_openapi_lists_the_usage_routes(anon: httpx.Client) -> None:
    answer = anon.get("/openapi.json")
    assert answer.status_code == 200
    document = answer.json()
    assert document["openapi"].startswith("3.")
    paths = document["paths"]
    assert "post" in paths["/api/v1/usage"]
    assert "get" in paths["/api/v1/lines/{line_id}/usage"]
    for path in ("/api/v1/plans", "/api/v1/accounts/{account_id}",
                 "/api/v1/lines/{line_id}", "/api/v1/auth/login", "/api/v1/me",
                 "/api/v1/accounts/{account_id}/lines"):
        assert path in paths, path


def test_docs_page(anon: httpx.Client) -> None:
    answer = anon.get("/docs")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert "openapi.json" in answer.text


def test_unknown_route_is_a_404_problem(anon: httpx.Client, op: httpx.Client) -> None:
    assert_problem(anon.get("/no/such/route"), 404)
    assert_problem(op.get("/api/v1/no-such-thing"), 404)
    assert_problem(op.get("/api/v2/plans"), 404)


def test_wrong_method_is_a_problem(op: httpx.Client) -> None:
    assert_problem(op.get("/api/v1/usage"), 405)


def _gauge(text: str, name: str) -> float:
    for row in text.splitlines():
        if row.startswith(name + " "):
            return float(row.split()[-1])
    raise AssertionError(f"{name} not in the metrics")


def test_metrics_show_the_outbox_and_the_open_sessions(anon: httpx.Client, api: Api) -> None:
    line = api.line(api.account(), plan="payg")
    before = anon.get("/metrics").text
    session = new_number().lstrip("+")
    started = api.client.post("/api/v1/sessions", json={
        "session_id": f"m-{session}", "line": line, "service": "data", "requested": 1000})
    assert started.json()["granted"] == 1000
    after = anon.get("/metrics").text
    assert _gauge(after, "conso_open_sessions") == _gauge(before, "conso_open_sessions") + 1
    assert 'conso_outbox_messages{status="queued"}' in after
    assert 'conso_outbox_messages{status="delivered"}' in after
    assert _gauge(after, "conso_cached_lines") >= 1
