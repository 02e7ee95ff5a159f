"""Diameter Gy/Ro credit control (diameter.md) on a real `conso serve --diameter` process,
driven by an independent Diameter implementation (python-diameter 0.9.0) playing the
network: PGWs with the Credit-Control application, and a raw peer for the base protocol.

What crosses the wire is what python-diameter decoded; effects are read back through the
HTTP API (usage, spending limit, messages), and admin changes made through it. Expected
amounts are worked out from the reference catalogue the server runs with (payg: data
0.05/MB per started kB, voice 0.15/min per second, sms 0.08; roaming outside the EU/EEA:
data 2.00/MB, voice in 0.80/min), read from src/conso/catalog.toml.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .diameter_support import (
    AUTHORIZE_ONLY,
    AVP_CC_SERVICE_SPECIFIC_UNITS,
    AVP_CC_TOTAL_OCTETS,
    AVP_MSCC,
    AVP_RATING_GROUP,
    AVP_SERVICE_CONTEXT_ID,
    AVP_SUBSCRIPTION_ID,
    CHECK_BALANCE,
    CONSO_HOST,
    CONSO_REALM,
    CREDIT_CONTROL,
    CREDIT_LIMIT_REACHED,
    DATA,
    DEFAULT_QUOTA,
    DIRECT_DEBITING,
    E164,
    END_USER_SERVICE_DENIED,
    ENOUGH_CREDIT,
    EURO,
    EVENT,
    FAILOVER_SUPPORTED,
    IMSI,
    INITIAL,
    INVALID_AVP_VALUE,
    MISSING_AVP,
    NO_COMMON_APPLICATION,
    NO_CREDIT,
    ORIGINATING,
    PAYG_RATES,
    PREMIUM,
    PRICE_ENQUIRY,
    RATING_FAILED,
    REFUND_ACCOUNT,
    ROAMING_RATES,
    SMS,
    SUCCESS,
    TERMINATE,
    TERMINATING,
    TERMINATION,
    UNKNOWN_PEER,
    UNKNOWN_SESSION_ID,
    UNMAPPED_GROUP,
    UPDATE,
    USER_UNKNOWN,
    VENDOR_3GPP,
    VOICE,
    Ask,
    Cca,
    DiameterConso,
    Pgw,
    PgwPool,
    RawPeer,
    diameter_server,
    e164_digits,
    euros_to_micros,
    new_imsi,
    quiet_python_diameter,
)
from .helpers import new_id, new_number, record, wait_for

MB = 10**6
GB = 10**9
VALIDITY = 420                     # CONSO_SESSION_VALIDITY_SECONDS of the server: not the default
PGW_A, PGW_B, PGW_C, PGW_D = "pgw-a.test", "pgw-b.test", "pgw-c.test", "pgw-d.test"
RAW = "raw.test"
GX = 16777238                      # 3GPP Gx: an application conso does not offer
ROGUE = "rogue.test"               # not in CONSO_DIAMETER_PEERS
ALLOWED = (PGW_A, PGW_B, PGW_C, PGW_D, RAW)

DATA_MB_MICROS = euros_to_micros(PAYG_RATES["data_per_mb"])
DATA_KB_MICROS = DATA_MB_MICROS // 1000
VOICE_MINUTE_MICROS = euros_to_micros(PAYG_RATES["voice_per_minute"])
SMS_MICROS = euros_to_micros(PAYG_RATES["sms_per_sms"])
ROAMING_DATA_MB_MICROS = euros_to_micros(ROAMING_RATES["data_per_mb"])
ROAMING_VOICE_IN_MINUTE_MICROS = euros_to_micros(ROAMING_RATES["voice_in_per_minute"])


def cents(micros: int) -> int:
    assert micros % 10_000 == 0, micros
    return micros // 10_000


def data_micros(octets: int, per_mb: int = DATA_MB_MICROS) -> int:
    """Whole kB only: the meter is billed per started kB."""
    assert octets % 1000 == 0
    return octets // 1000 * per_mb // 1000


def voice_micros(seconds: int, per_minute: int = VOICE_MINUTE_MICROS) -> int:
    return seconds * per_minute // 60


# -- one server for the module, two PGWs -----------------------------------------------------


@pytest.fixture(scope="module")
def conso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DiameterConso]:
    quiet_python_diameter()
    with diameter_server(tmp_path_factory.mktemp("conso-diameter"), peers=ALLOWED,
                         validity_seconds=VALIDITY) as started:
        yield started


@pytest.fixture(scope="module")
def pool() -> Iterator[PgwPool]:
    """Every PGW of the module; stopping one takes python-diameter ~3 s: all at once."""
    started = PgwPool()
    yield started
    started.stop()


@dataclass
class Peers:
    a: Pgw
    b: Pgw
    pool: PgwPool


@pytest.fixture(scope="module")
def peers(conso: DiameterConso, pool: PgwPool) -> Peers:
    return Peers(pool.start(PGW_A, conso.diameter_port),
                 pool.start(PGW_B, conso.diameter_port), pool)


@pytest.fixture
def pgw(peers: Peers) -> Pgw:
    return peers.a


def usage_of(conso: DiameterConso, line: str) -> dict[str, int]:
    """What the usage answer says: units used per service, extra and spent money."""
    body = conso.usage(line)
    found = {service: int(v["used"]) for service, v in body["services"].items()}
    found["extra_cents"] = int(body["extra_cents"])
    limit = body["spending_limit"]
    found["spent_cents"] = -1 if limit is None else int(limit["spent_cents"])
    return found


def assert_echoes(cca: Cca, session_id: str, kind: int, number: int) -> None:
    """The CCA echoes the request and carries conso's identity (diameter.md)."""
    assert cca.session_id == session_id
    assert (cca.request_type, cca.request_number) == (kind, number)
    assert cca.application == CREDIT_CONTROL
    assert (cca.origin_host, cca.origin_realm) == (CONSO_HOST, CONSO_REALM)
    assert not cca.error_bit


# -- every CCR type, the grant's AVPs, the usage ---------------------------------------------


