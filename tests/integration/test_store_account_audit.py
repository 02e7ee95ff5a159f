"""The account's audit trail (the portal's `/portal/audit`), held to one contract on
memory, SQLite and PostgreSQL: the entries of the account's lines only, newest first,
a page at a time, and one line's alone when asked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from conso.domain.line import Line, PlanPeriod
from conso.store import Store
from conso.store.base import Account, AuditEntry

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
OURS = ("+32470000011", "+32470000012")
THEIRS = "+32470000021"


def _entry(minute: int, line_id: str | None, after: object) -> AuditEntry:
    return AuditEntry(NOW + timedelta(minutes=minute), f"admin-{minute}", line_id,
                      "barring", {"premium": False}, after)


@pytest.fixture
def audited(store: Store) -> list[AuditEntry]:
    """Twelve entries, in the order written: ours alternate between our two lines, with
    another account's line and an entry of no line in between. Returns ours, newest first."""
    with store.transaction() as tx:
        tx.accounts.put(Account("ours", "Ours", "business"), NOW)
        tx.accounts.put(Account("theirs", "Theirs", "business"), NOW)
        for line_id, account in ((OURS[0], "ours"), (OURS[1], "ours"), (THEIRS, "theirs")):
            tx.lines.put(Line(line_id, account, None, 1,
                              (PlanPeriod(NOW - timedelta(days=3), "king"),)), NOW)
    ours: list[AuditEntry] = []
    for minute in range(12):
        if minute % 4 == 3:
            entry = _entry(minute, THEIRS if minute % 8 == 3 else None, {"premium": True})
        else:
            entry = _entry(minute, OURS[minute % 2], {"premium": True, "minute": minute})
            ours.append(entry)
        with store.transaction() as tx:   # one command each, as the engine writes them
            tx.lines.audit(entry)
    return ours[::-1]


def test_the_account_trail_holds_its_own_lines_entries_newest_first(
        store: Store, audited: list[AuditEntry]) -> None:
    assert store.lines.account_audit("ours", 100) == audited
    assert store.lines.account_audit("theirs", 100) == [
        _entry(11, THEIRS, {"premium": True}), _entry(3, THEIRS, {"premium": True})]
    assert store.lines.account_audit("nobody", 100) == []


def test_the_account_trail_comes_a_page_at_a_time(store: Store,
                                                  audited: list[AuditEntry]) -> None:
    assert len(audited) == 9
    pages = [store.lines.account_audit("ours", 4, offset) for offset in (0, 4, 8, 12)]
    assert [len(page) for page in pages] == [4, 4, 1, 0]
    assert pages[0] + pages[1] + pages[2] == audited


def test_one_lines_trail_is_that_lines_entries_of_the_account(
        store: Store, audited: list[AuditEntry]) -> None:
    first = [e for e in audited if e.line_id == OURS[0]]
    assert len(first) == 6
    assert store.lines.account_audit("ours", 100, line_id=OURS[0]) == first
    assert store.lines.account_audit("ours", 2, 2, line_id=OURS[0]) == first[2:4]
    # The same as the line's own log, which the API's barring audit reads.
    assert store.lines.audit_log(OURS[0], 100) == first
    # Another account's line is not in this account's trail, even when named.
    assert store.lines.account_audit("ours", 100, line_id=THEIRS) == []
