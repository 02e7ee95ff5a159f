"""History (api.md, "Self-care"): a line's itemised records of a cycle, paged by cursor
and as CSV, its past cycles, and their usage and messages; on every store (the session
server runs on SQLite, PostgreSQL, and PostgreSQL shared by several processes)."""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from .conftest import UserClientFactory
from .helpers import Api, Server, assert_problem, error_fields, new_id, now_utc, record

BRUSSELS = ZoneInfo("Europe/Brussels")
CYCLE_DAY = 5
SERVICES = ("voice", "sms", "data")


def _month_before(day: date) -> date:
    return day.replace(year=day.year - 1, month=12) if day.month == 1 else day.replace(
        month=day.month - 1)


def cycle_start(at: datetime, cycle_day: int) -> date:
    """The first day of the cycle holding `at` (cycles start at 00:00 in Brussels)."""
    local = at.astimezone(BRUSSELS).date()
    start = local.replace(day=cycle_day)
    return start if local.day >= cycle_day else _month_before(start)


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), BRUSSELS)


@dataclass(frozen=True)
class Fleet:
    """An account with an admin, a user and their pay-per-use line (cycles from day 5);
    another account with its admin."""

    account: str
    admin: str
    user: str
    other_user: str
    line: str
    other_admin: str


@pytest.fixture(scope="module")
def fleet(api: Api) -> Fleet:
    account = api.account()
    admin = api.user(account, role="admin")
    user = api.user(account)
    other_user = api.user(account)
    line = api.line(account, "payg", user=user, cycle_day=CYCLE_DAY)
    other = api.account()
    return Fleet(account, admin, user, other_user, line, api.user(other, role="admin"))


def fresh_line(api: Api, fleet: Fleet, plan: str = "payg") -> str:
    return api.line(fleet.account, plan, user=fleet.user, cycle_day=CYCLE_DAY)


def past_records(line: str, start: date, count: int, seed: int) -> list[dict[str, Any]]:
    """`count` records of mixed services at random times in the cycle from `start` (its
    first 27 days: inside any cycle), some sharing one instant."""
    rng = random.Random(seed)
    first = midnight(start)
    shared = first + timedelta(days=3, hours=7)
    records = []
    for n in range(count):
        service = SERVICES[n % 3]
        at = shared if n % 10 == 0 else first + timedelta(seconds=rng.randrange(27 * 86400))
        quantity = {"voice": rng.randrange(1, 600), "sms": 1,
                    "data": rng.randrange(1, 5_000_000)}[service]
        records.append(record(line, service, quantity, at=at, record_id=new_id(f"r{n}")))
    return records


def records_of(client: httpx.Client, line: str, **params: Any) -> httpx.Response:
    return client.get(f"/api/v1/lines/{line}/records", params=params)