def test_a_data_session_initial_update_termination(conso: DiameterConso, pgw: Pgw) -> None:
    line = conso.line("payg")
    sid = pgw.new_session_id()

    first = pgw.initial(sid, [Ask(DATA, requested=5 * MB)], line=line)
    assert_echoes(first, sid, INITIAL, 0)
    assert first.result == SUCCESS
    assert first.failover == FAILOVER_SUPPORTED
    granted = first.only
    assert (granted.group, granted.result, granted.units) == (DATA, SUCCESS, 5 * MB)
    assert granted.validity == VALIDITY          # the server's session validity
    assert not granted.final                     # no limit: nothing is the last grant

    # An MSCC without Requested-Service-Unit asks for the catalogue's default quota; used
    # octets given as uplink and downlink only count as their sum.
    second = pgw.update(sid, 1, [Ask(DATA, used=3 * MB, split_octets=True)], line=line)
    assert_echoes(second, sid, UPDATE, 1)
    assert second.result == SUCCESS and second.failover == FAILOVER_SUPPORTED
    assert (second.only.result, second.only.units) == (SUCCESS, DEFAULT_QUOTA["data"])
    assert second.only.validity == VALIDITY

    last = pgw.terminate(sid, 2, [Ask(DATA, used=2 * MB)], line=line)
    assert_echoes(last, sid, TERMINATION, 2)
    assert last.result == SUCCESS
    assert last.msccs == ()

    seen = usage_of(conso, line)
    assert seen["data"] == 5 * MB
    assert seen["extra_cents"] == cents(data_micros(5 * MB))
    # Closed: an update now is for a session conso does not hold.
    assert pgw.update(sid, 3, [Ask(DATA, used=0)], line=line).result == UNKNOWN_SESSION_ID


def test_a_session_that_asks_for_nothing_yet_is_open(conso: DiameterConso, pgw: Pgw) -> None:
    """A CCR-I answered 2001 opens a session, whatever it asked: here 0 octets."""
    line = conso.line("payg")
    sid = pgw.new_session_id()
    opened = pgw.initial(sid, [Ask(DATA, requested=0)], line=line)
    assert (opened.result, opened.only.result, opened.only.units) == (SUCCESS, SUCCESS, 0)
    later = pgw.update(sid, 1, [Ask(DATA, used=0, requested=MB)])
    assert (later.result, later.only.units) == (SUCCESS, MB), later
    assert pgw.terminate(sid, 2, [Ask(DATA, used=MB)]).result == SUCCESS
    assert usage_of(conso, line)["data"] == MB


def test_a_session_without_mscc_opens_and_closes(conso: DiameterConso, pgw: Pgw) -> None:
    line = conso.line("payg")
    sid = pgw.new_session_id()
    opened = pgw.initial(sid, [], line=line)
    assert opened.result == SUCCESS and opened.msccs == ()
    later = pgw.update(sid, 1, [Ask(DATA, requested=MB)])
    assert (later.result, later.only.units) == (SUCCESS, MB)
    assert pgw.terminate(sid, 2, [Ask(DATA, used=MB)]).result == SUCCESS
    assert usage_of(conso, line)["data"] == MB


def test_the_subscriber_by_imsi(conso: DiameterConso, pgw: Pgw) -> None:
    imsi = new_imsi()
    line = conso.line("payg", imsi=imsi)
    sid = pgw.new_session_id()
    answer = pgw.initial(sid, [Ask(DATA, requested=MB)], imsi=imsi)
    assert (answer.result, answer.only.units) == (SUCCESS, MB)
    assert pgw.terminate(sid, 1, [Ask(DATA, used=MB)]).result == SUCCESS
    # An unknown E.164 next to a known IMSI: the IMSI names the line.
    other = pgw.new_session_id()
    unknown = e164_digits(new_number())
    answer = pgw.initial(other, [Ask(DATA, requested=MB)],
                         subscription=[(E164, unknown), (IMSI, imsi)])
    assert answer.result == SUCCESS
    assert pgw.terminate(other, 1, [Ask(DATA, used=2 * MB)]).result == SUCCESS
    assert usage_of(conso, line)["data"] == 3 * MB


@pytest.mark.parametrize("kind", ["e164", "imsi"])
def test_an_unknown_subscriber_is_5030(conso: DiameterConso, pgw: Pgw, kind: str) -> None:
    who = {"line": new_number()} if kind == "e164" else {"imsi": new_imsi()}
    sid = pgw.new_session_id()
    answer = pgw.initial(sid, [Ask(DATA, requested=MB)], **who)
    assert_echoes(answer, sid, INITIAL, 0)
    assert answer.result == USER_UNKNOWN
    assert all(m.units is None for m in answer.msccs)
    # Nothing was opened.
    assert pgw.update(sid, 1, [Ask(DATA, used=MB)]).result == UNKNOWN_SESSION_ID
    event = pgw.event([Ask(SMS, requested=1)], **who)
    assert event.result == USER_UNKNOWN


def test_an_update_or_end_of_a_session_conso_does_not_hold_is_5002(
    conso: DiameterConso, pgw: Pgw,
) -> None:
    never = pgw.new_session_id()
    answer = pgw.update(never, 1, [Ask(DATA, used=MB, requested=MB)])
    assert_echoes(answer, never, UPDATE, 1)
    assert answer.result == UNKNOWN_SESSION_ID
    assert pgw.terminate(never, 1, [Ask(DATA, used=MB)]).result == UNKNOWN_SESSION_ID

    line = conso.line("payg")
    sid = pgw.new_session_id()
    assert pgw.initial(sid, [Ask(DATA, requested=MB)], line=line).result == SUCCESS
    assert pgw.terminate(sid, 1, [Ask(DATA, used=MB)]).result == SUCCESS
    after = pgw.update(sid, 2, [Ask(DATA, used=MB, requested=MB)])
    assert (after.result, after.request_number) == (UNKNOWN_SESSION_ID, 2)
    assert pgw.terminate(sid, 2, [Ask(DATA, used=MB)]).result == UNKNOWN_SESSION_ID
    assert usage_of(conso, line)["data"] == MB     # the refused reports counted nothing


@pytest.mark.parametrize(("kind", "asks", "omit", "failed"), [
    (INITIAL, [Ask(DATA, requested=MB)], ("subscription_id",), (AVP_SUBSCRIPTION_ID, 0)),
    (INITIAL, [Ask(DATA, requested=MB)], ("service_context_id",),
     (AVP_SERVICE_CONTEXT_ID, 0)),
    (INITIAL, [Ask(None, requested=MB)], (), (AVP_RATING_GROUP, 0)),
    (EVENT, [], (), (AVP_MSCC, 0)),
], ids=["no-subscription-id", "no-service-context-id", "mscc-without-rating-group",
        "event-without-mscc"])
