"""Feeding usage (POST /api/v1/usage) and reading it back (GET /lines/{line}/usage).

Expected charges are worked out by hand from the reference catalogue:
king out of bundle: voice 0.20/min (per second), sms 0.10, data 0.01/MB (per started kB);
payg: voice 0.15/min, sms 0.08, data 0.05/MB;
roaming outside the EU/EEA: voice out 1.50/min, voice in 0.80/min, sms 0.40, data 2.00/MB.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from .conftest import UserClientFactory
from .helpers import (
    KING_DATA_BYTES,
    KING_SMS,
    KING_VOICE_SECONDS,
    Api,
    assert_problem,
    ndjson,
    new_id,
    new_number,
    now_utc,
    record,
)

BRUSSELS = ZoneInfo("Europe/Brussels")
MB = 10**6
GB = 10**9


@pytest.fixture
def at() -> datetime:
    """The instant of the records of a test; usage is read with ?at= this instant."""
    return now_utc()


def services(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = answer["services"]
    return found


# -- bundles ---------------------------------------------------------------------------


def test_fresh_king_line_has_its_whole_bundle(api: Api, at: datetime) -> None:
    line = api.line(api.account())
    answer = api.usage(line, at)
    assert answer["line"] == line
    assert answer["plan"] == "king"
    assert answer["extra_cents"] == 0
    assert answer["spending_limit"] is None
    got = services(answer)
    assert got["voice"] == got["voice"] | {"unit": "second", "used": 0,
                                           "included": KING_VOICE_SECONDS,
                                           "remaining": KING_VOICE_SECONDS}
    assert got["sms"] == got["sms"] | {"unit": "message", "used": 0, "included": KING_SMS,
                                       "remaining": KING_SMS}
    assert got["data"] == got["data"] | {"unit": "byte", "used": 0,
                                         "included": KING_DATA_BYTES,
                                         "remaining": KING_DATA_BYTES}
    start = datetime.fromisoformat(answer["cycle"]["start"])
    end = datetime.fromisoformat(answer["cycle"]["end"])
    assert start <= at < end


def test_king_usage_within_the_bundle(api: Api, at: datetime) -> None:
    line = api.line(api.account())
    result = api.feed([
        record(line, "voice", 600, at=at),
        record(line, "voice", 30, at=at, direction="out"),
        record(line, "sms", 12, at=at),
        record(line, "data", 2_500_000, at=at),
        record(line, "data", 1 * GB, at=at, country="BE"),
    ])
    assert result == {"accepted": 5, "duplicates": 0, "rejected": []}
    answer = api.usage(line, at)
    got = services(answer)
    assert (got["voice"]["used"], got["voice"]["remaining"]) == (630, KING_VOICE_SECONDS - 630)
    assert (got["sms"]["used"], got["sms"]["remaining"]) == (12, KING_SMS - 12)
    assert got["data"]["used"] == GB + 2_500_000
    assert got["data"]["remaining"] == KING_DATA_BYTES - GB - 2_500_000
    assert answer["extra_cents"] == 0


def test_king_bundle_used_exactly_costs_nothing(api: Api, at: datetime) -> None:
    line = api.line(api.account())
    api.feed([
        record(line, "voice", KING_VOICE_SECONDS, at=at),
        record(line, "sms", KING_SMS, at=at),
        record(line, "data", KING_DATA_BYTES, at=at),
    ])
    answer = api.usage(line, at)
    for service in ("voice", "sms", "data"):
        assert services(answer)[service]["remaining"] == 0
    assert answer["extra_cents"] == 0


def test_king_out_of_bundle_is_charged(api: Api, at: datetime) -> None:
    line = api.line(api.account())
    # Each service crosses its allowance inside one record, to check the split.
    api.feed([
        record(line, "voice", KING_VOICE_SECONDS - 30, at=at),
        record(line, "voice", 120, at=at),                     # 90 s over: 0.30
        record(line, "sms", KING_SMS - 1, at=at),
        record(line, "sms", 4, at=at),                         # 3 over: 0.30
        record(line, "data", KING_DATA_BYTES - MB, at=at),
        record(line, "data", 3 * MB, at=at),                   # 2 MB over: 0.02
    ])
    answer = api.usage(line, at)
    got = services(answer)
    assert got["voice"]["used"] == KING_VOICE_SECONDS + 90
    assert got["sms"]["used"] == KING_SMS + 3
    assert got["data"]["used"] == KING_DATA_BYTES + 2 * MB
    for service in ("voice", "sms", "data"):
        assert got[service]["remaining"] == 0
    assert answer["extra_cents"] == 30 + 30 + 2


def test_data_is_billed_per_started_kilobyte(api: Api, at: datetime) -> None:
    line = api.line(api.account())
    # 1,500 bytes over the bundle: two started kB at 0.01 EUR/MB = 20 micro-euros.
    api.feed([record(line, "data", KING_DATA_BYTES + 1_500, at=at)])
    answer = api.usage(line, at)
    assert answer["extra_cents"] == 0
    assert answer["extra_micros"] == 20          # docs/api.md: the answer adds extra_micros


def test_premium_and_callme(api: Api, at: datetime) -> None:
    line = api.line(api.account())
    result = api.feed([
        record(line, "premium", 1, at=at, amount_cents=250),
        record(line, "premium", at=at, amount_cents=199),       # quantity defaults to 1
        record(line, "callme", 3, at=at),
    ])
    assert result["accepted"] == 3, result
    answer = api.usage(line, at)
    assert answer["extra_cents"] == 250 + 199
    assert services(answer)["sms"]["used"] == 0                # callme is no SMS


def test_incoming_calls_at_home_are_free(api: Api, at: datetime) -> None:
    line = api.line(api.account())
    api.feed([record(line, "voice", 3_600, at=at, direction="in")])
    answer = api.usage(line, at)
    assert answer["extra_cents"] == 0
    assert services(answer)["voice"]["remaining"] == KING_VOICE_SECONDS


# -- pay as you go -----------------------------------------------------------------------


def test_payg_charges_every_unit(api: Api, at: datetime) -> None:
    line = api.line(api.account("residential"), "payg")
    api.feed([
        record(line, "voice", 60, at=at),          # 0.15
        record(line, "sms", 2, at=at),             # 0.16
        record(line, "data", 3 * MB, at=at),       # 0.15
    ])
    answer = api.usage(line, at)
    assert answer["plan"] == "payg"
    got = services(answer)
    for service, used in (("voice", 60), ("sms", 2), ("data", 3 * MB)):
        assert got[service]["used"] == used
        assert got[service]["included"] is None
        assert got[service]["remaining"] is None
    assert answer["extra_cents"] == 15 + 16 + 15


# -- roaming -----------------------------------------------------------------------------


def test_roaming_outside_the_eu_is_charged_and_not_from_the_bundle(
    api: Api, at: datetime
) -> None:
    line = api.line(api.account())
    api.feed([
        record(line, "voice", 120, at=at, country="US"),                   # 3.00
        record(line, "voice", 60, at=at, country="US", direction="in"),    # 0.80
        record(line, "sms", 2, at=at, country="MA"),                       # 0.80
        record(line, "data", MB, at=at, country="CH"),                     # 2.00
    ])
    answer = api.usage(line, at)
    got = services(answer)
    assert got["voice"]["used"] == 0
    assert got["sms"]["used"] == 0
    assert got["data"]["used"] == 0
    assert got["voice"]["remaining"] == KING_VOICE_SECONDS
    assert got["data"]["remaining"] == KING_DATA_BYTES
    assert answer["extra_cents"] == 300 + 80 + 80 + 200


def test_eu_roaming_counts_like_at_home(api: Api, at: datetime) -> None:
    line = api.line(api.account())
    api.feed([
        record(line, "voice", 600, at=at, country="FR"),
        record(line, "sms", 5, at=at, country="de"),       # case does not matter
        record(line, "data", GB, at=at, country="NO"),     # EEA
        record(line, "voice", 60, at=at, country="IS", direction="in"),
    ])
    answer = api.usage(line, at)
    got = services(answer)
    assert got["voice"]["used"] == 600
    assert got["sms"]["used"] == 5
    assert got["data"]["used"] == GB
    assert answer["extra_cents"] == 0


# -- internet lines ---------------------------------------------------------------------


def test_internet_lines(api: Api, at: datetime) -> None:
    account = api.account("residential")
    volume = api.line(account, "internet-150", line_id=new_id("inet"))
    unlimited = api.line(account, "internet-unlimited", line_id=new_id("inet"))
    result = api.feed([
        record(volume, "data", 20 * GB, at=at),
        record(unlimited, "data", 500 * GB, at=at),
        record(volume, "voice", 60, at=at),
    ])
    assert result["accepted"] == 2
    assert [(r["index"], "service" in r["error"]) for r in result["rejected"]] == [(2, True)]

    got = services(api.usage(volume, at))
    assert set(got) == {"data"}
    assert got["data"] == got["data"] | {"used": 20 * GB, "included": 150 * GB,
                                         "remaining": 130 * GB}
    got = services(api.usage(unlimited, at))
    assert got["data"] == got["data"] | {"used": 500 * GB, "included": None,
                                         "remaining": None}


# -- formats -----------------------------------------------------------------------------


def test_ndjson_feed(api: Api, op: httpx.Client, at: datetime) -> None:
    line = api.line(api.account())
    local = at.astimezone(BRUSSELS)         # an offset other than +00:00
    records = [record(line, "sms", 1, at=local) for _ in range(3)]
    body = ndjson(records).replace(b"\n", b"\n\n", 1)     # blank lines are skipped
    answer = op.post("/api/v1/usage", content=body,
                     headers={"Content-Type": "application/x-ndjson"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"accepted": 3, "duplicates": 0, "rejected": []}
    assert services(api.usage(line, at))["sms"]["used"] == 3


def test_ndjson_line_that_is_not_json_is_one_rejected_record(
    api: Api, op: httpx.Client, at: datetime
) -> None:
    line = api.line(api.account())
    good = [record(line, "sms", 1, at=at), record(line, "sms", 1, at=at)]
    body = ndjson(good[:1]) + b'{"id": "broken", "line": \n' + ndjson(good[1:])
    answer = op.post("/api/v1/usage", content=body,
                     headers={"Content-Type": "application/x-ndjson"})
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["accepted"] == 2
    assert [r["index"] for r in result["rejected"]] == [1]
    assert services(api.usage(line, at))["sms"]["used"] == 2


def test_empty_batch(op: httpx.Client) -> None:
    answer = op.post("/api/v1/usage", json=[])
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"accepted": 0, "duplicates": 0, "rejected": []}


# -- idempotency -------------------------------------------------------------------------


def test_duplicates_within_a_batch_count_once(api: Api, at: datetime) -> None:
    line = api.line(api.account())
    first = record(line, "voice", 100, at=at)
    second = record(line, "sms", 1, at=at)
    result = api.feed([first, dict(first), second, dict(first)])
    assert result == {"accepted": 2, "duplicates": 2, "rejected": []}
    got = services(api.usage(line, at))
    assert (got["voice"]["used"], got["sms"]["used"]) == (100, 1)


def test_duplicates_across_batches_count_once(api: Api, at: datetime) -> None:
    line = api.line(api.account())
    batch = [record(line, "voice", 7_000 + i, at=at) for i in range(3)]
    batch.append(record(line, "data", KING_DATA_BYTES + 5 * MB, at=at))
    assert api.feed(batch) == {"accepted": 4, "duplicates": 0, "rejected": []}
    before = api.usage(line, at)
    # 21,003 s of voice is 3,003 s over: 10.01 EUR; 5 MB over: 0.05 EUR.
    assert before["extra_cents"] == 1001 + 5

    assert api.feed(batch) == {"accepted": 0, "duplicates": 4, "rejected": []}
    assert api.feed_ndjson(batch[:2]) == {"accepted": 0, "duplicates": 2, "rejected": []}
    assert api.usage(line, at) == before


def test_an_id_sent_again_with_other_content_is_an_id_conflict(api: Api, at: datetime) -> None:
    line = api.line(api.account())
    other_line = api.line(api.account())
    first = record(line, "voice", 100, at=at)
    assert api.feed([first]) == {"accepted": 1, "duplicates": 0, "rejected": []}
    # The same record again (its time written with another offset) is a duplicate; the
    # same id with another quantity, or on another line, is rejected by its index.
    again = dict(first, at=at.astimezone(BRUSSELS).isoformat())
    result = api.feed_ndjson([again, dict(first, quantity=200), dict(first, line=other_line)])
    assert (result["accepted"], result["duplicates"]) == (0, 1)
    assert [(r["index"], r["id"]) for r in result["rejected"]] == [(1, first["id"]),
                                                                 (2, first["id"])]
    quantity, other = (r["error"] for r in result["rejected"])
    assert quantity.startswith(f"id_conflict: id '{first['id']}' was sent before with other "
                               "content ("), quantity
    assert "quantity: 100 before, 200 now" in quantity and "line" not in quantity
    assert f"line: '{line}' before, '{other_line}' now" in other and "quantity" not in other
    assert services(api.usage(line, at))["voice"]["used"] == 100
    assert services(api.usage(other_line, at))["voice"]["used"] == 0


def test_an_id_conflict_within_a_batch_keeps_the_first_record(api: Api, at: datetime) -> None:
    line = api.line(api.account())
    first = record(line, "sms", 2, at=at)
    result = api.feed([first, dict(first, quantity=3), dict(first)])
    assert (result["accepted"], result["duplicates"]) == (1, 1)
    assert [(r["index"], r["error"].split(":")[0]) for r in result["rejected"]] == [
        (1, "id_conflict")]
    assert services(api.usage(line, at))["sms"]["used"] == 2


def test_rejected_record_can_be_sent_again_once_corrected(api: Api, at: datetime) -> None:
    account = api.account()
    number = new_number()
    sent = record(number, "sms", 1, at=at)
    result = api.feed([sent])
    assert result["accepted"] == 0 and len(result["rejected"]) == 1
    api.line(account, line_id=number)
    assert api.feed([sent]) == {"accepted": 1, "duplicates": 0, "rejected": []}


def test_concurrent_copies_of_a_batch_count_once(server_url: str, api: Api,
                                                 at: datetime) -> None:
    line = api.line(api.account())
    batch = [record(line, "sms", 1, at=at) for _ in range(50)]
    results: list[dict[str, Any]] = []
    key = api.client.headers["Authorization"]

    def send() -> None:
        answer = httpx.post(f"{server_url}/api/v1/usage", json=batch,
                            headers={"Authorization": key}, timeout=30)
        assert answer.status_code == 200
        results.append(answer.json())

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4
    assert sum(r["accepted"] for r in results) == 50
    assert sum(r["duplicates"] for r in results) == 150
    assert services(api.usage(line, at))["sms"]["used"] == 50


# -- rejected records --------------------------------------------------------------------


def test_bad_records_are_rejected_and_the_good_ones_kept(api: Api, at: datetime) -> None:
    line = api.line(api.account())
    naive = at.replace(tzinfo=None).isoformat()
    batch: list[Any] = [
        record(line, "sms", 1, at=at),                                     # 0 ok
        record(new_number(), "sms", 1, at=at),                             # 1 line
        record(line, "fax", 1, at=at),                                     # 2 service
        record(line, "voice", -5, at=at),                                  # 3 quantity
        record(line, "voice", 5, at="yesterday at noon"),                  # 4 at
        record(line, "voice", 5, at=naive),                                # 5 at
        record(line, "data", 1.5, at=at),                                  # 6 quantity
        record(line, "sms", 1, at=at, direction="in"),                     # 7 direction
        record(line, "voice", 5, at=at, country="Belgium"),                # 8 country
        record(line, "voice", 5, at=at + timedelta(days=3)),               # 9 at (future)
        record(line, "sms", 1, at=at, amount_cents=10),                    # 10 amount_cents
        {"line": line, "service": "sms", "quantity": 1, "at": at.isoformat()},  # 11 id
        record(line, "sms", at=at),                                        # 12 quantity
        "not an object",                                                   # 13 record
        record(line, "voice", 42, at=at),                                  # 14 ok
    ]
    expected_field = {1: "line", 2: "service", 3: "quantity", 4: "at", 5: "at",
                      6: "quantity", 7: "direction", 8: "country", 9: "at",
                      10: "amount_cents", 11: "id", 12: "quantity"}
    result = api.feed(batch)
    assert result["accepted"] == 2
    assert result["duplicates"] == 0
    rejected = {r["index"]: r for r in result["rejected"]}
    assert sorted(rejected) == [*sorted(expected_field), 13]
    for index, field in expected_field.items():
        entry = rejected[index]
        assert entry["id"] == batch[index].get("id"), entry
        assert field in entry["error"], entry
    assert rejected[13]["id"] is None
    got = services(api.usage(line, at))
    assert (got["sms"]["used"], got["voice"]["used"]) == (1, 42)


def test_nul_and_control_characters_are_rejected_records_on_every_store(
        api: Api, at: datetime) -> None:
    """PostgreSQL refuses NUL in text: once the whole batch answered 500."""
    line = api.line(api.account())
    batch: list[Any] = [
        record(line, "sms", 1, at=at),                                     # 0 ok
        {**record(line, "sms", 1, at=at), "id": "cdr\u0000nul"},           # 1 id
        {**record(line, "sms", 1, at=at), "line": line + "\u0000"},        # 2 line
        {**record(line, "sms", 1, at=at), "line": "+3247\u001b[0m"},       # 3 line
        {**record(line, "sms", 1, at=at), "country": "B\u0000"},           # 4 country
        record(line, "sms", 2, at=at),                                     # 5 ok
    ]
    result = api.feed(batch)
    assert result["accepted"] == 2
    rejected = {r["index"]: r for r in result["rejected"]}
    assert sorted(rejected) == [1, 2, 3, 4]
    assert rejected[1]["id"] is None                 # not kept as it came: no store can
    for index, field in ((1, "id"), (2, "line"), (3, "line"), (4, "country")):
        assert field in rejected[index]["error"], rejected[index]
    assert services(api.usage(line, at))["sms"]["used"] == 3


@pytest.mark.parametrize(("cycle_day", "when"), [
    (15, "0001-01-02T00:00:00Z"),
    (1, "0001-01-01T00:00:00+01:00"),
], ids=["year-0-cycle", "offset-before-year-1"])
def test_absurd_time_is_a_rejected_record_not_a_failed_batch(
    api: Api, op: httpx.Client, at: datetime, cycle_day: int, when: str
) -> None:
    line = api.line(api.account(), cycle_day=cycle_day)
    answer = op.post("/api/v1/usage", json=[record(line, "sms", 1, at=when),
                                            record(line, "sms", 1, at=at)])
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["accepted"] + len(result["rejected"]) == 2
    assert all("at" in r["error"] for r in result["rejected"])
    assert services(api.usage(line, at))["sms"]["used"] >= 1


def test_invalid_json_array_is_a_4xx_problem(op: httpx.Client) -> None:
    answer = op.post("/api/v1/usage", content=b'[{"id": "x", "line": ',
                     headers={"Content-Type": "application/json"})
    assert 400 <= answer.status_code < 500
    assert_problem(answer, answer.status_code)


@pytest.mark.parametrize("body", [b'{"id": "x", "line": ', b'"hello"', b"garbage"],
                         ids=["truncated-object", "string", "not-json"])
def test_invalid_json_body_is_a_4xx_problem(op: httpx.Client, body: bytes) -> None:
    answer = op.post("/api/v1/usage", content=body,
                     headers={"Content-Type": "application/json"})
    assert 400 <= answer.status_code < 500, answer.text
    assert_problem(answer, answer.status_code)


def test_huge_but_valid_quantities_are_not_a_5xx(api: Api, op: httpx.Client,
                                                  at: datetime) -> None:
    line = api.line(api.account())
    other = api.line(api.account())
    # 10**13 s of voice in the US is 2.5e17 micro-euros each; 40 of them pass 2**63.
    batch = [record(line, "voice", 10**13, at=at, country="US") for _ in range(40)]
    batch.append(record(other, "sms", 1, at=at))
    answer = op.post("/api/v1/usage", json=batch)
    assert answer.status_code == 200, answer.text
    assert services(api.usage(other, at))["sms"]["used"] == 1


# -- batch size --------------------------------------------------------------------------


def test_ten_thousand_records_is_the_limit(api: Api, op: httpx.Client, at: datetime) -> None:
    line = api.line(api.account("residential"), "payg")
    stamp = at.isoformat()
    prefix = new_id("bulk")
    batch = [{"id": f"{prefix}-{i}", "line": line, "service": "sms", "quantity": 1,
              "at": stamp} for i in range(10_001)]

    too_many = op.post("/api/v1/usage", json=batch)
    assert 400 <= too_many.status_code < 500, too_many.text
    assert_problem(too_many, too_many.status_code)
    assert services(api.usage(line, at))["sms"]["used"] == 0

    answer = op.post("/api/v1/usage", json=batch[:10_000])
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == 10_000
    assert services(api.usage(line, at))["sms"]["used"] == 10_000


# -- cycles ------------------------------------------------------------------------------


def test_late_record_lands_in_last_months_cycle(api: Api, at: datetime) -> None:
    line = api.line(api.account())
    current = api.usage(line, at)["cycle"]
    current_start = datetime.fromisoformat(current["start"])
    late = current_start - timedelta(days=1)
    result = api.feed([record(line, "voice", 500, at=late), record(line, "voice", 20, at=at)])
    assert result["accepted"] == 2

    this_cycle = api.usage(line, at)
    assert services(this_cycle)["voice"]["used"] == 20

    last_cycle = api.usage(line, late)
    assert services(last_cycle)["voice"]["used"] == 500
    assert datetime.fromisoformat(last_cycle["cycle"]["end"]) == current_start
    start = datetime.fromisoformat(last_cycle["cycle"]["start"]).astimezone(BRUSSELS)
    assert (start.day, start.hour, start.minute) == (1, 0, 0)
    assert start.month == (current_start.astimezone(BRUSSELS).month - 2) % 12 + 1


def test_cycle_starts_on_the_lines_cycle_day(api: Api, at: datetime) -> None:
    line = api.line(api.account(), cycle_day=15)
    cycle = api.usage(line, at)["cycle"]
    start = datetime.fromisoformat(cycle["start"])
    end = datetime.fromisoformat(cycle["end"])
    assert start <= at < end
    local_start, local_end = start.astimezone(BRUSSELS), end.astimezone(BRUSSELS)
    assert (local_start.day, local_start.hour) == (15, 0)
    assert (local_end.day, local_end.hour) == (15, 0)
    assert start.utcoffset() in (timedelta(hours=1), timedelta(hours=2))


def test_plan_change_rates_earlier_usage_with_the_old_plan(
    api: Api, op: httpx.Client
) -> None:
    account = api.account()
    line = api.line(account, "payg")
    changed = op.put(f"/api/v1/lines/{line}", json={"account_id": account, "plan": "king"})
    assert changed.status_code == 200, changed.text
    switch = datetime.fromisoformat(changed.json()["plan_history"][-1]["from"])
    before, after = switch - timedelta(microseconds=1), now_utc()
    api.feed([record(line, "voice", 60, at=before),     # payg: 0.15
              record(line, "voice", 60, at=after)])     # king: from the bundle
    answer = api.usage(line, after)
    assert answer["plan"] == "king"
    assert answer["extra_cents"] == 15
    assert services(answer)["voice"]["used"] == 120


def test_forecast_stays_inside_the_cycle(api: Api, at: datetime) -> None:
    line = api.line(api.account())
    api.feed([record(line, "data", KING_DATA_BYTES - 1, at=at)])
    answer = api.usage(line, at)
    assert isinstance(answer["forecast"], dict)
    for day in answer["forecast"].values():
        start = datetime.fromisoformat(answer["cycle"]["start"]).astimezone(BRUSSELS).date()
        end = datetime.fromisoformat(answer["cycle"]["end"]).astimezone(BRUSSELS).date()
        assert start.isoformat() <= day <= end.isoformat()


# -- reading usage -----------------------------------------------------------------------


@pytest.mark.parametrize("when", ["garbage", "2026-11-24T10:00:00", "", "2026-13-01T00:00:00Z"],
                         ids=["garbage", "naive", "empty", "month-13"])
def test_bad_at_is_422(api: Api, op: httpx.Client, when: str) -> None:
    line = api.line(api.account())
    answer = op.get(f"/api/v1/lines/{line}/usage", params={"at": when})
    assert "at" in {str(p) for e in assert_problem(answer, 422)["errors"] for p in e["loc"]}


@pytest.mark.parametrize("when", ["9999-12-15T00:00:00Z", "0001-01-01T00:00:00+01:00"],
                         ids=["year-9999", "before-year-1"])
def test_extreme_at_is_not_a_5xx(api: Api, op: httpx.Client, when: str) -> None:
    line = api.line(api.account())
    answer = op.get(f"/api/v1/lines/{line}/usage", params={"at": when})
    assert answer.status_code < 500, answer.text


def test_line_id_may_be_percent_encoded(api: Api, op: httpx.Client) -> None:
    line = api.line(api.account())
    answer = op.get("/api/v1/lines/%2B" + line[1:] + "/usage")
    assert answer.status_code == 200, answer.text
    assert answer.json()["line"] == line


def test_usage_of_unknown_line_is_404(op: httpx.Client) -> None:
    assert_problem(op.get(f"/api/v1/lines/{new_number()}/usage"), 404)


# -- who may feed ------------------------------------------------------------------------


def test_usage_posted_with_a_user_token_is_403(
    api: Api, user_client: UserClientFactory, at: datetime
) -> None:
    account = api.account()
    admin = api.user(account, role="admin")
    line = api.line(account, user=admin)
    client = user_client(admin)
    assert_problem(client.post("/api/v1/usage", json=[record(line, "sms", 1, at=at)]), 403)
    assert services(api.usage(line, at))["sms"]["used"] == 0


def test_usage_posted_without_token_is_401(anon: httpx.Client) -> None:
    assert_problem(anon.post("/api/v1/usage", json=[]), 401)