def all_pages(client: httpx.Client, line: str, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Every record, following next_cursor; and how many pages that took."""
    found: list[dict[str, Any]] = []
    pages = 0
    cursor = None
    while True:
        answer = records_of(client, line, **params, **({"cursor": cursor} if cursor else {}))
        assert answer.status_code == 200, answer.text
        body = answer.json()
        found += body["records"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return found, pages
        assert pages < 10_000, "the cursor never ends"


def csv_of(client: httpx.Client, line: str,
           **params: Any) -> tuple[httpx.Response, list[dict[str, str]]]:
    answer = client.get(f"/api/v1/lines/{line}/records", params=params,
                        headers={"Accept": "text/csv"})
    assert answer.status_code == 200, answer.text
    return answer, list(csv.DictReader(io.StringIO(answer.text)))


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


# -- paging -----------------------------------------------------------------------------


def test_the_pages_show_every_record_of_the_cycle_once_oldest_first(
        api: Api, op: httpx.Client, fleet: Fleet) -> None:
    line = fresh_line(api, fleet)
    previous = _month_before(cycle_start(now_utc(), CYCLE_DAY))
    sent = past_records(line, previous, 250, seed=1)
    assert api.feed(sent)["accepted"] == len(sent)
    found, pages = all_pages(op, line, cycle=previous.isoformat(), limit=37)
    ids = [r["id"] for r in found]
    assert sorted(ids) == sorted(r["id"] for r in sent) and len(set(ids)) == len(ids)
    assert pages == -(-len(sent) // 37)
    times = [instant(r["at"]) for r in found]
    assert times == sorted(times)
    # Records of one instant (every tenth here) are paged through like the others: the
    # cursor may fall between two of them.
    assert len(set(times)) < len(times)
    sent_by_id = {r["id"]: r for r in sent}
    for shown in found:
        assert instant(shown["at"]) == instant(sent_by_id[shown["id"]]["at"])
        assert shown["service"] == sent_by_id[shown["id"]]["service"]
        assert shown["quantity"] == sent_by_id[shown["id"]]["quantity"]
        assert shown["country"] == "BE" and shown["direction"] == "out"


def test_a_page_is_100_records_unless_asked_and_at_most_1000(
        api: Api, op: httpx.Client, fleet: Fleet) -> None:
    line = fresh_line(api, fleet)
    previous = _month_before(cycle_start(now_utc(), CYCLE_DAY))
    api.feed(past_records(line, previous, 120, seed=2))
    first = records_of(op, line, cycle=previous.isoformat()).json()
    assert len(first["records"]) == 100 and first["next_cursor"]
    rest = records_of(op, line, cycle=previous.isoformat(), cursor=first["next_cursor"]).json()
    assert len(rest["records"]) == 20 and rest["next_cursor"] is None
    whole = records_of(op, line, cycle=previous.isoformat(), limit=1000).json()
    assert len(whole["records"]) == 120
    assert_problem(records_of(op, line, limit=1001), 422)


def test_records_that_arrive_while_paging_are_not_shown_twice(
        api: Api, op: httpx.Client, fleet: Fleet) -> None:
    line = fresh_line(api, fleet)
    previous = _month_before(cycle_start(now_utc(), CYCLE_DAY))
    api.feed(past_records(line, previous, 50, seed=3))
    first = records_of(op, line, cycle=previous.isoformat(), limit=25).json()
    late = past_records(line, previous, 10, seed=4)
    api.feed(late)
    cursor, seen = first["next_cursor"], [r["id"] for r in first["records"]]
    while cursor:
        page = records_of(op, line, cycle=previous.isoformat(), limit=25, cursor=cursor).json()
        seen += [r["id"] for r in page["records"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen))
    last_shown = max(instant(r["at"]) for r in first["records"])
    after = [r["id"] for r in late if instant(r["at"]) > last_shown]
    assert set(after) <= set(seen)


def test_a_service_filter_keeps_that_service_only(
        api: Api, op: httpx.Client, fleet: Fleet) -> None:
    line = fresh_line(api, fleet)
    previous = _month_before(cycle_start(now_utc(), CYCLE_DAY))
    sent = past_records(line, previous, 90, seed=5)
    api.feed(sent)
    for service in SERVICES:
        found, _ = all_pages(op, line, cycle=previous.isoformat(), service=service, limit=7)
        assert sorted(r["id"] for r in found) == sorted(
            r["id"] for r in sent if r["service"] == service)
    assert all_pages(op, line, cycle=previous.isoformat(), service="premium")[0] == []


def test_each_record_shows_its_charge_and_they_add_up_to_the_extra_spend(
        api: Api, op: httpx.Client, fleet: Fleet) -> None:
    line = fresh_line(api, fleet)
    now = now_utc()
    sent = [record(line, "sms", 1, at=now - timedelta(seconds=n)) for n in range(5)]
    sent.append(record(line, "premium", 1, at=now, amount_cents=299))
    api.feed(sent)
    found, _ = all_pages(op, line)            # the current cycle by default
    assert sorted(r["id"] for r in found) == sorted(r["id"] for r in sent)
    usage = api.usage(line)
    assert sum(r["charge_micros"] for r in found) == usage["extra_micros"] > 0
    assert all(r["charge_cents"] > 0 for r in found)
    premium = next(r for r in found if r["service"] == "premium")
    assert premium["amount_cents"] == 299
    assert all(r["amount_cents"] is None for r in found if r["service"] != "premium")


# -- CSV ----------------------------------------------------------------------------------


def test_the_csv_holds_what_the_pages_show(api: Api, op: httpx.Client, fleet: Fleet) -> None:
    line = fresh_line(api, fleet)
    previous = _month_before(cycle_start(now_utc(), CYCLE_DAY))
    api.feed(past_records(line, previous, 60, seed=6))
    for service in (None, "data"):
        params: dict[str, Any] = {"cycle": previous.isoformat()}
        if service:
            params["service"] = service
        pages, _ = all_pages(op, line, **params, limit=9)
        answer, rows = csv_of(op, line, **params)
        assert answer.headers["content-type"].startswith("text/csv")
        assert answer.headers["content-disposition"] == (
            f'attachment; filename="{line}-{previous.isoformat()}.csv"')
        assert [row["id"] for row in rows] == [r["id"] for r in pages]
        for row, page in zip(rows, pages, strict=True):
            assert (row["service"], int(row["quantity"]), instant(row["at"]),
                    int(row["charge_cents"]), int(row["charge_micros"]), row["country"]) == (
                page["service"], page["quantity"], instant(page["at"]),
                page["charge_cents"], page["charge_micros"], page["country"])


def test_a_csv_of_an_empty_cycle_is_its_header_row(
        api: Api, op: httpx.Client, fleet: Fleet) -> None:
    line = fresh_line(api, fleet)
    answer = op.get(f"/api/v1/lines/{line}/records", headers={"Accept": "text/csv"})
    assert answer.status_code == 200
    assert answer.text.splitlines() == [
        "id,service,direction,quantity,at,country,charge_cents,charge_micros,amount_cents"]


def test_json_is_the_answer_unless_csv_is_preferred(
        api: Api, op: httpx.Client, fleet: Fleet) -> None:
    line = fresh_line(api, fleet)
    url = f"/api/v1/lines/{line}/records"
    for accept in ("*/*", "application/json", "application/json, text/csv;q=0.5"):
        answer = op.get(url, headers={"Accept": accept})
        assert answer.headers["content-type"].startswith("application/json"), accept
    for accept in ("text/csv", "text/csv, application/json;q=0.9"):
        answer = op.get(url, headers={"Accept": accept})
        assert answer.headers["content-type"].startswith("text/csv"), accept


def test_a_cycle_of_20000_records_streams_as_csv(
        api: Api, op: httpx.Client, fleet: Fleet) -> None:
    line = fresh_line(api, fleet)
    previous = _month_before(cycle_start(now_utc(), CYCLE_DAY))
    sent = past_records(line, previous, 20_000, seed=7)
    for batch in (sent[:10_000], sent[10_000:]):
        assert api.feed(batch)["accepted"] == len(batch)
    chunks: list[bytes] = []
    with op.stream("GET", f"/api/v1/lines/{line}/records", params={"cycle": previous.isoformat()},
                   headers={"Accept": "text/csv"}, timeout=120) as answer:
        assert answer.status_code == 200
        # Streamed: sent as it is read, in pieces, with no length known up front.
        assert "content-length" not in answer.headers
        assert answer.headers.get("transfer-encoding") == "chunked"
        chunks.extend(answer.iter_raw())
    assert len(chunks) > 1
    rows = list(csv.DictReader(io.StringIO(b"".join(chunks).decode())))
    assert len(rows) == len(sent)
    assert sorted(row["id"] for row in rows) == sorted(r["id"] for r in sent)
    times = [instant(row["at"]) for row in rows]
    assert times == sorted(times)


def test_a_formula_in_a_csv_cell_is_written_as_text(
        api: Api, op: httpx.Client, fleet: Fleet) -> None:
    line = fresh_line(api, fleet)
    api.feed([record(line, "sms", 1, record_id=f"=HYPERLINK({new_id('x')})")])
    _, rows = csv_of(op, line)
    assert rows[0]["id"].startswith("'=HYPERLINK(")


# -- cycles -------------------------------------------------------------------------------


def test_past_cycles_have_their_own_records_usage_and_messages(
        api: Api, op: httpx.Client, fleet: Fleet) -> None:
    line = fresh_line(api, fleet)
    current = cycle_start(now_utc(), CYCLE_DAY)
    previous = _month_before(current)
    older = _month_before(_month_before(previous))      # a gap: a month without usage
    api.feed(past_records(line, previous, 12, seed=8) + past_records(line, older, 4, seed=9))
    api.feed([record(line, "sms", 1)])
    reply = op.post("/api/v1/sms/inbound", json={"from": line, "to": "1921", "text": "CONSULT"})
    assert reply.status_code == 200

    cycles = op.get(f"/api/v1/lines/{line}/cycles")
    assert cycles.status_code == 200, cycles.text
    listed = cycles.json()
    assert [c["cycle"] for c in listed] == [d.isoformat() for d in (current, previous, older)]
    assert [c["records"] for c in listed] == [1, 12, 4]
    assert [c["current"] for c in listed] == [True, False, False]
    for entry in listed:
        assert instant(entry["start"]) == midnight(date.fromisoformat(entry["cycle"]))
        usage = op.get(f"/api/v1/lines/{line}/usage", params={"cycle": entry["cycle"]}).json()
        assert usage["cycle"]["start"] == entry["start"]
        assert usage["cycle"]["end"] == entry["end"]
        assert usage["extra_cents"] == entry["extra_cents"]
        assert usage["services"]["sms"]["used"] == len(
            all_pages(op, line, cycle=entry["cycle"], service="sms")[0])

    def messages(cycle: date) -> list[dict[str, Any]]:
        answer = op.get(f"/api/v1/lines/{line}/messages", params={"cycle": cycle.isoformat()})
        assert answer.status_code == 200, answer.text
        found: list[dict[str, Any]] = answer.json()
        return found

    # Messages are of the cycle they were created in: the reply now, none before.
    assert "1921" in [m["sender"] for m in messages(current)]
    assert messages(previous) == []


def test_a_line_without_usage_lists_its_current_cycle_only(
        api: Api, op: httpx.Client, fleet: Fleet) -> None:
    line = fresh_line(api, fleet)
    listed = op.get(f"/api/v1/lines/{line}/cycles").json()
    assert [(c["cycle"], c["records"], c["extra_cents"], c["current"]) for c in listed] == [
        (cycle_start(now_utc(), CYCLE_DAY).isoformat(), 0, 0, True)]


# -- refused ------------------------------------------------------------------------------


@pytest.mark.parametrize(("params", "field"), [
    ({"cycle": "yesterday"}, "cycle"),
    ({"cycle": "2026-02-30"}, "cycle"),
    ({"cycle": "2026-13-05"}, "cycle"),
    ({"cycle": "2025-03-01"}, "cycle"),        # not day 5: not a cycle start of the line
    ({"service": "fax"}, "service"),
    ({"cursor": "not a cursor"}, "cursor"),
    ({"cursor": "bm90LWEtY3Vyc29y"}, "cursor"),  # base64 of text that is not one
    ({"cursor": "WyJ4IiwgInkiXQ"}, "cursor"),  # ["x", "y"]: no time in it
    ({"limit": "0"}, "limit"),
    ({"limit": "ten"}, "limit"),
])
def test_bad_parameters_are_refused_with_where(
        op: httpx.Client, fleet: Fleet, params: dict[str, str], field: str) -> None:
    problem = assert_problem(records_of(op, fleet.line, **params), 422)
    assert field in error_fields(problem)


def test_a_cycle_to_come_is_refused(op: httpx.Client, fleet: Fleet) -> None:
    current = cycle_start(now_utc(), CYCLE_DAY)
    coming = (midnight(current) + timedelta(days=35)).date().replace(day=CYCLE_DAY)
    for path in ("records", "usage", "messages"):
        answer = op.get(f"/api/v1/lines/{fleet.line}/{path}", params={"cycle": coming.isoformat()})
        assert "cycle" in error_fields(assert_problem(answer, 422)), path
    answer = op.get(f"/api/v1/lines/{fleet.line}/usage",
                    params={"cycle": current.isoformat(), "at": now_utc().isoformat()})
    assert_problem(answer, 422)


# -- who sees what ------------------------------------------------------------------------


def test_the_lines_user_and_the_accounts_admin_see_its_history_others_do_not(
        server: Server, api: Api, fleet: Fleet, user_client: UserClientFactory) -> None:
    api.feed([record(fleet.line, "sms", 1)])
    paths = [f"/api/v1/lines/{fleet.line}/records", f"/api/v1/lines/{fleet.line}/cycles"]
    for who in (fleet.user, fleet.admin):
        client = user_client(who)
        for path in paths:
            assert client.get(path).status_code == 200, (who, path)
        csv_answer = client.get(paths[0], headers={"Accept": "text/csv"})
        assert csv_answer.status_code == 200
    for who in (fleet.other_admin, fleet.other_user):
        client = user_client(who)
        for path in paths:
            assert_problem(client.get(path), 404)
            assert_problem(client.get(path, headers={"Accept": "text/csv"}), 404)
        # A bad parameter tells nothing either: the line is unknown to them first.
        assert_problem(client.get(paths[0], params={"cycle": "2020-01-01"}), 404)
    with server.client() as anon:
        assert_problem(anon.get(paths[0]), 401)


def test_an_unknown_line_is_a_404(op: httpx.Client) -> None:
    assert_problem(op.get("/api/v1/lines/+32479999999999/records"), 404)
    assert_problem(op.get("/api/v1/lines/+32479999999999/cycles"), 404)


def test_times_are_shown_in_brussels(api: Api, op: httpx.Client, fleet: Fleet) -> None:
    line = fresh_line(api, fleet)
    at = now_utc().replace(microsecond=0) - timedelta(seconds=5)
    api.feed([record(line, "sms", 1, at=at.astimezone(UTC))])
    shown = all_pages(op, line)[0][0]["at"]
    assert instant(shown) == at
    assert instant(shown).utcoffset() == at.astimezone(BRUSSELS).utcoffset()