def test_a_missing_avp_is_5005_with_failed_avp(
    conso: DiameterConso, pgw: Pgw, kind: int, asks: list[Ask], *,
    omit: tuple[str, ...], failed: tuple[int, int],
) -> None:
    line = conso.line("payg")
    sid = pgw.new_session_id()
    action = DIRECT_DEBITING if kind == EVENT else None
    answer = pgw.ccr(sid, kind, 0, asks, line=line, omit=omit, action=action)
    assert answer.result == MISSING_AVP
    assert not answer.error_bit                 # a 5xxx is no protocol error (RFC 6733)
    assert (answer.session_id, answer.request_type, answer.request_number) == (sid, kind, 0)
    assert (answer.origin_host, answer.application) == (CONSO_HOST, CREDIT_CONTROL)
    assert failed in answer.failed_avps, answer.failed_avps
    assert usage_of(conso, line)["data"] == 0
    if kind == INITIAL:
        assert pgw.update(sid, 1, [Ask(DATA, used=MB)]).result == UNKNOWN_SESSION_ID


def test_an_amount_out_of_range_is_5004_with_failed_avp(conso: DiameterConso, pgw: Pgw) -> None:
    """RFC 6733 §7.1.5: DIAMETER_INVALID_AVP_VALUE MUST carry the offending AVP in
    Failed-AVP. 10^13 octets in one grant or report is no usage conso can take."""
    line = conso.line("payg")
    huge = 10**13
    sid = pgw.new_session_id()
    answer = pgw.initial(sid, [Ask(DATA, requested=huge)], line=line)
    assert answer.result == INVALID_AVP_VALUE
    assert (AVP_CC_TOTAL_OCTETS, 0) in answer.failed_avps, answer.failed_avps

    assert pgw.initial(sid, [Ask(DATA, requested=MB)], line=line).result == SUCCESS
    answer = pgw.update(sid, 1, [Ask(DATA, used=huge, requested=MB)])
    assert answer.result == INVALID_AVP_VALUE
    assert (AVP_CC_TOTAL_OCTETS, 0) in answer.failed_avps, answer.failed_avps
    answer = pgw.terminate(sid, 1, [Ask(DATA, used=huge)])
    assert answer.result == INVALID_AVP_VALUE
    assert (AVP_CC_TOTAL_OCTETS, 0) in answer.failed_avps, answer.failed_avps
    answer = pgw.event([Ask(SMS, requested=huge)], line=line)
    assert answer.result == INVALID_AVP_VALUE
    assert (AVP_CC_SERVICE_SPECIFIC_UNITS, 0) in answer.failed_avps, answer.failed_avps
    # Refused, nothing counted, and the session goes on.
    assert pgw.terminate(sid, 1, [Ask(DATA, used=MB)]).result == SUCCESS
    seen = usage_of(conso, line)
    assert (seen["data"], seen["sms"]) == (MB, 0)


# -- several rating groups; the spending limit ------------------------------------------------


def test_data_and_voice_in_one_session_share_the_money(conso: DiameterConso, pgw: Pgw) -> None:
    limit_eur = 5
    limit_micros = limit_eur * 1_000_000
    line = conso.line("payg", limit_eur=limit_eur)
    sid = pgw.new_session_id()

    # Voice with an empty Requested-Service-Unit: the default quota.
    first = pgw.initial(sid, [Ask(DATA, requested=20 * MB), Ask(VOICE, empty_rsu=True)],
                        line=line, role=ORIGINATING)
    assert first.result == SUCCESS
    data, voice = first.group(DATA), first.group(VOICE)
    assert (data.result, data.units, data.validity, data.final) == (
        SUCCESS, 20 * MB, VALIDITY, False)
    assert (voice.result, voice.units, voice.validity, voice.final) == (
        SUCCESS, DEFAULT_QUOTA["voice"], VALIDITY, False)

    # Both report; data asks for more than the money left buys, voice asks after it.
    second = pgw.update(sid, 1, [Ask(DATA, used=10 * MB, requested=200 * MB),
                                 Ask(VOICE, used=120, requested=600)])
    spent = data_micros(10 * MB) + voice_micros(120)
    assert usage_of(conso, line)["spent_cents"] == cents(spent)
    left = limit_micros - spent
    assert second.result == SUCCESS                # one group granted: the command succeeds
    data, voice = second.group(DATA), second.group(VOICE)
    assert data.result == SUCCESS and data.units is not None
    assert data.units < 200 * MB
    assert data_micros(data.units) <= left < data_micros(data.units) + DATA_KB_MICROS
    assert data.final_action == TERMINATE          # the last grant: Final-Unit-Indication
    assert data.validity == VALIDITY
    # The data grant took every cent left: voice, granted after it, gets nothing.
    assert (voice.result, voice.units, voice.validity, voice.final) == (
        CREDIT_LIMIT_REACHED, None, None, False)

    assert pgw.terminate(sid, 2, [Ask(DATA, used=data.units), Ask(VOICE, used=0)]).result \
        == SUCCESS
    seen = usage_of(conso, line)
    assert (seen["data"], seen["voice"]) == (10 * MB + data.units, 120)
    assert seen["spent_cents"] == seen["extra_cents"] == cents(spent + data_micros(data.units))
    assert seen["spent_cents"] <= limit_eur * 100
    limit = conso.limit(line)
    assert limit["reached"] is True and limit["overshoot_cents"] == 0


def test_a_group_an_update_leaves_out_keeps_its_reservation_until_the_end(
    conso: DiameterConso, pgw: Pgw,
) -> None:
    line = conso.line("payg", limit_eur=5)
    sid = pgw.new_session_id()
    data = pgw.initial(sid, [Ask(DATA, requested=80 * MB)], line=line).only
    assert (data.result, data.units, data.final) == (SUCCESS, 80 * MB, False)   # 4 EUR

    # The update names voice only: the data reservation stays, voice gets the last euro.
    voice = pgw.update(sid, 1, [Ask(VOICE, requested=600)]).only
    left = 5_000_000 - data_micros(80 * MB)
    assert voice.result == SUCCESS and voice.units is not None
    assert voice_micros(voice.units) <= left < voice_micros(voice.units + 1)
    assert voice.final_action == TERMINATE
    # Another session of the line gets nothing while both reservations are held ...
    assert pgw_refuses(pgw, line)
    # ... and everything once the session ends having used nothing.
    assert pgw.terminate(sid, 2, [Ask(DATA, used=0), Ask(VOICE, used=0)]).result == SUCCESS
    other = pgw.new_session_id()
    whole = pgw.initial(other, [Ask(DATA, requested=200 * MB)], line=line).only
    assert whole.units == 5_000_000 // DATA_KB_MICROS * 1000
    assert pgw.terminate(other, 1).result == SUCCESS
    assert usage_of(conso, line)["spent_cents"] == 0


