"""The portal's daily chart and fleet sorting (pure view code)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from conso.web.views import FleetRow, daily_data, sort_rows


def test_hours_are_counted_on_their_local_brussels_day() -> None:
    hourly = [
        (datetime(2026, 11, 24, 22, tzinfo=UTC), 1_000_000),   # 23:00 local, the 24th
        (datetime(2026, 11, 24, 23, tzinfo=UTC), 2_000_000),   # 00:00 local, the 25th
        (datetime(2026, 11, 25, 10, tzinfo=UTC), 2_000_000),
    ]
    bars = daily_data(hourly, date(2026, 11, 1), date(2026, 12, 1), "en")
    assert len(bars) == 30
    by_label = {bar.label: bar for bar in bars}
    assert by_label["24 Nov"].value == "1 MB"
    assert by_label["25 Nov"].value == "4 MB"
    assert by_label["25 Nov"].height == 100 and by_label["24 Nov"].height == 25
    assert by_label["1 Nov"].height == 0
    assert daily_data(hourly, date(2026, 11, 1), date(2026, 12, 1), "fr")[0].label == "1er nov."


def test_a_line_at_zero_percent_sorts_above_one_without_an_allowance() -> None:
    def row(line: str, data: int | None) -> FleetRow:
        return FleetRow(line, "", "", {"voice": None, "sms": None, "data": data}, "", 0)

    rows = [row("a", None), row("b", 0), row("c", 50)]
    assert [r.line for r in sort_rows(rows, "data", descending=True)] == ["c", "b", "a"]


def test_alert_form_errors_are_in_the_pages_language() -> None:
    from conso.errors import InvalidInput
    from conso.web.i18n import translator
    from conso.web.routes import _alerts_error

    class Page:
        def __init__(self, lang: str) -> None:
            self.t = translator(lang)

    too_many = InvalidInput(("rules",), "at most 5 notifications per line, got 6")
    assert _alerts_error(Page("fr"), too_many) == "Choisissez au maximum cinq notifications."  # type: ignore[arg-type]
    bad_number = InvalidInput(("channels", "second_number"), "must be E.164")
    assert "+32470000099" in _alerts_error(Page("nl"), bad_number)  # type: ignore[arg-type]
    bad_rule = InvalidInput(("rules", 0, "value"), "must be one of [75, 90, 100]")
    assert _alerts_error(Page("en"), bad_rule) == (  # type: ignore[arg-type]
        "That notification is not available for this line.")


def test_message_rows_show_brussels_time_and_the_state_as_api_md_names_it() -> None:
    from conso.domain.outbox import OutboxMessage
    from conso.web.views import message_rows

    created = datetime(2026, 7, 1, 21, 30, tzinfo=UTC)          # 23:30 in Brussels (CEST)
    sending = OutboxMessage("m", "sms", "8644", "+32470000001", None, "t", None, None,
                            created, status="sending")
    delivered = OutboxMessage("d", "sms", "8644", "+32470000001", None, "t", None, None,
                              created, status="delivered",
                              status_changed_at=datetime(2026, 7, 1, 22, 5, tzinfo=UTC))
    first, second = message_rows([sending, delivered], "en")
    assert (first.status, first.created, first.changed) == (
        "queued", "1 Jul 2026, 23:30", "1 Jul 2026, 23:30")
    assert (second.status, second.changed) == ("delivered", "2 Jul 2026, 00:05")
    assert message_rows([sending], "fr")[0].created == "1er juil. 2026 à 23:30"


def test_bar_lengths_are_classes_each_with_its_css_rule() -> None:
    # The pages' Content-Security-Policy allows no style attribute: a bar's length is a
    # class, one per whole percent, clamped to 0..100, each defined in app.css.
    from pathlib import Path

    from conso.web import routes
    from conso.web.routes import pct_class

    assert [pct_class(p) for p in (-5, 0, 42, 100, 250)] == [
        "pct-0", "pct-0", "pct-42", "pct-100", "pct-100"]
    css = (Path(routes.__file__).parent / "static" / "app.css").read_text()
    assert all(f".pct-{n} {{ --pct: {n}%; }}" in css for n in range(101))
