"""`conso ingest`'s reading of a file: one physical line at a time, so that a line that
is no record (not UTF-8, not JSON, a broken CSV row, an extra column) is one rejection
with its line number, and the rest of the file is ingested. Fed to an engine on the
in-memory store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from conso.bootstrap import Services, Settings, build
from conso.ingest import BadHeader, Summary, engine_sink, ingest
from unit.charging_support import memory_services

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
LINE = "+32470000077"
AT = "2026-11-24T10:15:00+01:00"
CSV_HEADER = "id,line,service,quantity,at,country,direction,amount_cents"


@pytest.fixture
def services() -> Iterator[Services]:
    built = memory_services(lambda: NOW)
    built.engine.put_account("a", name="A", kind="business")
    built.engine.put_line(LINE, account_id="a", plan_id="payg", user_login=None,
                          cycle_day=None)
    yield built
    built.close()


def _json(record_id: str, quantity: int = 1) -> bytes:
    return json.dumps({"id": record_id, "line": LINE, "service": "sms",
                       "quantity": quantity, "at": AT}).encode()


def _csv(record_id: str, quantity: int = 1) -> bytes:
    return f"{record_id},{LINE},sms,{quantity},{AT},,,".encode()


def _feed(services: Services, path: Path, batch_size: int) -> Summary:
    return ingest(path, engine_sink(services.engine), batch_size=batch_size)


def _sms_used(services: Services) -> Any:
    line = services.engine.line(LINE)
    assert line is not None
    return services.engine.cycle_usage(line, NOW).meter("sms")


def _rejected(summary: Summary) -> list[tuple[int, str | None, str]]:
    return [(number, r.id, r.error) for number, r in summary.rejected]


@pytest.mark.parametrize("batch_size", [1, 2, 1000])
def test_a_line_that_is_not_utf8_is_one_rejection_and_the_rest_is_ingested(
        services: Services, tmp_path: Path, batch_size: int) -> None:
    path = tmp_path / "records.ndjson"
    path.write_bytes(b"\n".join([_json("n1"), b'{"id": "n\xff2", "line": "x"}', _json("n3"),
                                 b"", _json("n4")]) + b"\n")
    summary = _feed(services, path, batch_size)
    assert (summary.records, summary.accepted, summary.duplicates) == (4, 3, 0)
    assert _rejected(summary) == [
        (2, None, "record: not UTF-8 (byte 0xff at position 10 of the line)")]
    assert _sms_used(services) == 3


def test_a_csv_line_that_is_not_utf8_is_one_rejection(services: Services,
                                                      tmp_path: Path) -> None:
    path = tmp_path / "records.csv"
    path.write_bytes(b"\r\n".join([CSV_HEADER.encode(), _csv("c1"), b"c2,\xe9t\xe9,sms",
                                   _csv("c3")]) + b"\r\n")
    summary = _feed(services, path, 2)
    assert (summary.records, summary.accepted) == (3, 2)
    assert [(n, e.split(" (")[0]) for n, _, e in _rejected(summary)] == [
        (3, "record: not UTF-8")]


@pytest.mark.parametrize("batch_size", [1, 1000])
def test_an_unclosed_csv_quote_rejects_its_row_and_swallows_nothing(
        services: Services, tmp_path: Path, batch_size: int) -> None:
    path = tmp_path / "records.csv"
    path.write_bytes(b"\n".join([CSV_HEADER.encode(), _csv("q1"),
                                 f'q2,"{LINE},sms,1,{AT},,,'.encode(),
                                 _csv("q3"), _csv("q4"), _csv("q5")]) + b"\n")
    summary = _feed(services, path, batch_size)
    assert (summary.records, summary.accepted) == (5, 4)
    assert _rejected(summary) == [
        (3, None, "record: not a CSV row: a quoted field is not closed on its line")]
    assert _sms_used(services) == 4


def test_text_after_a_closing_quote_rejects_its_row(services: Services,
                                                    tmp_path: Path) -> None:
    path = tmp_path / "records.csv"
    path.write_bytes(b"\n".join([CSV_HEADER.encode(), f'b1,"{LINE}"x,sms,1,{AT},,,'.encode(),
                                 _csv("b2")]) + b"\n")
    summary = _feed(services, path, 1000)
    assert summary.accepted == 1
    assert [(n, e.split(":")[0:2]) for n, _, e in _rejected(summary)] == [
        (2, ["record", " not a CSV row"])]


def test_an_extra_csv_column_rejects_its_row(services: Services, tmp_path: Path) -> None:
    path = tmp_path / "records.csv"
    path.write_bytes(b"\n".join([CSV_HEADER.encode(), _csv("x1"), _csv("x2") + b",surplus",
                                 _csv("x3")]) + b"\n")
    summary = _feed(services, path, 1000)
    assert (summary.records, summary.accepted) == (3, 2)
    assert _rejected(summary) == [(3, "x2", "record: 9 columns, the header names 8")]
    assert _sms_used(services) == 2


def test_a_short_csv_row_leaves_its_last_fields_out(services: Services,
                                                    tmp_path: Path) -> None:
    path = tmp_path / "records.csv"
    path.write_bytes(f"{CSV_HEADER}\ns1,{LINE},sms,1,{AT}\ns2,{LINE},sms\n".encode())
    summary = _feed(services, path, 1000)
    assert summary.accepted == 1
    assert _rejected(summary) == [(3, "s2", "quantity: is required")]


def test_a_line_that_is_not_json_says_why(services: Services, tmp_path: Path) -> None:
    path = tmp_path / "records.ndjson"
    path.write_bytes(b"\n".join([_json("j1"), b'{"id": "j2", "line": ', _json("j3")]) + b"\n")
    summary = _feed(services, path, 1000)
    assert summary.accepted == 2
    [(number, record_id, error)] = _rejected(summary)
    assert (number, record_id) == (2, None)
    assert error.startswith("record: not valid JSON (unexpected end of data at position ")


def test_rejections_are_listed_in_line_order_across_batches(services: Services,
                                                           tmp_path: Path) -> None:
    path = tmp_path / "records.ndjson"
    unknown = json.dumps({"id": "o2", "line": "+32479999999", "service": "sms",
                          "quantity": 1, "at": AT}).encode()
    path.write_bytes(b"\n".join([_json("o1"), unknown, b"\xff", _json("o4"), b"nope",
                                 _json("o1")]) + b"\n")
    summary = _feed(services, path, 3)
    assert (summary.records, summary.accepted, summary.duplicates) == (6, 2, 1)
    assert [(n, i) for n, i, _ in _rejected(summary)] == [(2, "o2"), (3, None), (5, None)]


def test_a_byte_order_mark_and_crlf_line_ends_are_read(services: Services,
                                                       tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + b"\r\n".join([CSV_HEADER.encode(), _csv("e1"),
                                                     _csv("e2")]) + b"\r\n")
    assert _feed(services, path, 1000).accepted == 2
    ndjson = tmp_path / "bom.ndjson"
    ndjson.write_bytes(b"\xef\xbb\xbf" + _json("e3") + b"\r\n" + _json("e4") + b"\r\n")
    assert _feed(services, ndjson, 1000).accepted == 2


def test_a_csv_header_that_cannot_be_read_stops_before_anything_is_sent(
        services: Services, tmp_path: Path) -> None:
    path = tmp_path / "records.csv"
    path.write_bytes(b'id,"line,service\n' + _csv("h1") + b"\n")
    with pytest.raises(BadHeader, match="line 1: the CSV header cannot be read"):
        _feed(services, path, 1000)
    assert _sms_used(services) == 0


def test_escaped_lone_surrogates_are_rejected_not_a_crash(tmp_path: Path) -> None:
    """Valid UTF-8 and JSON that json.loads takes, but no text a store can keep: read as
    the API reads a body, such a line is a rejection; and a record that reaches the
    engine with one (another caller) is rejected, not a failed batch on SQLite."""
    built = build(Settings(db=f"sqlite:///{tmp_path}/c.db", operator_key="k"))
    try:
        built.engine.put_account("a", name="A", kind="business")
        built.engine.put_line(LINE, account_id="a", plan_id="payg", user_login=None,
                              cycle_day=None)
        path = tmp_path / "records.ndjson"
        path.write_bytes(b"\n".join([_json("u1"), _json("u2").replace(b'"u2"', b'"u\\ud800"'),
                                     _json("u3")]) + b"\n")
        summary = _feed(built, path, 1000)
        assert summary.accepted == 2
        assert [(n, e.split(" (")[0]) for n, _, e in _rejected(summary)] == [
            (2, "record: not valid JSON")]
        result = built.engine.apply_usage([
            {"id": "u\ud800", "line": LINE, "service": "sms", "quantity": 1, "at": AT},
            {"id": "u4", "line": "+3247\udc00", "service": "sms", "quantity": 1, "at": AT}])
        assert [(r.index, r.id, r.error.split(":")[0]) for r in result.rejected] == [
            (0, None, "id"), (1, "u4", "line")]
        assert [r.record_id for r in built.store.usage.rejected(2)] == ["u4", None]
    finally:
        built.close()