def test_the_credit_limit_reached_is_4012(conso: DiameterConso, pgw: Pgw) -> None:
    line = conso.line("payg", limit_eur=5)
    # A premium purchase of exactly the limit, debited through Diameter.
    bought = pgw.event([Ask(PREMIUM, requested=1, money_micros=5_000_000)], line=line)
    assert (bought.result, bought.only.result, bought.only.units) == (SUCCESS, SUCCESS, 1)
    assert usage_of(conso, line)["spent_cents"] == 500

    sid = pgw.new_session_id()
    refused = pgw.initial(sid, [Ask(DATA, requested=MB)], line=line)
    assert_echoes(refused, sid, INITIAL, 0)
    assert refused.result == CREDIT_LIMIT_REACHED       # no MSCC granted: the first's code
    assert (refused.only.result, refused.only.units) == (CREDIT_LIMIT_REACHED, None)
    assert pgw.update(sid, 1, [Ask(DATA, used=0)]).result == UNKNOWN_SESSION_ID
    sms = pgw.event([Ask(SMS, requested=1)], line=line)
    assert (sms.result, sms.only.result) == (CREDIT_LIMIT_REACHED, CREDIT_LIMIT_REACHED)
    assert sms.only.units is None
    premium = pgw.event([Ask(PREMIUM, requested=1, money_micros=10_000)], line=line)
    assert (premium.result, premium.only.result) == (CREDIT_LIMIT_REACHED,) * 2
    seen = usage_of(conso, line)
    assert (seen["sms"], seen["spent_cents"]) == (0, 500)


def test_usage_counts_like_any_record(conso: DiameterConso, pgw: Pgw) -> None:
    """One engine: a record fed over HTTP narrows the Diameter grant, and what Diameter
    charged is in the usage answer and crosses notification thresholds."""
    line = conso.line("payg", limit_eur=5)
    conso.api.feed([record(line, "premium", 1, amount_cents=400)])
    sid = pgw.new_session_id()
    answer = pgw.initial(sid, [Ask(DATA, requested=100 * MB)], line=line)
    assert answer.only.result == SUCCESS
    assert answer.only.units == 1_000_000 // DATA_KB_MICROS * 1000    # what 1 EUR buys
    assert answer.only.final
    assert pgw.terminate(sid, 1, [Ask(DATA, used=answer.only.units)]).result == SUCCESS
    assert usage_of(conso, line)["spent_cents"] == 500

    king = conso.line("king")
    session = pgw.new_session_id()
    granted = pgw.initial(session, [Ask(DATA, requested=9 * GB)], line=king).only
    assert (granted.result, granted.units, granted.final) == (SUCCESS, 9 * GB, False)
    assert conso.messages(king) == []
    assert pgw.terminate(session, 1, [Ask(DATA, used=9 * GB)]).result == SUCCESS
    assert usage_of(conso, king)["data"] == 9 * GB
    rules = [m["rule"] for m in conso.messages(king)]
    assert rules == [{"kind": "included_pct", "value": 90, "service": "data"}]


# -- refusals per MSCC --------------------------------------------------------------------------


def test_a_barred_function_is_4010(conso: DiameterConso, pgw: Pgw) -> None:
    line = conso.line("payg")
    conso.bar(line, data=True, voice_in=True)
    sid = pgw.new_session_id()
    refused = pgw.initial(sid, [Ask(DATA, requested=MB)], line=line)
    assert refused.result == END_USER_SERVICE_DENIED
    assert (refused.only.result, refused.only.units) == (END_USER_SERVICE_DENIED, None)

    # Role-Of-Node: a received call is voice_in (barred), a call made is voice_out.
    incoming = pgw.initial(pgw.new_session_id(), [Ask(VOICE, requested=60)], line=line,
                           role=TERMINATING)
    assert (incoming.result, incoming.only.result) == (END_USER_SERVICE_DENIED,) * 2
    sid = pgw.new_session_id()
    mixed = pgw.initial(sid, [Ask(DATA, requested=MB), Ask(VOICE, requested=60)],
                        line=line, role=ORIGINATING)
    assert mixed.result == SUCCESS
    assert mixed.group(DATA).result == END_USER_SERVICE_DENIED
    assert (mixed.group(VOICE).result, mixed.group(VOICE).units) == (SUCCESS, 60)
    assert pgw.terminate(sid, 1, [Ask(VOICE, used=60)]).result == SUCCESS
    seen = usage_of(conso, line)
    assert (seen["voice"], seen["data"]) == (60, 0)


def test_roaming_blocked_by_the_limit_is_4010_and_roaming_is_charged_there(
    conso: DiameterConso, pgw: Pgw,
) -> None:
    limited = conso.line("payg", limit_eur=10)
    blocked = pgw.initial(pgw.new_session_id(), [Ask(DATA, requested=MB)], line=limited,
                          country="US")
    assert (blocked.result, blocked.only.result) == (END_USER_SERVICE_DENIED,) * 2
    sid = pgw.new_session_id()
    in_eu = pgw.initial(sid, [Ask(DATA, requested=MB)], line=limited, country="FR")
    assert (in_eu.result, in_eu.only.units) == (SUCCESS, MB)
    assert pgw.terminate(sid, 1, [Ask(DATA, used=MB)]).result == SUCCESS
    assert usage_of(conso, limited)["extra_cents"] == cents(data_micros(MB))  # as at home

    free = conso.line("payg")
    sid = pgw.new_session_id()
    abroad = pgw.initial(sid, [Ask(DATA, requested=MB)], line=free, country="US")
    assert (abroad.result, abroad.only.units) == (SUCCESS, MB)
    assert pgw.terminate(sid, 1, [Ask(DATA, used=MB)]).result == SUCCESS
    assert usage_of(conso, free)["extra_cents"] == cents(data_micros(MB,
                                                                     ROAMING_DATA_MB_MICROS))


