"""Text and store failures on the Diameter front end (diameter.md, RFC 6733 §7), over real
TCP against conso in-process on SQLite and on PostgreSQL.

- A Session-Id, a Subscription-Id-Data or an Origin-Host with a control character is
  5004 DIAMETER_INVALID_AVP_VALUE naming the AVP in Failed-AVP (domain/text.py): before,
  PostgreSQL refused the NUL of a Session-Id (5012, conso's own failure) while SQLite
  kept it and opened the session.
- The store unavailable (its database cut off) is 3004 DIAMETER_TOO_BUSY with the E
  bit, not 5012; nothing is counted, the answer is not kept for retransmissions, and
  the same request once the store is back counts once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .diameter_raw import (
    FLAG_E,
    INITIAL,
    TERMINATION,
    UPDATE,
    Peer,
    ccr,
    cer,
    decode,
    failed_avps,
    flags_of,
    next_id,
    retransmitted,
    top_avps,
)
from .front_end_support import STORES, FrontEnds, database_away, front_ends

GRANT = 10_000_000
CONTROL = ["\x00", "\n", "\x1b", "\x7f", "\x85"]
CONTROL_IDS = ["nul", "line-feed", "escape", "delete", "c1-next-line"]
SESSION_ID, ORIGIN_HOST, ERROR_MESSAGE, SUBSCRIPTION_ID_DATA = 263, 264, 281, 444
INVALID_AVP_VALUE, TOO_BUSY = 5004, 3004


@pytest.fixture(scope="module", params=STORES)
def conso(request: pytest.FixtureRequest,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[FrontEnds]:
    with front_ends(request.param, tmp_path_factory.mktemp("diameter-text")) as started:
        yield started


def host_name() -> str:
    return f"pgw-{next_id()}.test.example"


def open_session(peer: Peer, line: str) -> str:
    session = f"{peer.host};{next_id()};conso-test"
    answer = decode(peer.ask(ccr(peer.host, session, INITIAL, 0, subscriber=line[1:],
                                 requested=GRANT)))
    assert answer.result_code == 2001, answer
    return session


def refused(answer: bytes, result: int, *, error_bit: bool) -> Any:
    decoded = decode(answer)
    assert decoded.result_code == result, decoded
    assert bool(flags_of(answer) & FLAG_E) is error_bit
    return decoded


def error_message(answer: bytes) -> str:
    """The answer's Error-Message (python-diameter's CCA does not model it)."""
    [found] = [a for a in top_avps(answer) if a.code == ERROR_MESSAGE]
    return found.data.decode()


def failed_one(decoded: Any) -> Any:
    """The one AVP inside Failed-AVP (python-diameter's CEA holds one Failed-AVP, its
    CCA a list)."""
    single = getattr(decoded, "failed_avp", None)
    [failed] = single.additional_avps if hasattr(single, "additional_avps") \
        else failed_avps(decoded)
    return failed


@pytest.mark.parametrize("char", CONTROL, ids=CONTROL_IDS)
def test_a_control_character_in_the_session_id_is_5004_naming_it(
        conso: FrontEnds, char: str) -> None:
    line = conso.line()
    peer = Peer.opened(conso.diameter_port, host_name())
    session = f"{peer.host};{next_id()}{char};conso-test"
    for kind, number in ((INITIAL, 0), (UPDATE, 1), (TERMINATION, 2)):
        answer = peer.ask(ccr(peer.host, session, kind, number, subscriber=line[1:],
                              used=1_000 if kind != INITIAL else None, requested=GRANT))
        decoded = refused(answer, INVALID_AVP_VALUE, error_bit=False)
        assert decoded.session_id == session              # echoed as received
        failed = failed_one(decoded)
        assert (failed.code, failed.payload) == (SESSION_ID, session.encode())
        assert "control characters" in error_message(answer)
    assert conso.used(line) == 0
    # The peer and the line are fine: a session of a clean id opens and counts.
    clean = open_session(peer, line)
    answer = decode(peer.ask(ccr(peer.host, clean, UPDATE, 1, used=1_000, requested=GRANT)))
    assert answer.result_code == 2001
    assert conso.used(line) == 1_000


@pytest.mark.parametrize("char", CONTROL, ids=CONTROL_IDS)
def test_a_control_character_in_the_subscription_id_data_is_5004_naming_it(
        conso: FrontEnds, char: str) -> None:
    line = conso.line()
    peer = Peer.opened(conso.diameter_port, host_name())
    subscriber = f"{line[1:]}{char}"
    answer = peer.ask(ccr(peer.host, f"{peer.host};{next_id()};t", INITIAL, 0,
                          subscriber=subscriber, requested=GRANT))
    failed = failed_one(refused(answer, INVALID_AVP_VALUE, error_bit=False))
    assert (failed.code, failed.payload) == (SUBSCRIPTION_ID_DATA, subscriber.encode())
    assert conso.used(line) == 0


def test_a_control_character_in_the_origin_host_of_a_cer_is_5004_and_the_link_closed(
        conso: FrontEnds) -> None:
    host = f"pgw-{next_id()}\x00.test.example"
    peer = Peer.connect(conso.diameter_port, host)
    peer.send(cer(host))
    [answer] = peer.closed_by_conso()
    failed = failed_one(refused(answer, INVALID_AVP_VALUE, error_bit=False))
    assert (failed.code, failed.payload) == (ORIGIN_HOST, host.encode())


def test_the_store_unavailable_is_3004_and_the_request_counts_once_when_it_is_back(
        conso: FrontEnds) -> None:
    if conso.store != "postgres":
        pytest.skip("the outage is a PostgreSQL database's (SQLite's: disk full, "
                    "test_store_faults.py)")
    line = conso.line()
    peer = Peer.opened(conso.diameter_port, host_name())
    session = open_session(peer, line)
    update = ccr(peer.host, session, UPDATE, 1, used=5_000, requested=GRANT)
    other = conso.line()
    initial = ccr(peer.host, f"{peer.host};{next_id()};t", INITIAL, 0,
                  subscriber=other[1:], requested=GRANT)
    with database_away(conso.db_url):
        for request in (update, initial):
            answer = peer.ask(request)
            decoded = refused(answer, TOO_BUSY, error_bit=True)
            assert "store is unavailable" in error_message(answer)
            assert not failed_avps(decoded)
    # Back: the update sent again (T flag) is answered anew, not from the duplicate
    # cache, and counts once; so does the INITIAL.
    again = decode(peer.ask(retransmitted(update, next_id())))
    assert again.result_code == 2001, again
    assert conso.used(line) == 5_000
    assert decode(peer.ask(retransmitted(initial, next_id()))).result_code == 2001
    assert decode(peer.ask(ccr(peer.host, session, UPDATE, 1, used=5_000,
                               requested=GRANT))).result_code == 2001
    assert conso.used(line) == 5_000
