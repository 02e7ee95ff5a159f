"""The API's OpenAPI document (/openapi.json) against the API itself, with schemathesis.

A real `conso serve` on each store (an SQLite file; a fresh PostgreSQL database), an
account, users, a line of each kind of plan, usage, a message and open sessions
provisioned through the API, then `st run --checks all` over the served document:
schema-valid and schema-breaking requests from it (examples, coverage, fuzzing and
stateful phases), bounded in examples, derandomized. Nothing may fail: no 5xx, no
status, content type, header or body outside the document, every schema-breaking
request refused with a 4xx, every schema-valid one accepted (or refused for the state
it met: 401, 403, 404, 409, 429), no route that ignores auth, 405 with a true `Allow`.

Callers: the operator key, which may do everything (api.md), so every operation is
reached, in every phase; then a line user's token (not an admin), whose answers are
mostly the 403s and 404s the document declares, and 200s for the one line the user
sees. Each operation is also sent without a key and with a wrong one (`ignored_auth`:
401). Requests that must name the provisioned state to be valid (an existing account, a
line's plan kind) are steered to it by api_schemathesis_hooks.py, which says why.

The counts (cases generated, requests sent, checks run, failures, answers by status)
are printed and written to test-artifacts/schemathesis-api-<store>-<caller>.txt.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis

from .helpers import OPERATOR_KEY, PASSWORD, Server, login, start_server, stop_server
from .pg_support import fresh_database

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
HOOKS = Path(__file__).with_name("api_schemathesis_hooks.py")
PROBLEM_JSON = "application/problem+json"

# Bounds of a run: examples per operation and phase, and a wall-clock cap (the test
# fails past it). Both stores, both callers, take about two minutes and a half on two
# cores. The user's run is shorter: it reaches the same code, to be refused earlier.
MAX_EXAMPLES = {"operator": 20, "user": 10}
PHASES = {"operator": "examples,coverage,fuzzing,stateful", "user": "examples,coverage,fuzzing"}
WALL_CLOCK_SECONDS = 150

# Every check runs (`--checks all`) but these, which cannot apply to this API:
# - ensure_resource_availability (stateful) takes a 2xx POST to a collection for the
#   creation of the item below it, and flags a 404 there. The one such pair here is
#   POST /sessions and /sessions/{id}/update|terminate, and a start that the line's state
#   refuses (an unknown line, a spending limit reached, a barring) is a 200 with
#   `granted: 0` and the reason that opens no session (api.md "Network control"; RFC 4006:
#   a refused CCR-Initial leaves no session), so its update or end is rightly a 404.
#   (schemathesis 4.32.5 lets `--checks all` win over a per-operation `enabled = false`
#   in a config file, so the check is left out here, for the whole run.)
INAPPLICABLE = ["ensure_resource_availability"]

ACCOUNT = "st-seed"
ADMIN, USER, LOGIN = "st-admin", "st-user", "st-login"
RESET = "st-reset"      # whose password the operator's run may reset (no token in use)
LINE_IDS = {"bundle": "+32470900001", "payg": "+32470900002",
            "volume": "st-box-volume", "unlimited": "st-box-unlimited"}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def served(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Server]]:
    """A fresh server on each store (nothing left by other tests in its state)."""
    workdir = tmp_path_factory.mktemp(f"api-openapi-{request.param}")
    with contextlib.ExitStack() as stack:
        url = None if request.param == "sqlite" else stack.enter_context(fresh_database())
        server = start_server(workdir, workdir / "conso.db", db_url=url)
        stack.callback(stop_server, server)
        yield request.param, server


@pytest.fixture(scope="module")
def document(served: tuple[str, Server]) -> dict[str, Any]:
    _, server = served
    answer = httpx.get(f"{server.base_url}/openapi.json", timeout=30)
    assert answer.status_code == 200
    found: dict[str, Any] = answer.json()
    return found


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


# -- the document ------------------------------------------------------------------------


def test_the_document_is_valid_openapi_3_0(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.0.3"
    schemathesis.openapi.from_dict(document).validate()       # the OpenAPI 3.0 meta-schema


def test_every_error_is_a_documented_problem(document: dict[str, Any]) -> None:
    for method, path, operation in _operations(document):
        answers = operation["responses"]
        errors = {code for code in answers if code >= "400"}
        assert {"400", "413", "503"} <= errors, (method, path)
        if path.startswith("/api/v1/"):
            assert "422" in errors, (method, path)
        if operation.get("security"):
            assert "401" in errors, (method, path)
        creates = method == "PUT" and path == "/api/v1/lines/{line_id}"
        if ("{line_id}" in path or "{session_id}" in path) and not creates:
            assert "404" in errors, (method, path)
        for code in errors:
            assert list(answers[code]["content"]) == [PROBLEM_JSON], (method, path, code)
    problem = document["components"]["schemas"]["ProblemDetails"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}


def test_metrics_and_health_say_their_types(document: dict[str, Any]) -> None:
    metrics = document["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert list(metrics) == ["text/plain; version=0.0.4"]
    health = document["paths"]["/healthz"]["get"]["responses"]
    assert list(health["200"]["content"]) == ["application/json"]
    assert "503" in health


def test_the_constraints_the_server_checks_are_in_the_document(
        document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    line = schemas["LineIn"]["properties"]
    assert {"king", "payg", "internet-150"} <= set(line["plan"]["enum"])
    assert (line["cycle_day"]["minimum"], line["cycle_day"]["maximum"]) == (1, 28)
    assert schemas["SpendingLimitIn"]["properties"]["amount_eur"]["enum"] == [5, 10, 20, 50]
    assert schemas["AlertsIn"]["properties"]["rules"]["maxItems"] == 5
    assert schemas["ChannelsIn"]["properties"]["sms"] == {"type": "boolean", "title": "Sms"}
    assert schemas["AccountIn"]["properties"]["name"]["pattern"]
    update = schemas["SessionUpdateIn"]["properties"]
    assert update["request_number"]["maximum"] == 2**32 - 1
    assert document["paths"]["/api/v1/usage"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]["maxItems"] == 10_000


def test_a_405_allows_every_method_of_the_path(served: tuple[str, Server]) -> None:
    _, server = served
    with server.operator() as client:
        answer = client.request("OPTIONS", "/api/v1/lines/+32470000001/spending-limit")
    assert answer.status_code == 405
    assert answer.headers["content-type"].startswith(PROBLEM_JSON)
    assert answer.headers["allow"] == "GET, PUT, DELETE"


# -- schemathesis over it ------------------------------------------------------------------


def _provision(client: httpx.Client) -> dict[str, Any]:
    """The state the hooks steer requests to (api_schemathesis_hooks.py), as JSON."""

    def ok(answer: httpx.Response) -> dict[str, Any]:
        assert answer.status_code in (200, 201), answer.text
        body: dict[str, Any] = answer.json()
        return body

    plans = client.get("/api/v1/plans").json()
    kinds = {plan["id"]: plan["kind"] for plan in plans}
    internet = [p for p in plans if p["kind"] == "internet"]
    plan_of = {
        "bundle": next(p["id"] for p in plans if p["kind"] == "bundle"),
        "payg": next(p["id"] for p in plans if p["kind"] == "payg"),
        "volume": next(p["id"] for p in internet if p["included"].get("data") is not None),
        "unlimited": next(p["id"] for p in internet if p["included"].get("data") is None),
    }
    ok(client.put(f"/api/v1/accounts/{ACCOUNT}", json={"name": "Schemathesis",
                                                        "kind": "business"}))
    for name, role in ((ADMIN, "admin"), (USER, "user"), (LOGIN, "user"), (RESET, "user")):
        ok(client.put(f"/api/v1/accounts/{ACCOUNT}/users/{name}",
                      json={"password": PASSWORD, "role": role,
                            "email": f"{name}@example.com"}))
    for kind, line_id in LINE_IDS.items():
        extra = {"user": USER, "imsi": "206019900000001"} if kind == "bundle" else {}
        ok(client.put(f"/api/v1/lines/{line_id}",
                      json={"account_id": ACCOUNT, "plan": plan_of[kind], **extra}))
    ok(client.put(f"/api/v1/lines/{LINE_IDS['payg']}/spending-limit", json={"amount_eur": 10}))
    now = datetime.now(UTC).isoformat()
    fed = ok(client.post("/api/v1/usage", json=[
        {"id": f"seed-{n}", "line": LINE_IDS[kind], "service": "data",
         "quantity": 5_000_000, "at": now} for n, kind in enumerate(LINE_IDS)]))
    assert fed["accepted"] == len(LINE_IDS), fed
    ok(client.post("/api/v1/sms/inbound", json={"from": LINE_IDS["bundle"], "to": "1921",
                                                "text": "CONSULT"}))
    sessions = [f"st-session-{n}" for n in range(6)]
    for n, session in enumerate(sessions):
        ok(client.post("/api/v1/sessions", json={
            "session_id": session, "line": LINE_IDS[("bundle", "payg")[n % 2]],
            "service": "data", "requested": 1_000_000}))
    return {"account": ACCOUNT, "users": [ADMIN, USER],
            "login": {"login": LOGIN, "password": PASSWORD}, "reset": RESET, "lines": LINE_IDS,
            "plan_kinds": kinds, "update_sessions": sessions[:3],
            "end_sessions": sessions[3:], "now": now}


@pytest.fixture(scope="module")
def provisioned(served: tuple[str, Server]) -> tuple[dict[str, Any], dict[str, str]]:
    """The provisioned state, and the bearer token of each caller: the user's is taken
    before any run, whose logins soon meet the per-address throttle (429)."""
    _, server = served
    with server.operator() as client:
        seed = _provision(client)
    return seed, {"operator": OPERATOR_KEY, "user": login(server, USER)}


@pytest.mark.parametrize("caller", ["operator", "user"])
def test_schemathesis_finds_nothing(served: tuple[str, Server],
                                    provisioned: tuple[dict[str, Any], dict[str, str]],
                                    caller: str, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    """`caller` "operator": the operator key, every operation, every phase. "user": the
    token of a line user (not an admin), who sees one line: the 403s (the operator key
    or an admin needed) and 404s (another's line) the document declares are checked
    against real answers. The user's run leaves out POST /auth/logout, which would
    revoke the token it runs with."""
    store, server = served
    seed, tokens = provisioned
    report, events = tmp_path / "schemathesis.json", tmp_path / "schemathesis.ndjson"
    env = {**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS), "CONSO_ST_SEED": json.dumps(seed)}
    command = [
        sys.executable, "-m", "schemathesis.cli", "run", f"{server.base_url}/openapi.json",
        "--url", server.base_url, "--header", f"Authorization: Bearer {tokens[caller]}",
        "--checks", "all", "--exclude-checks", ",".join(INAPPLICABLE),
        "--phases", PHASES[caller], "--mode", "all",
        *(["--exclude-path", "/api/v1/auth/logout"] if caller == "user" else []),
        "--max-examples", str(MAX_EXAMPLES[caller]), "--generation-deterministic",
        "--workers", "1", "--request-timeout", "10", "--suppress-health-check", "all",
        "--no-color", "--report", "json,ndjson", "--report-json-path", str(report),
        "--report-ndjson-path", str(events),
    ]
    started = time.monotonic()
    try:
        run = subprocess.run(command, env=env, capture_output=True, text=True,
                             timeout=WALL_CLOCK_SECONDS, check=False, cwd=tmp_path)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"schemathesis on {store} took over {WALL_CLOCK_SECONDS} s\n"
                    f"{_text(exc.stdout)[-5000:]}")
    elapsed = time.monotonic() - started
    if not report.exists():
        pytest.fail(f"schemathesis wrote no report (exit {run.returncode})\n"
                    f"{run.stdout[-5000:]}\n{run.stderr[-5000:]}")
    counts = _counts(report, events)
    summary = _summary(f"{store}, {caller}", counts, elapsed)
    with capsys.disabled():
        print(f"\n{summary}")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"schemathesis-api-{store}-{caller}.txt").write_text(
        f"{summary}\n\n{run.stdout[-20000:]}")
    assert run.returncode == 0 and counts["failures"] == 0, (
        f"{summary}\n{run.stdout[-20000:]}\n{run.stderr[-5000:]}")
    assert counts["generated"] > 0 and counts["checks"] > 0, summary


def _text(output: str | bytes | None) -> str:
    if isinstance(output, bytes):
        return output.decode(errors="replace")
    return output or ""


def _counts(report: Path, events: Path) -> dict[str, Any]:
    """From schemathesis's reports: cases generated, requests sent, checks run and how
    they ended, failures, and the answers by generation mode and status."""
    data = json.loads(report.read_text())
    cases = data["test_cases"]
    checks: Counter[str] = Counter()
    answers: Counter[tuple[str, int | None]] = Counter()
    requests = 0
    for line in events.read_text().splitlines():
        recorder = json.loads(line).get("ScenarioFinished", {}).get("recorder") or {}
        for results in (recorder.get("checks") or {}).values():
            checks.update(result["status"] for result in results)
        for case_id, case in (recorder.get("cases") or {}).items():
            exchange = (recorder.get("interactions") or {}).get(case_id)
            if exchange is None:
                continue
            requests += 1
            mode = case["value"]["meta"]["generation"]["mode"]
            answers[mode, (exchange.get("response") or {}).get("status_code")] += 1
    return {"version": data["schemathesis_version"], "operations": data["operations"]["tested"],
            "generated": cases["generated"], "requests": requests,
            "checks": sum(checks.values()), "check_results": dict(checks),
            "failures": cases["unique_failures"] + cases["errored"],
            "answers": answers, "running_time": data["running_time"]}


def _summary(store: str, counts: dict[str, Any], elapsed: float) -> str:
    answers: Counter[tuple[str, int | None]] = counts["answers"]
    by_mode = "; ".join(
        f"{mode} " + ", ".join(f"{status}: {n}" for (m, status), n in
                               sorted(answers.items(), key=str) if m == mode)
        for mode in ("positive", "negative"))
    results = ", ".join(f"{status} {n}" for status, n in sorted(counts["check_results"].items()))
    return (f"schemathesis {counts['version']} on {store}: {counts['operations']} operations, "
            f"{counts['generated']} cases generated, {counts['requests']} requests, "
            f"{counts['checks']} checks ({results}), {counts['failures']} failures; "
            f"answers: {by_mode}; {counts['running_time']:.1f} s in schemathesis, "
            f"{elapsed:.1f} s in all")