def test_an_unmapped_rating_group_or_a_service_the_plan_lacks_is_5031(
    conso: DiameterConso, pgw: Pgw,
) -> None:
    line = conso.line("payg")
    refused = pgw.new_session_id()
    alone = pgw.initial(refused, [Ask(UNMAPPED_GROUP, requested=10)], line=line)
    assert (alone.result, alone.only.group, alone.only.result) == (
        RATING_FAILED, UNMAPPED_GROUP, RATING_FAILED)
    # Refused: there is no session to update.
    later = pgw.update(refused, 1, [Ask(DATA, requested=MB)])
    assert later.result == UNKNOWN_SESSION_ID, later
    sid = pgw.new_session_id()
    both = pgw.initial(sid, [Ask(UNMAPPED_GROUP, requested=10), Ask(DATA, requested=MB)],
                       line=line)
    assert both.result == SUCCESS
    assert both.group(UNMAPPED_GROUP).result == RATING_FAILED
    assert both.group(UNMAPPED_GROUP).units is None
    assert (both.group(DATA).result, both.group(DATA).units) == (SUCCESS, MB)
    assert pgw.terminate(sid, 1, [Ask(DATA, used=MB)]).result == SUCCESS

    # An internet line (reachable by its IMSI) has data and nothing else.
    imsi = new_imsi()
    fiber = conso.line("internet-150", imsi=imsi, line_id=new_id("fiber"))
    voice = pgw.initial(pgw.new_session_id(), [Ask(VOICE, requested=60)], imsi=imsi)
    assert (voice.result, voice.only.result) == (RATING_FAILED, RATING_FAILED)
    sms = pgw.event([Ask(SMS, requested=1)], imsi=imsi)
    assert (sms.result, sms.only.result) == (RATING_FAILED, RATING_FAILED)
    sid = pgw.new_session_id()
    data = pgw.initial(sid, [Ask(DATA, requested=MB), Ask(VOICE, requested=60)], imsi=imsi)
    assert data.result == SUCCESS
    assert (data.group(DATA).result, data.group(VOICE).result) == (SUCCESS, RATING_FAILED)
    assert pgw.terminate(sid, 1, [Ask(DATA, used=MB)]).result == SUCCESS
    assert usage_of(conso, fiber)["data"] == MB


# -- the same request again ---------------------------------------------------------------------


def test_the_same_request_again_gets_the_same_answer_and_counts_once(
    conso: DiameterConso, pgw: Pgw,
) -> None:
    line = conso.line("payg")
    sid = pgw.new_session_id()

    def twice(kind: int, number: int, asks: list[Ask], **options: object) -> Cca:
        first, sent = pgw.request(sid, kind, number, asks, line=line, **options)
        # With the T flag and the same end-to-end id (RFC 6733 §5.5.4) ...
        again, _ = pgw.request(sid, kind, number, asks, line=line, retransmit_of=sent,
                               **options)
        assert again.body == first.body
        # ... and as a new request (another end-to-end id, no T flag): the same
        # (Session-Id, CC-Request-Number) is the same answer.
        fresh, _ = pgw.request(sid, kind, number, asks, line=line, **options)
        assert fresh.body == first.body
        return first

    opened = twice(INITIAL, 0, [Ask(DATA, requested=2 * MB)])
    assert (opened.result, opened.only.units) == (SUCCESS, 2 * MB)
    updated = twice(UPDATE, 1, [Ask(DATA, used=1_500_000, requested=2 * MB)])
    assert (updated.result, updated.only.units) == (SUCCESS, 2 * MB)
    assert usage_of(conso, line)["data"] == 1_500_000
    ended = twice(TERMINATION, 2, [Ask(DATA, used=500_000)])
    assert ended.result == SUCCESS
    seen = usage_of(conso, line)
    assert seen["data"] == 2 * MB
    assert seen["extra_cents"] == cents(data_micros(2 * MB))

    # A one-time event sent again is debited once too.
    event_sid = pgw.new_session_id()
    first, sent = pgw.request(event_sid, EVENT, 0, [Ask(SMS, requested=2)], line=line,
                              action=DIRECT_DEBITING)
    again, _ = pgw.request(event_sid, EVENT, 0, [Ask(SMS, requested=2)], line=line,
                           action=DIRECT_DEBITING, retransmit_of=sent)
    fresh, _ = pgw.request(event_sid, EVENT, 0, [Ask(SMS, requested=2)], line=line,
                           action=DIRECT_DEBITING)
    assert first.result == again.result == fresh.result == SUCCESS
    assert again.body == first.body
    assert usage_of(conso, line)["sms"] == 2


# -- events --------------------------------------------------------------------------------------


def test_direct_debiting_of_sms_and_premium(conso: DiameterConso, pgw: Pgw) -> None:
    line = conso.line("payg")
    sid = pgw.new_session_id()
    sms = pgw.event([Ask(SMS, requested=2)], line=line, session_id=sid)
    assert_echoes(sms, sid, EVENT, 0)
    assert sms.failover is None                  # failover is for sessions
    assert (sms.result, sms.only.group, sms.only.result, sms.only.units) == (
        SUCCESS, SMS, SUCCESS, 2)
    # Without Requested-Action an event is a direct debit; CC-Money is the price.
    premium = pgw.event([Ask(PREMIUM, money_micros=2_500_000)], line=line, action=None)
    assert (premium.result, premium.only.result, premium.only.units) == (SUCCESS, SUCCESS, 1)
    seen = usage_of(conso, line)
    assert seen["sms"] == 2
    assert seen["extra_cents"] == cents(2 * SMS_MICROS) + 250

    conso.bar(line, sms_out=True, premium=True)
    barred = pgw.event([Ask(SMS, requested=1)], line=line)
    assert (barred.result, barred.only.result, barred.only.units) == (
        END_USER_SERVICE_DENIED, END_USER_SERVICE_DENIED, None)
    barred = pgw.event([Ask(PREMIUM, requested=1, money_micros=100_000)], line=line)
    assert barred.result == END_USER_SERVICE_DENIED
    assert usage_of(conso, line) == seen


def test_check_balance_and_price_enquiry_count_nothing(conso: DiameterConso, pgw: Pgw) -> None:
    line = conso.line("payg", limit_eur=5)
    enough = pgw.event([Ask(DATA, requested=50 * MB)], line=line, action=CHECK_BALANCE)
    assert (enough.result, enough.check_balance) == (SUCCESS, ENOUGH_CREDIT)
    assert enough.request_type == EVENT
    short = pgw.event([Ask(DATA, requested=200 * MB)], line=line, action=CHECK_BALANCE)
    assert (short.result, short.check_balance) == (SUCCESS, NO_CREDIT)

    price = pgw.event([Ask(SMS, requested=3)], line=line, action=PRICE_ENQUIRY)
    assert price.result == SUCCESS
    assert (price.cost_micros, price.cost_currency) == (3 * SMS_MICROS, EURO)
    # Where the line is (3GPP-SGSN-MCC-MNC) and which way the call goes (Role-Of-Node)
    # decide the price: a call received in the US is roaming voice in.
    roaming = pgw.event([Ask(VOICE, requested=60)], line=conso.line("payg"),
                        action=PRICE_ENQUIRY, country="US", role=TERMINATING)
    assert roaming.cost_micros == voice_micros(60, ROAMING_VOICE_IN_MINUTE_MICROS)
    assert roaming.cost_currency == EURO

    # What cannot be rated has no price: an unmapped rating group, a service the plan
    # lacks (RFC 8506: DIAMETER_RATING_FAILED), rather than a price of 0.
    unmapped = pgw.event([Ask(UNMAPPED_GROUP, requested=1)], line=line,
                         action=PRICE_ENQUIRY)
    assert (unmapped.result, unmapped.cost_micros) == (RATING_FAILED, None)
    imsi = new_imsi()
    conso.line("internet-150", imsi=imsi, line_id=new_id("fiber"))
    lacking = pgw.event([Ask(VOICE, requested=60)], imsi=imsi, action=PRICE_ENQUIRY)
    assert (lacking.result, lacking.cost_micros) == (RATING_FAILED, None)
    lacking = pgw.event([Ask(VOICE, requested=60)], imsi=imsi, action=CHECK_BALANCE)
    assert (lacking.result, lacking.check_balance) == (RATING_FAILED, None)

    refund = pgw.event([Ask(SMS, requested=1)], line=line, action=REFUND_ACCOUNT)
    assert refund.result == RATING_FAILED
    assert refund.request_type == EVENT

    seen = usage_of(conso, line)
    assert (seen["data"], seen["sms"], seen["spent_cents"]) == (0, 0, 0)
    # Nothing was reserved either: a session gets all the money buys.
    sid = pgw.new_session_id()
    whole = pgw.initial(sid, [Ask(DATA, requested=200 * MB)], line=line).only
    assert whole.units == 5_000_000 // DATA_KB_MICROS * 1000
    assert whole.final
    assert pgw.terminate(sid, 1, [Ask(DATA, used=0)]).result == SUCCESS


# -- Re-Auth-Requests -----------------------------------------------------------------------------


def test_barring_data_sends_a_rar_and_the_next_update_is_refused(
    conso: DiameterConso, peers: Peers,
) -> None:
    pgw = peers.a
    line, other = conso.line("payg"), conso.line("payg")
    sid, bystander = pgw.new_session_id(), pgw.new_session_id()
    assert pgw.initial(sid, [Ask(DATA, requested=MB)], line=line).result == SUCCESS
    assert pgw.initial(bystander, [Ask(DATA, requested=MB)], line=other).result == SUCCESS
    # A voice session of the same line through another peer (an IMS node).
    call = peers.b.new_session_id()
    assert peers.b.initial(call, [Ask(VOICE, requested=60)], line=line).result == SUCCESS

    conso.bar(line, data=True)
    (rar,) = pgw.wait_rar(sid)
    assert rar.request_type == AUTHORIZE_ONLY
    assert (rar.origin_host, rar.destination_host) == (CONSO_HOST, PGW_A)
    assert rar.application == CREDIT_CONTROL
    (other_rar,) = peers.b.wait_rar(call)             # each session's own peer is told
    assert (other_rar.request_type, other_rar.destination_host) == (AUTHORIZE_ONLY, PGW_B)
    # Voice is not barred: its next update is granted.
    assert peers.b.update(call, 1, [Ask(VOICE, used=60, requested=60)]).only.units == 60
    assert peers.b.terminate(call, 2, [Ask(VOICE, used=30)]).result == SUCCESS

    refused = pgw.update(sid, 1, [Ask(DATA, used=MB, requested=MB)])
    assert refused.result == END_USER_SERVICE_DENIED
    assert (refused.only.result, refused.only.units) == (END_USER_SERVICE_DENIED, None)
    assert pgw.terminate(sid, 2, [Ask(DATA, used=0)]).result == SUCCESS
    seen = usage_of(conso, line)
    assert (seen["data"], seen["voice"]) == (MB, 90)  # what was used before is charged
    # Only the line's sessions are re-authorized.
    assert pgw.update(bystander, 1, [Ask(DATA, used=MB, requested=MB)]).only.units == MB
    assert pgw.terminate(bystander, 2).result == SUCCESS
    assert pgw.rars_for(bystander) == [] and peers.b.rars_for(sid) == []


def test_a_new_spending_limit_sends_a_rar_and_the_next_update_is_cut(
    conso: DiameterConso, pgw: Pgw,
) -> None:
    line = conso.line("payg")
    sid = pgw.new_session_id()
    opened = pgw.initial(sid, [Ask(DATA, requested=500 * MB)], line=line)
    assert (opened.only.units, opened.only.final) == (500 * MB, False)   # no limit yet

    conso.set_limit(line, 5)
    (rar,) = pgw.wait_rar(sid)
    assert rar.request_type == AUTHORIZE_ONLY

    cut = pgw.update(sid, 1, [Ask(DATA, used=10 * MB, requested=500 * MB)])
    assert cut.result == SUCCESS
    left = 5_000_000 - data_micros(10 * MB)
    assert cut.only.units is not None and cut.only.units < 500 * MB
    assert data_micros(cut.only.units) <= left
    assert cut.only.final_action == TERMINATE
    assert pgw.terminate(sid, 2, [Ask(DATA, used=cut.only.units)]).result == SUCCESS
    assert usage_of(conso, line)["spent_cents"] <= 500


def test_a_rar_for_a_peer_that_is_away_waits_for_it(conso: DiameterConso, pool: PgwPool) -> None:
    """The push is an outbox row, retried like any message: sent once the peer is back."""
    line = conso.line("payg")
    first = pool.start(PGW_D, conso.diameter_port)
    sid = first.new_session_id()
    assert first.initial(sid, [Ask(DATA, requested=MB)], line=line).result == SUCCESS
    first.stop(force=True, wait=False)
    first.wait_disconnected()

    conso.bar(line, data=True)            # the admin's request does not wait for the peer
    # last_error, not attempts alone: a message being sent shows as queued, not yet failed
    pushes = wait_for(lambda: [m for m in conso.messages_to(PGW_D)
                               if m["channel"] == "diameter" and m["attempts"] >= 1
                               and m["last_error"]],
                      "a failed attempt at the RAR")
    (push,) = pushes
    assert push["status"] == "queued" and push["last_error"]
    assert json.loads(push["text"])["session_id"] == sid

    back = pool.start(PGW_D, conso.diameter_port)
    (rar,) = back.wait_rar(sid)
    assert (rar.request_type, rar.destination_host) == (AUTHORIZE_ONLY, PGW_D)
    wait_for(lambda: [m["status"] for m in conso.messages_to(PGW_D)] == ["sent"],
             "the RAR marked sent")
    assert back.update(sid, 1, [Ask(DATA, used=MB, requested=MB)]).only.result == \
        END_USER_SERVICE_DENIED
    assert back.terminate(sid, 2).result == SUCCESS
    assert first.rars_for(sid) == []


# -- the base protocol and the peers ---------------------------------------------------------------


def test_cer_dwr_and_dpr_are_answered(conso: DiameterConso) -> None:
    with RawPeer(conso.diameter_port, RAW) as peer:
        cea = peer.exchange(peer.cer())
        assert cea.result_code == SUCCESS
        assert cea.origin_host.decode() == CONSO_HOST
        assert cea.origin_realm.decode() == CONSO_REALM
        assert CREDIT_CONTROL in cea.auth_application_id
        assert cea.product_name == "conso"
        assert VENDOR_3GPP in cea.supported_vendor_id

        dwa = peer.exchange(peer.dwr())
        assert dwa.header.command_code == 280 and not dwa.header.is_request
        assert dwa.result_code == SUCCESS
        assert dwa.origin_host.decode() == CONSO_HOST

        dpa = peer.exchange(peer.dpr())
        assert dpa.header.command_code == 282 and not dpa.header.is_request
        assert dpa.result_code == SUCCESS
        assert peer.closed_by_peer(timeout=5)


def test_only_allowed_peers_are_served(conso: DiameterConso) -> None:
    assert ROGUE not in conso.peers
    with RawPeer(conso.diameter_port, ROGUE) as rogue:
        cea = rogue.exchange(rogue.cer())
        assert cea.result_code == UNKNOWN_PEER
        assert cea.header.is_error              # a protocol error: the E bit
        assert rogue.closed_by_peer()
    # An allowed peer without Credit-Control (here Gx only) has nothing to do with conso.
    with RawPeer(conso.diameter_port, RAW) as gx:
        cea = gx.exchange(gx.cer(applications=[GX]))
        assert cea.result_code == NO_COMMON_APPLICATION
        assert gx.closed_by_peer()
    # A request before the capabilities exchange is refused and the link closed.
    with RawPeer(conso.diameter_port, RAW) as early:
        answer = early.exchange(early.dwr())
        assert answer.result_code == UNKNOWN_PEER
        assert early.closed_by_peer()
    # An allowed peer is served.
    with RawPeer(conso.diameter_port, RAW) as allowed:
        assert allowed.exchange(allowed.cer()).result_code == SUCCESS
        assert allowed.exchange(allowed.dwr()).result_code == SUCCESS


def test_two_peers_at_once(conso: DiameterConso, peers: Peers) -> None:
    line = conso.line("king")

    def session(pgw: Pgw, rounds: int) -> int:
        sid = pgw.new_session_id()
        assert pgw.initial(sid, [Ask(VOICE, requested=60)], line=line).only.units == 60
        for number in range(1, rounds + 1):
            answer = pgw.update(sid, number, [Ask(VOICE, used=60, requested=60)])
            assert (answer.result, answer.only.units) == (SUCCESS, 60)
        assert pgw.terminate(sid, rounds + 1, [Ask(VOICE, used=60)]).result == SUCCESS
        return 60 * (rounds + 1)

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(session, p, 5) for p in (peers.a, peers.b, peers.a, peers.b)]
        total = sum(f.result(timeout=60) for f in futures)
    assert usage_of(conso, line)["voice"] == total == 4 * 6 * 60


def test_another_peer_continues_a_session_whose_peer_went_away(
    conso: DiameterConso, peers: Peers,
) -> None:
    line = conso.line("payg")
    gone = peers.pool.start(PGW_C, conso.diameter_port)
    sid = gone.new_session_id()
    assert gone.initial(sid, [Ask(DATA, requested=2 * MB)], line=line).result == SUCCESS
    gone.stop(force=True, wait=False)       # the link breaks: no DPR
    gone.wait_disconnected()

    took_over = peers.b.update(sid, 1, [Ask(DATA, used=2 * MB, requested=2 * MB)])
    assert took_over.result == SUCCESS
    assert took_over.failover == FAILOVER_SUPPORTED
    assert (took_over.only.result, took_over.only.units) == (SUCCESS, 2 * MB)

    # conso's requests for the session now go to the peer that continues it.
    conso.bar(line, data=True)
    (rar,) = peers.b.wait_rar(sid)
    assert rar.destination_host == PGW_B
    assert gone.rars_for(sid) == []
    refused = peers.b.update(sid, 2, [Ask(DATA, used=MB, requested=MB)])
    assert refused.only.result == END_USER_SERVICE_DENIED
    assert peers.b.terminate(sid, 3, [Ask(DATA, used=0)]).result == SUCCESS
    assert usage_of(conso, line)["data"] == 3 * MB


# -- zero overshoot -----------------------------------------------------------------------------

THREADS_PER_PEER = 3
CHUNK = 777_777                    # not a whole number of kB (the meter bills per started kB)
MAX_REQUESTS = 2_000


@dataclass
class Tally:
    sessions: int = 0
    requests: int = 0
    granted: int = 0
    refusals: list[tuple[int | None, int | None]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def run_sessions(pgw: Pgw, line: str, go: threading.Barrier) -> Tally:
    """Sessions one after another, each using exactly what it is granted, until a start
    is refused."""
    tally = Tally()
    go.wait()
    while tally.requests < MAX_REQUESTS:
        sid = pgw.new_session_id()
        answer = pgw.initial(sid, [Ask(DATA, requested=CHUNK)], line=line)
        tally.requests += 1
        if answer.only.units is None:
            tally.refusals.append((answer.result, answer.only.result))
            return tally
        tally.sessions += 1
        number, used = 0, 0
        while True:
            granted = answer.only.units or 0
            if granted > CHUNK:
                tally.problems.append(f"granted {granted} > asked {CHUNK}")
            tally.granted += granted
            used = granted
            if answer.only.final:
                break
            number += 1
            answer = pgw.update(sid, number, [Ask(DATA, used=used, requested=CHUNK)])
            tally.requests += 1
            if answer.only.units is None:
                if answer.only.result != CREDIT_LIMIT_REACHED:
                    tally.problems.append(f"update answered {answer.only.result}")
                used = 0
                break
        end = pgw.terminate(sid, number + 1, [Ask(DATA, used=used)])
        tally.requests += 1
        if end.result != SUCCESS:
            tally.problems.append(f"termination answered {end.result}")
            return tally
    tally.problems.append(f"still not refused after {MAX_REQUESTS} requests")
    return tally


def test_parallel_sessions_from_two_peers_never_pass_the_limit(
    conso: DiameterConso, peers: Peers,
) -> None:
    limit_eur = 5
    line = conso.line("payg", limit_eur=limit_eur)
    threads = 2 * THREADS_PER_PEER
    go = threading.Barrier(threads)
    with ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(run_sessions, pgw, line, go)
                   for pgw in [peers.a, peers.b] * THREADS_PER_PEER]
        tallies = [f.result(timeout=120) for f in futures]

    assert [t.problems for t in tallies] == [[]] * threads
    for tally in tallies:
        assert tally.refusals == [(CREDIT_LIMIT_REACHED, CREDIT_LIMIT_REACHED)]
    assert sum(t.sessions for t in tallies) >= threads

    seen = usage_of(conso, line)
    limit = conso.limit(line)
    # Zero overshoot ...
    assert seen["spent_cents"] <= limit_eur * 100
    assert seen["extra_cents"] <= limit_eur * 100
    assert limit["reached"] is True and limit["overshoot_cents"] == 0
    # ... and no money left unusable (one kB is 0.005 cent).
    assert seen["spent_cents"] >= limit_eur * 100 - 1
    # What was granted is what was used, and all of it was charged.
    assert seen["data"] == sum(t.granted for t in tallies)
    assert seen["data"] <= limit_eur * 1_000_000 // DATA_KB_MICROS * 1000
    assert pgw_refuses(peers.a, line)


def pgw_refuses(pgw: Pgw, line: str) -> bool:
    answer = pgw.initial(pgw.new_session_id(), [Ask(DATA, requested=1000)], line=line)
    return (answer.result, answer.only.result) == (CREDIT_LIMIT_REACHED, CREDIT_LIMIT_REACHED)



# -- a restart; the end of a session by its validity ---------------------------------------------

SHORT_VALIDITY = 2


def test_after_a_restart_a_request_sent_again_counts_once_and_stale_sessions_are_gone(
    tmp_path: Path, pool: PgwPool,
) -> None:
    """The same (Session-Id, CC-Request-Number) after conso restarted (its duplicate cache
    is gone) gets the first answer and counts nothing twice; a session not heard from
    within its validity is one conso no longer holds, its reservation released."""
    with diameter_server(tmp_path, peers=None, validity_seconds=VALIDITY) as first:
        line, limited = first.line("payg"), first.line("payg", limit_eur=5)
        pgw = pool.start(PGW_A, first.diameter_port)
        sid = pgw.new_session_id()
        assert pgw.initial(sid, [Ask(DATA, requested=2 * MB)], line=line).result == SUCCESS
        assert pgw.update(sid, 1, [Ask(DATA, used=MB, requested=MB)]).result == SUCCESS
        ended, sent = pgw.request(sid, TERMINATION, 2, [Ask(DATA, used=MB)])
        assert ended.result == SUCCESS
        # A session that takes all of a line's money, and is never heard from again.
        stale = pgw.new_session_id()
        held = pgw.initial(stale, [Ask(DATA, requested=200 * MB)], line=limited).only
        last_heard = time.monotonic()
        assert (held.units, held.final) == (5_000_000 // DATA_KB_MICROS * 1000, True)
        assert pgw_refuses(pgw, limited)
    pgw.stop(wait=False)
    # Restarted on the same database, with sessions valid for less than the restart took.
    with diameter_server(tmp_path, peers=None, validity_seconds=SHORT_VALIDITY) as again:
        pgw = pool.start(PGW_A, again.diameter_port)
        replayed, _ = pgw.request(sid, TERMINATION, 2, [Ask(DATA, used=MB)],
                                  retransmit_of=sent)
        assert replayed.body == ended.body
        fresh = pgw.terminate(sid, 2, [Ask(DATA, used=MB)])
        assert fresh.body == ended.body
        assert usage_of(again, line)["data"] == 2 * MB

        time.sleep(max(0.0, last_heard + SHORT_VALIDITY + 0.5 - time.monotonic()))
        late = pgw.update(stale, 1, [Ask(DATA, used=MB, requested=MB)])
        assert late.result == UNKNOWN_SESSION_ID
        assert pgw.terminate(stale, 1, [Ask(DATA, used=MB)]).result == UNKNOWN_SESSION_ID
        assert usage_of(again, limited)["data"] == 0
        sid = pgw.new_session_id()
        assert pgw.initial(sid, [Ask(DATA, requested=MB)], line=limited).only.units == MB
        pgw.stop(wait=False)


def test_data_roaming_outside_the_eu_stops_at_the_cap_with_4012_until_the_user_continues(
    conso: DiameterConso, pgw: Pgw,
) -> None:
    """rules.md, "Roaming data cap": EUR 50 of data outside the EU/EEA (2 EUR a MB:
    25 MB), the last grant marked final, then 4012 (the cap is money: it buys nothing
    more); calls still go; after CONTINUE (here through the API) data goes again."""
    line = conso.line("king")
    sid = pgw.new_session_id()
    first = pgw.initial(sid, [Ask(DATA, requested=100 * MB)], line=line, country="US")
    assert (first.result, first.only.result, first.only.units) == (SUCCESS, SUCCESS, 25 * MB)
    assert first.only.final_action == TERMINATE
    assert pgw.terminate(sid, 1, [Ask(DATA, used=25 * MB)]).result == SUCCESS
    refused = pgw.initial(pgw.new_session_id(), [Ask(DATA, requested=MB)], line=line,
                          country="US")
    assert (refused.result, refused.only.result) == (CREDIT_LIMIT_REACHED,) * 2
    voice = pgw.initial(pgw.new_session_id(), [Ask(VOICE, requested=60)], line=line,
                        country="US")
    assert (voice.result, voice.only.units) == (SUCCESS, 60)
    cap = conso.usage(line)["roaming_cap"]
    assert (cap["spent_cents"], cap["reached"]) == (5000, True)
    answer = conso.op.post(f"/api/v1/lines/{line}/roaming-cap/continue")
    assert answer.status_code == 200, answer.text
    again = pgw.initial(pgw.new_session_id(), [Ask(DATA, requested=MB)], line=line,
                        country="US")
    assert (again.result, again.only.units) == (SUCCESS, MB)
