"""5G converged charging (nchf.md, TS 32.291 Nchf_ConvergedCharging v3) on a real
`conso serve --nchf` process, over REAL HTTP/2 with prior knowledge (h2c): httpx with
`http2=True, http1=False`, curl with `--http2-prior-knowledge`, and the `h2` library on a
bare socket for floods. The SMF's notify endpoint is a real HTTP server of the test.

What crosses the wire is what the clients decoded; effects are read back through the
operator's HTTP API (usage, spending limit, messages), admin changes made through it.
Expected amounts are worked out from the reference catalogue the server runs with
(payg: data 0.05/MB per started kB, voice 0.15/min per second, sms 0.08; roaming outside
the EU/EEA: data 2.00/MB), read from src/conso/catalog.toml.

One server for the module (with its Diameter listener too, for the zero-overshoot test
across protocols); every test uses lines of its own.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from . import diameter_support as dia
from .control_support import Network, new_session_id
from .helpers import OPERATOR_KEY, new_number, wait_for
from .nchf_support import (
    API_ROOT,
    BLOCKED_WITH_LIMIT,
    CHARGING_FAILED,
    DATA,
    DEFAULT_QUOTA,
    END_USER_REQUEST_DENIED,
    END_USER_SERVICE_DENIED,
    PAYG_RATES,
    PREMIUM,
    QUOTA_LIMIT_REACHED,
    RATING_FAILED,
    REAUTHORIZATION,
    SMS,
    SUCCESS,
    TERMINATE,
    UNMAPPED_GROUP,
    USER_UNKNOWN,
    VOICE,
    Answer,
    NchfConso,
    NotifySink,
    RawH2,
    Smf,
    Use,
    charging_request,
    nchf_server,
    new_imsi,
)
from .nchf_support import user_location as nchf_user_location

MB = 10**6
VALIDITY = 420            # CONSO_SESSION_VALIDITY_SECONDS of the server: not the default


def micros(euros: str) -> int:
    return int(Decimal(euros) * 1_000_000)


DATA_MB_MICROS = micros(PAYG_RATES["data_per_mb"])
DATA_KB_MICROS = DATA_MB_MICROS // 1000
VOICE_MINUTE_MICROS = micros(PAYG_RATES["voice_per_minute"])
SMS_MICROS = micros(PAYG_RATES["sms_per_sms"])
ROAMING_DATA_MB_MICROS = micros(dia.ROAMING_RATES["data_per_mb"])
FIVE_EUR_OF_DATA = 5_000_000 // DATA_KB_MICROS * 1000       # 100 MB


def data_micros(octets: int, per_mb: int = DATA_MB_MICROS) -> int:
    """Whole kB only: the meter is billed per started kB."""
    assert octets % 1000 == 0
    return octets // 1000 * per_mb // 1000


def voice_micros(seconds: int) -> int:
    return seconds * VOICE_MINUTE_MICROS // 60


# -- one server for the module ------------------------------------------------------------------


@pytest.fixture(scope="module")
def conso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NchfConso]:
    # Notifications to an SMF that is away are retried at least every second.
    with nchf_server(tmp_path_factory.mktemp("conso-nchf"), validity_seconds=VALIDITY,
                     env={"CONSO_RETRY_MAX_SECONDS": "1"}) as started:
        yield started


@pytest.fixture(scope="module")
def smf(conso: NchfConso) -> Iterator[Smf]:
    with conso.smf() as client:
        yield client


def nothing_counted(conso: NchfConso, line: str) -> None:
    seen = conso.usage(line)
    assert (seen["data"], seen["voice"], seen["sms"], seen["extra_micros"]) == (0, 0, 0, 0), seen


def assert_answer(answer: Answer, status: int, sequence: int) -> None:
    """A ChargingDataResponse: JSON, the request's invocationSequenceNumber echoed."""
    assert answer.status == status, answer.text
    assert answer.content_type.startswith("application/json"), answer.content_type
    assert answer.body is not None
    assert answer.body["invocationSequenceNumber"] == sequence
    assert isinstance(answer.body["invocationTimeStamp"], str)


# -- create, update, release ---------------------------------------------------------------------


def test_a_pdu_session_create_update_release(conso: NchfConso, smf: Smf) -> None:
    line = conso.line("payg")
    created = smf.create(charging_request(0, [Use(DATA, requested=5 * MB), Use(VOICE)],
                                          line=line))
    assert_answer(created, 201, 0)
    assert created.http_version == "HTTP/2"
    ref = created.ref
    assert httpx.URL(conso.nchf_url).join(created.location or "") == httpx.URL(
        f"{conso.nchf_url}{API_ROOT}/chargingdata/{ref}")
    # One item per rating group asked, each granted in its own unit, valid as long as
    # the server's sessions; no limit: no grant is the last.
    data, voice = created.group(DATA), created.group(VOICE)
    assert (data.result, data.granted, data.validity, data.final) == (
        SUCCESS, {"totalVolume": 5 * MB}, VALIDITY, False)
    assert (voice.result, voice.granted, voice.validity, voice.final) == (
        SUCCESS, {"time": DEFAULT_QUOTA["voice"]}, VALIDITY, False)

    # Data used reported as uplink + downlink only; no requestedUnit: the default quota.
    updated = smf.update(ref, charging_request(1, [Use(DATA, used=3 * MB, split=True),
                                                   Use(VOICE, used=120, requested=60)]))
    assert_answer(updated, 200, 1)
    assert updated.group(DATA).granted == {"totalVolume": DEFAULT_QUOTA["data"]}
    assert updated.group(VOICE).granted == {"time": 60}
    assert {u.validity for u in updated.units} == {VALIDITY}
    mid = conso.usage(line)
    assert (mid["data"], mid["voice"]) == (3 * MB, 120)

    released = smf.release(ref, charging_request(2, [Use(DATA, used=2 * MB),
                                                     Use(VOICE, used=30)]))
    assert released.status == 204 and released.body is None, released.text

    # Usage charged through Nchf is in the usage answer like any record.
    seen = conso.usage(line)
    assert (seen["data"], seen["voice"]) == (5 * MB, 150)
    assert seen["extra_micros"] == data_micros(5 * MB) + voice_micros(150)
    # The same release again: its first answer; anything after it: no such resource.
    assert smf.release(ref, charging_request(2, [Use(DATA, used=2 * MB)])).status == 204
    after = smf.update(ref, charging_request(3, [Use(DATA, used=MB, requested=MB)]))
    after.problem(404)
    smf.release(ref, charging_request(3, [Use(DATA, used=MB)])).problem(404)
    assert conso.usage(line)["data"] == 5 * MB


def test_the_last_grant_the_money_allows_carries_final_unit_indication(
    conso: NchfConso, smf: Smf,
) -> None:
    line = conso.line("payg", limit_eur=5)
    small = smf.create(charging_request(0, [Use(DATA, requested=MB)], line=line))
    assert_answer(small, 201, 0)
    assert (small.only.units, small.only.final) == (MB, False)

    # The other session's reservation counts: the money left buys 99 MB, the last grant.
    big = smf.create(charging_request(0, [Use(DATA, requested=200 * MB)], line=line))
    assert_answer(big, 201, 0)
    assert big.only.result == SUCCESS
    assert big.only.units == FIVE_EUR_OF_DATA - MB
    assert big.only.final_action == TERMINATE
    assert big.only.validity == VALIDITY

    # Nothing left: an update is answered 200 with the rating group's QUOTA_LIMIT_REACHED.
    cut = smf.update(big.ref, charging_request(1, [Use(DATA, used=big.only.units,
                                                       requested=MB)]))
    assert_answer(cut, 200, 1)
    assert (cut.only.result, cut.only.granted, cut.only.final) == (
        QUOTA_LIMIT_REACHED, None, False)
    assert smf.release(big.ref, charging_request(2, [Use(DATA, used=0)])).status == 204
    assert smf.release(small.ref, charging_request(1, [Use(DATA, used=MB)])).status == 204
    seen = conso.usage(line)
    assert (seen["data"], seen["spent_cents"]) == (FIVE_EUR_OF_DATA, 500)
    limit = conso.limit(line)
    assert limit["reached"] is True and limit["overshoot_cents"] == 0

    # A create of which nothing is granted (one rating group or several): 403
    # ProblemDetails QUOTA_LIMIT_REACHED, and no resource; an SMS event neither.
    refused = smf.create(charging_request(0, [Use(DATA, requested=MB)], line=line))
    assert refused.problem(403)["cause"] == QUOTA_LIMIT_REACHED
    assert refused.location is None
    both = smf.create(charging_request(0, [Use(DATA, requested=MB), Use(VOICE, requested=60)],
                                       line=line))
    assert both.problem(403)["cause"] == QUOTA_LIMIT_REACHED
    sms = smf.create(charging_request(0, [Use(SMS, requested=1)], line=line, node="SMSF",
                                      one_time_event=True, sms=True))
    assert sms.problem(403)["cause"] == QUOTA_LIMIT_REACHED
    seen = conso.usage(line)
    assert (seen["data"], seen["sms"], seen["spent_cents"]) == (FIVE_EUR_OF_DATA, 0, 500)


# -- one-time events -----------------------------------------------------------------------------


def test_an_sms_through_the_smsf_is_debited_once(conso: NchfConso, smf: Smf) -> None:
    imsi = new_imsi()
    line = conso.line("payg", imsi=imsi)
    event = charging_request(0, [Use(SMS, requested=2)], imsi=imsi, node="SMSF",
                             one_time_event=True, sms=True, country="BE")
    debited = smf.create(event)
    assert_answer(debited, 201, 0)
    assert debited.location is not None
    assert (debited.only.result, debited.only.granted) == (
        SUCCESS, {"serviceSpecificUnits": 2})
    seen = conso.usage(line)
    assert (seen["sms"], seen["extra_micros"]) == (2, 2 * SMS_MICROS)   # the debit is done

    # The same event again, and flagged as a retransmission: the first answer, counted once.
    again = smf.create(event)
    assert (again.status, again.location, again.only.granted) == (
        201, debited.location, {"serviceSpecificUnits": 2})
    flagged = smf.create({**event, "retransmissionIndicator": True})
    assert (flagged.status, flagged.location) == (201, debited.location)
    # Another SMS (another request) is another debit.
    other = smf.create(charging_request(0, [Use(SMS)], imsi=imsi, node="SMSF",
                                        one_time_event=True, sms=True))
    assert (other.status, other.only.units) == (201, DEFAULT_QUOTA["sms"])
    assert other.location != debited.location
    seen = conso.usage(line)
    assert (seen["sms"], seen["extra_micros"]) == (3, 3 * SMS_MICROS)

    # Post event charging: the SMSF reports the messages it sent (usedUnitContainer, no
    # requestedUnit): those are debited, not the default quota.
    reported = smf.create(charging_request(0, [Use(SMS, used=3)], imsi=imsi, node="SMSF",
                                           one_time_event=True, event_type="PEC", sms=True))
    assert (reported.status, reported.only.units) == (201, 3)
    seen = conso.usage(line)
    assert (seen["sms"], seen["extra_micros"]) == (6, 6 * SMS_MICROS)

    # Barred: END_USER_REQUEST_DENIED, nothing debited. An unmapped group: CHARGING_FAILED.
    conso.bar(line, sms_out=True)
    barred = smf.create(charging_request(0, [Use(SMS, requested=1)], imsi=imsi, node="SMSF",
                                         one_time_event=True, sms=True))
    assert barred.problem(403)["cause"] == END_USER_REQUEST_DENIED
    unmapped = smf.create(charging_request(0, [Use(UNMAPPED_GROUP, requested=1)], imsi=imsi,
                                           node="SMSF", one_time_event=True, sms=True))
    assert unmapped.problem(400)["cause"] == CHARGING_FAILED
    assert conso.usage(line)["sms"] == 6


def test_an_sms_sent_abroad_is_charged_at_the_roaming_rate(conso: NchfConso, smf: Smf) -> None:
    line = conso.line("payg")
    abroad = smf.create(charging_request(0, [Use(SMS, requested=1)], line=line, node="SMSF",
                                         one_time_event=True, sms=True, country="US"))
    assert (abroad.status, abroad.only.units) == (201, 1)
    seen = conso.usage(line)
    assert (seen["sms_roaming"], seen["extra_micros"]) == (
        1, micros(dia.ROAMING_RATES["sms_per_sms"]))


def test_a_premium_event_nchf_cannot_price_is_refused_and_counts_nothing(
    conso: NchfConso, smf: Smf,
) -> None:
    # Premium is sold at the provider's price and TS 32.291's units carry no money.
    line = conso.line("payg")
    bought = smf.create(charging_request(0, [Use(PREMIUM, requested=1)], line=line,
                                         node="SMSF", one_time_event=True, sms=True))
    assert bought.status == 400, bought.text
    assert bought.body is not None and bought.body["cause"] == "CHARGING_FAILED"
    assert conso.usage(line)["extra_micros"] == 0


# -- the subscriber --------------------------------------------------------------------------------


def test_the_subscriber_by_supi_or_by_gpsi(conso: NchfConso, smf: Smf) -> None:
    account = conso.api.account("business")
    line = conso.api.line(account, "payg")
    imsi = new_imsi()
    conso.set_imsi(line, account, "payg", imsi)     # PUT /api/v1/lines/{line} with its imsi

    by_supi = smf.create(charging_request(0, [Use(DATA, requested=3 * MB)], imsi=imsi))
    assert (by_supi.status, by_supi.only.units) == (201, 3 * MB)
    by_gpsi = smf.create(charging_request(0, [Use(DATA, requested=3 * MB)], line=line))
    assert (by_gpsi.status, by_gpsi.only.units) == (201, 3 * MB)
    # A SUPI conso does not know (an IMSI of no line, or not an IMSI): the GPSI names it.
    unknown_supi = smf.create(charging_request(0, [Use(DATA, requested=3 * MB)],
                                               imsi=new_imsi(), line=line))
    assert (unknown_supi.status, unknown_supi.only.units) == (201, 3 * MB)
    nai = charging_request(0, [Use(DATA, requested=3 * MB)], line=line)
    nai["subscriberIdentifier"] = "nai-someone@example.org"
    by_nai = smf.create(nai)
    assert by_nai.status == 201
    for number, answer in enumerate((by_supi, by_gpsi, unknown_supi, by_nai)):
        assert smf.release(answer.ref, charging_request(
            1, [Use(DATA, used=number * MB)])).status == 204
    assert conso.usage(line)["data"] == 6 * MB


@pytest.mark.parametrize("who", ["supi", "gpsi", "both", "event"])
def test_an_unknown_subscriber_is_404_user_unknown(
    conso: NchfConso, smf: Smf, who: str,
) -> None:
    known = conso.line("payg")
    stranger = new_number()
    if who == "supi":
        request = charging_request(0, [Use(DATA, requested=MB)], imsi=new_imsi())
    elif who == "gpsi":
        request = charging_request(0, [Use(DATA, requested=MB)], line=stranger)
    elif who == "both":
        request = charging_request(0, [Use(DATA, requested=MB)], imsi=new_imsi(),
                                   line=stranger)
    else:
        request = charging_request(0, [Use(SMS, requested=1)], line=stranger, node="SMSF",
                                   one_time_event=True, sms=True)
    refused = smf.create(request)
    assert refused.problem(404)["cause"] == USER_UNKNOWN
    assert refused.location is None
    # Nothing was opened or counted: a line of that number created now has no usage.
    conso.api.line(conso.api.account("business"), "payg", line_id=stranger)
    nothing_counted(conso, stranger)
    nothing_counted(conso, known)


# -- every result code --------------------------------------------------------------------------


def test_barred_data_is_end_user_service_denied(conso: NchfConso, smf: Smf) -> None:
    line = conso.line("payg")
    conso.bar(line, data=True)
    alone = smf.create(charging_request(0, [Use(DATA, requested=MB)], line=line))
    assert alone.problem(403)["cause"] == END_USER_REQUEST_DENIED

    mixed = smf.create(charging_request(0, [Use(DATA, requested=MB), Use(VOICE, requested=60)],
                                        line=line))
    assert_answer(mixed, 201, 0)
    data, voice = mixed.group(DATA), mixed.group(VOICE)
    assert (data.result, data.granted, data.validity) == (END_USER_SERVICE_DENIED, None, None)
    assert (voice.result, voice.units) == (SUCCESS, 60)
    assert smf.release(mixed.ref, charging_request(1, [Use(VOICE, used=60)])).status == 204
    seen = conso.usage(line)
    assert (seen["data"], seen["voice"]) == (0, 60)


def test_roaming_blocked_by_the_limit_is_denied_and_roaming_is_charged(
    conso: NchfConso, smf: Smf,
) -> None:
    limited = conso.line("payg", limit_eur=10)
    assert "US" in BLOCKED_WITH_LIMIT
    blocked = smf.create(charging_request(0, [Use(DATA, requested=MB)], line=limited,
                                          country="US"))
    assert blocked.problem(403)["cause"] == END_USER_REQUEST_DENIED
    nothing_counted(conso, limited)
    in_eu = smf.create(charging_request(0, [Use(DATA, requested=MB)], line=limited,
                                        country="FR"))
    assert (in_eu.status, in_eu.only.units) == (201, MB)
    assert smf.release(in_eu.ref, charging_request(1, [Use(DATA, used=MB)])).status == 204
    assert conso.usage(limited)["extra_micros"] == data_micros(MB)     # as at home

    free = conso.line("payg")
    abroad = smf.create(charging_request(0, [Use(DATA, requested=MB)], line=free,
                                         country="US"))
    assert (abroad.status, abroad.only.result, abroad.only.units) == (201, SUCCESS, MB)
    assert smf.release(abroad.ref, charging_request(1, [Use(DATA, used=MB)])).status == 204
    seen = conso.usage(free)
    assert seen["extra_micros"] == data_micros(MB, ROAMING_DATA_MB_MICROS)


def test_a_roaming_session_located_only_by_its_qos_containers_is_roaming(
    conso: NchfConso, smf: Smf,
) -> None:
    """nchf.md: the country comes from userLocationinfo or roamingQBCInformation."""
    limited = conso.line("payg", limit_eur=10)
    body = charging_request(0, [Use(DATA, requested=MB)], line=limited)
    body["roamingQBCInformation"] = {"multipleQFIcontainer": [
        {"localSequenceNumber": 1},     # not located: the next one tells
        {"localSequenceNumber": 2, "qFIContainerInformation": {
            "reportTime": body["invocationTimeStamp"],
            "userLocationInformation": nchf_user_location("US")}}]}
    blocked = smf.create(body)
    assert blocked.problem(403)["cause"] == END_USER_REQUEST_DENIED
    nothing_counted(conso, limited)


def test_an_unmapped_rating_group_or_a_service_the_plan_lacks_is_rating_failed(
    conso: NchfConso, smf: Smf,
) -> None:
    line = conso.line("payg")
    alone = smf.create(charging_request(0, [Use(UNMAPPED_GROUP, requested=10)], line=line))
    assert alone.problem(400)["cause"] == CHARGING_FAILED
    both = smf.create(charging_request(0, [Use(UNMAPPED_GROUP, requested=10),
                                           Use(DATA, requested=MB)], line=line))
    assert_answer(both, 201, 0)
    assert (both.group(UNMAPPED_GROUP).result, both.group(UNMAPPED_GROUP).granted) == (
        RATING_FAILED, None)
    assert (both.group(DATA).result, both.group(DATA).units) == (SUCCESS, MB)
    assert smf.release(both.ref, charging_request(1, [Use(DATA, used=MB)])).status == 204

    # An internet line has data and nothing else.
    imsi = new_imsi()
    fiber = conso.line("internet-150", imsi=imsi, line_id=f"fiber-{uuid.uuid4().hex[:10]}")
    voice = smf.create(charging_request(0, [Use(VOICE, requested=60)], imsi=imsi))
    assert voice.problem(400)["cause"] == CHARGING_FAILED
    mixed = smf.create(charging_request(0, [Use(DATA, requested=MB), Use(VOICE, requested=60)],
                                        imsi=imsi))
    assert_answer(mixed, 201, 0)
    assert (mixed.group(DATA).result, mixed.group(VOICE).result) == (SUCCESS, RATING_FAILED)
    assert mixed.group(VOICE).granted is None
    assert smf.release(mixed.ref, charging_request(1, [Use(DATA, used=MB)])).status == 204
    seen = conso.usage(fiber)
    assert (seen["data"], seen.get("voice", 0)) == (MB, 0)
    assert conso.usage(line)["data"] == MB


# -- the same request again -----------------------------------------------------------------------


def test_a_request_sent_again_gets_the_same_answer_and_counts_once(
    conso: NchfConso, smf: Smf,
) -> None:
    line = conso.line("payg", limit_eur=5)
    create = charging_request(0, [Use(DATA, requested=10 * MB)], line=line)
    first = smf.create(create)
    assert (first.status, first.only.units) == (201, 10 * MB)
    again = smf.create(create)
    assert (again.status, again.location, again.units) == (201, first.location, first.units)
    flagged = smf.create({**create, "retransmissionIndicator": True})
    assert (flagged.status, flagged.location, flagged.units) == (
        201, first.location, first.units)
    # One reservation only: another session gets what is left after 10 MB.
    other = smf.create(charging_request(0, [Use(DATA, requested=200 * MB)], line=line))
    assert other.only.units == FIVE_EUR_OF_DATA - 10 * MB
    assert smf.release(other.ref, charging_request(1, [Use(DATA, used=0)])).status == 204

    update = charging_request(1, [Use(DATA, used=4 * MB, requested=2 * MB)])
    answered = smf.update(first.ref, update)
    assert (answered.status, answered.only.units) == (200, 2 * MB)
    for repeat in (update, {**update, "retransmissionIndicator": True},
                   {**update, "invocationTimeStamp": "2030-01-01T00:00:00Z",
                    "retransmissionIndicator": True}):
        same = smf.update(first.ref, repeat)
        assert (same.status, same.units) == (200, answered.units)
    assert conso.usage(line)["data"] == 4 * MB                     # counted once

    release = charging_request(2, [Use(DATA, used=MB)])
    assert smf.release(first.ref, release).status == 204
    assert smf.release(first.ref, {**release, "retransmissionIndicator": True}).status == 204
    seen = conso.usage(line)
    assert (seen["data"], seen["extra_micros"]) == (5 * MB, data_micros(5 * MB))


def test_members_conso_does_not_read_may_hold_any_json_number(
    conso: NchfConso, smf: Smf,
) -> None:
    """3GPP's objects are open: a member conso ignores may carry an integer past 64 bits
    (JSON has no limit); the create is served, and its ref is stable."""
    line = conso.line("payg")
    create = charging_request(0, [Use(DATA, requested=MB)], line=line)
    create["vendorSpecific"] = {"counter": 2**70, "offset": -(2**65), "ratio": 1e300}
    first = smf.create(create)
    assert (first.status, first.only.units) == (201, MB), first.text
    assert smf.create(create).location == first.location
    assert smf.release(first.ref, charging_request(1, [Use(DATA, used=MB)])).status == 204
    assert conso.usage(line)["data"] == MB


def test_an_unknown_charging_data_ref_is_404(smf: Smf) -> None:
    ref = uuid.uuid4().hex
    smf.update(ref, charging_request(1, [Use(DATA, used=MB, requested=MB)])).problem(404)
    smf.release(ref, charging_request(1, [Use(DATA, used=MB)])).problem(404)


# -- refused before charging: token, media type, schema, size -----------------------------------


def test_without_the_bearer_token_it_is_401(conso: NchfConso) -> None:
    line = conso.line("payg")
    request = charging_request(0, [Use(DATA, requested=MB)], line=line)
    for token in (None, "not-the-operator-key", OPERATOR_KEY + "x"):
        with Smf(conso.nchf_url, token) as stranger:
            refused = stranger.create(request)
            assert refused.problem(401)
    with Smf(conso.nchf_url, None) as basic:
        refused = basic.create(request, headers={"Authorization": f"Basic {OPERATOR_KEY}"})
        refused.problem(401)
    nothing_counted(conso, line)


def test_a_body_that_is_not_json_is_415(conso: NchfConso, smf: Smf) -> None:
    line = conso.line("payg")
    body = json.dumps(charging_request(0, [Use(DATA, requested=MB)], line=line)).encode()
    for media in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
        smf.create(None, content=body, headers={"content-type": media}).problem(415)
    nothing_counted(conso, line)
    # The same body as JSON is served (this connection survived the refusals).
    assert smf.create(None, content=body).status == 201


BAD_BODIES: list[tuple[str, Callable[[dict[str, Any]], None], set[str]]] = [
    ("a quoted invocationSequenceNumber",
     lambda b: b.update(invocationSequenceNumber="1"), {"/invocationSequenceNumber"}),
    ("no nfConsumerIdentification",
     lambda b: b.pop("nfConsumerIdentification"), {"/nfConsumerIdentification"}),
    ("both at once",
     lambda b: (b.pop("nfConsumerIdentification"), b.update(invocationSequenceNumber="1")),
     {"/nfConsumerIdentification", "/invocationSequenceNumber"}),
    ("no nodeFunctionality",
     lambda b: b["nfConsumerIdentification"].pop("nodeFunctionality"),
     {"/nfConsumerIdentification/nodeFunctionality"}),
    ("a negative volume",
     lambda b: b["multipleUnitUsage"][0]["requestedUnit"].update(totalVolume=-5),
     {"/multipleUnitUsage/0/requestedUnit/totalVolume"}),
    ("a quoted ratingGroup",
     lambda b: b["multipleUnitUsage"][0].update(ratingGroup=str(DATA)),
     {"/multipleUnitUsage/0/ratingGroup"}),
    ("a timestamp that is not one",
     lambda b: b.update(invocationTimeStamp="yesterday"), {"/invocationTimeStamp"}),
    ("a sequence number past Uint32",
     lambda b: b.update(invocationSequenceNumber=2**32), {"/invocationSequenceNumber"}),
]


@pytest.mark.parametrize(("case", "spoil", "fields"), BAD_BODIES,
                         ids=[case for case, _, _ in BAD_BODIES])
def test_a_body_that_breaks_the_schema_is_400_naming_each_field(
    conso: NchfConso, smf: Smf, case: str, spoil: Callable[[dict[str, Any]], None],
    fields: set[str],
) -> None:
    line = conso.line("payg")
    body = charging_request(0, [Use(DATA, requested=MB)], line=line)
    spoil(body)
    assert smf.create(body).invalid_params() == fields, case
    nothing_counted(conso, line)

    # On an update of an open resource too; the resource is not touched.
    opened = smf.create(charging_request(0, [Use(DATA, requested=MB)], line=line))
    update = charging_request(1, [Use(DATA, used=MB, requested=MB)])
    spoil(update)
    assert smf.update(opened.ref, update).invalid_params() == fields, case
    nothing_counted(conso, line)
    fine = smf.update(opened.ref, charging_request(1, [Use(DATA, used=MB, requested=MB)]))
    assert (fine.status, fine.only.units) == (200, MB)
    assert smf.release(opened.ref, charging_request(2, [Use(DATA, used=0)])).status == 204
    assert conso.usage(line)["data"] == MB


def test_a_body_that_is_not_even_json_is_400(smf: Smf) -> None:
    for content in (b"{not json", b"", b'{"a": 1'):
        refused = smf.create(None, content=content)
        assert refused.problem(400)["cause"] == "INVALID_MSG_FORMAT", content
    # JSON, but not an object: the whole body is at fault, JSON Pointer "" (RFC 6901).
    for content in (b"[1, 2]", b"null", b'"chargingdata"'):
        body = smf.create(None, content=content).problem(400)
        assert [p["param"] for p in body["invalidParams"]] == [""], (content, body)


def busy_smf(conso: NchfConso, stop: threading.Event | None = None, rounds: int = 3,
             ) -> list[str]:
    """Another SMF on its own HTTP/2 connection, running whole sessions on a line of its
    own while something else goes on: at least `rounds` of them, and until `stop` is set
    (when given); returns what went wrong (nothing, it is hoped)."""
    if stop is None:
        stop = threading.Event()
        stop.set()
    problems: list[str] = []
    line = conso.line("payg")
    done = 0
    with conso.smf() as other:
        while done < rounds or not stop.is_set():
            try:
                created = other.create(charging_request(0, [Use(DATA, requested=MB)],
                                                        line=line))
                if (created.status, created.only.units) != (201, MB):
                    problems.append(f"create: {created.status} {created.text}")
                    break
                updated = other.update(created.ref, charging_request(
                    1, [Use(DATA, used=MB, requested=MB)]))
                if (updated.status, updated.only.units) != (200, MB):
                    problems.append(f"update: {updated.status} {updated.text}")
                    break
                released = other.release(created.ref, charging_request(
                    2, [Use(DATA, used=1000)]))
                if released.status != 204:
                    problems.append(f"release: {released.status} {released.text}")
                    break
            except httpx.HTTPError as exc:
                problems.append(f"round {done}: {exc!r}")
                break
            done += 1
    if not problems:
        expected = done * (MB + 1000)
        if conso.usage(line)["data"] != expected:
            problems.append(f"usage {conso.usage(line)['data']} != {expected}")
    return problems


@pytest.mark.parametrize("streamed", [False, True], ids=["content-length", "streamed"])
def test_a_10_mb_body_is_413_and_other_clients_are_served(
    conso: NchfConso, streamed: bool,
) -> None:
    line = conso.line("payg")
    body = charging_request(0, [Use(DATA, requested=MB)], line=line)
    body["padding"] = "x" * (10 * MB)
    raw = json.dumps(body).encode()
    stop = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        other = pool.submit(busy_smf, conso, stop)
        with conso.smf() as big:
            # With Content-Length, or as DATA frames that never say how much is coming.
            content: Any = raw if not streamed else (
                raw[i:i + 65_536] for i in range(0, len(raw), 65_536))
            response = big.client.post("/chargingdata", content=content,
                                       headers={"content-type": "application/json"})
            assert response.http_version == "HTTP/2"
            assert response.status_code == 413, response.text
            assert response.headers["content-type"].startswith("application/problem+json")
            assert response.json()["status"] == 413
            # The same connection still serves the next request.
            after = big.create(charging_request(0, [Use(DATA, requested=MB)], line=line))
            assert (after.status, after.only.units) == (201, MB)
            assert big.release(after.ref, charging_request(1, [Use(DATA, used=MB)])).status \
                == 204
        stop.set()
        assert other.result(timeout=60) == []
    assert conso.usage(line)["data"] == MB        # the refused body counted nothing


def _traceback_count(conso: NchfConso) -> int:
    return conso.server.stderr().count("Traceback")


@pytest.mark.parametrize("flood", ["pings", "settings", "rapid_reset"])
def test_a_connection_flooding_frames_does_not_stop_other_clients(
    conso: NchfConso, flood: str,
) -> None:
    tracebacks = _traceback_count(conso)
    attacker = RawH2(conso.nchf_port)
    stop = threading.Event()
    with ThreadPoolExecutor(2) as pool:
        if flood == "pings":
            flooding = pool.submit(attacker.pings, 100_000)
        elif flood == "settings":
            flooding = pool.submit(attacker.settings, 50_000)
        else:
            flooding = pool.submit(attacker.rapid_reset, 5_000, f"{API_ROOT}/chargingdata")
        other = pool.submit(busy_smf, conso, stop)
        flooded = flooding.result(timeout=60)
        stop.set()
        assert other.result(timeout=60) == []
    assert flooded.written > 0, flooded
    if flood == "rapid_reset":       # thousands of streams reset: that peer is cut
        assert flooded.cut_by_server or attacker.closed_by_peer(), flooded
    attacker.close()
    # The other client's answers were right (above), conso goes on serving new clients,
    # and the flood left no stack trace in the log.
    assert busy_smf(conso) == []
    time.sleep(0.2)
    assert _traceback_count(conso) == tracebacks, conso.server.stderr()[-3000:]


def test_one_connection_carries_thousands_of_requests(conso: NchfConso) -> None:
    """An SMF keeps its HTTP/2 connection: request 1001 and later are answered like the
    first (no request lost to the connection being closed under it)."""
    raw = RawH2(conso.nchf_port)
    try:
        # The cheapest requests there are (a path the API does not have: 404, nothing
        # logged), 50 in flight at once.
        statuses = raw.pipeline(1_200, f"{API_ROOT}/no-such-resource")
    finally:
        raw.close()
    assert [(n, s) for n, s in enumerate(statuses, 1) if s != 404] == []
    assert len(statuses) == 1_200


# -- the wire ----------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_with_http2_prior_knowledge(conso: NchfConso) -> None:
    line = conso.line("payg")
    body = json.dumps(charging_request(0, [Use(DATA, requested=MB)], line=line))
    done = subprocess.run(
        ["curl", "--http2-prior-knowledge", "--silent", "--show-error", "--max-time", "20",
         "--dump-header", "-", "--header", f"Authorization: Bearer {OPERATOR_KEY}",
         "--header", "Content-Type: application/json", "--data-binary", "@-",
         f"{conso.nchf_url}{API_ROOT}/chargingdata"],
        input=body.encode(), capture_output=True, timeout=30, check=True)
    head, _, payload = done.stdout.decode().partition("\r\n\r\n")
    status_line, *headers = head.split("\r\n")
    assert status_line.strip() == "HTTP/2 201", head
    fields = {name.lower(): value for name, value in (h.split(": ", 1) for h in headers)}
    assert f"{API_ROOT}/chargingdata/" in fields["location"], fields
    answer = json.loads(payload)
    (item,) = answer["multipleUnitInformation"]
    assert (item["resultCode"], item["grantedUnit"]) == (SUCCESS, {"totalVolume": MB})


def test_http_1_1_on_the_same_port(conso: NchfConso) -> None:
    line = conso.line("payg")
    with httpx.Client(base_url=conso.nchf_url + API_ROOT, http1=True, http2=False,
                      headers={"Authorization": f"Bearer {OPERATOR_KEY}"}) as old:
        created = old.post("/chargingdata", json=charging_request(
            0, [Use(DATA, requested=MB)], line=line))
        assert created.http_version == "HTTP/1.1"
        assert created.status_code == 201, created.text
        ref = created.headers["location"].rsplit("/", 1)[-1]
        released = old.post(f"/chargingdata/{ref}/release",
                            json=charging_request(1, [Use(DATA, used=MB)]))
        assert released.status_code == 204
        assert old.post("/chargingdata", json={}).status_code == 400
    assert conso.usage(line)["data"] == MB


def test_the_server_stops_cleanly(tmp_path: Path) -> None:
    """SIGTERM after Nchf traffic: every part of the shutdown runs, nothing fails."""
    with nchf_server(tmp_path, validity_seconds=VALIDITY) as fresh:
        line = fresh.line("payg")
        with fresh.smf() as smf:
            created = smf.create(charging_request(0, [Use(DATA, requested=MB)], line=line))
            assert created.status == 201
        server = fresh.server
    # uvicorn ends by raising the SIGTERM it was stopped with again, once it is done
    assert server.process.returncode in (0, -signal.SIGTERM), server.stderr()[-3000:]
    log = server.stderr()
    assert "Traceback" not in log and "shutdown failed" not in log, log[-3000:]


# -- notifications to the SMF ----------------------------------------------------------------


@pytest.fixture
def sink() -> Iterator[NotifySink]:
    started = NotifySink()
    yield started
    started.stop()


def test_barring_data_notifies_the_smf_and_the_next_update_is_denied(
    conso: NchfConso, smf: Smf, sink: NotifySink,
) -> None:
    sink.start()
    line, bystander = conso.line("payg"), conso.line("payg")
    callback = f"/nsmf-callback/v1/{uuid.uuid4().hex}"
    other_callback = f"/nsmf-callback/v1/{uuid.uuid4().hex}"
    session = smf.create(charging_request(0, [Use(DATA, requested=MB)], line=line,
                                          notify_uri=sink.url(callback)))
    assert session.status == 201
    unconcerned = smf.create(charging_request(0, [Use(DATA, requested=MB)], line=bystander,
                                              notify_uri=sink.url(other_callback)))
    assert unconcerned.status == 201

    conso.bar(line, data=True)
    (notification,) = sink.wait(callback, timeout=10)
    assert notification.content_type.startswith("application/json")
    assert notification.body["notificationType"] == REAUTHORIZATION

    denied = smf.update(session.ref, charging_request(1, [Use(DATA, used=MB, requested=MB)]))
    assert_answer(denied, 200, 1)
    assert (denied.only.result, denied.only.granted) == (END_USER_SERVICE_DENIED, None)
    assert smf.release(session.ref, charging_request(2, [Use(DATA, used=0)])).status == 204
    assert conso.usage(line)["data"] == MB              # what was used before is charged
    # Only the line's resources are re-authorized.
    fine = smf.update(unconcerned.ref, charging_request(1, [Use(DATA, used=MB, requested=MB)]))
    assert fine.only.units == MB
    assert smf.release(unconcerned.ref, charging_request(2)).status == 204
    assert sink.to(other_callback) == []
    assert len(sink.to(callback)) == 1


def test_a_notification_to_an_smf_that_is_away_is_retried_until_it_is_up(
    conso: NchfConso, smf: Smf, sink: NotifySink,
) -> None:
    line = conso.line("payg")
    callback = f"/nsmf-callback/v1/{uuid.uuid4().hex}"
    uri = sink.url(callback)                           # nobody listens there yet
    session = smf.create(charging_request(0, [Use(DATA, requested=500 * MB)], line=line,
                                          notify_uri=uri))
    assert (session.status, session.only.units, session.only.final) == (201, 500 * MB, False)

    started = time.monotonic()
    conso.set_limit(line, 5)                            # the admin does not wait for the SMF
    assert time.monotonic() - started < 5
    # (A message being sent shows "queued" with no error yet: wait for the error.)
    pending = wait_for(lambda: [m for m in conso.messages_to(uri) if m["channel"] == "nchf"
                                and m["attempts"] >= 1 and m["last_error"]],
                       "a failed attempt at the notification")
    (push,) = pending
    assert push["status"] == "queued", push

    sink.start()
    (notification,) = sink.wait(callback, timeout=15)
    assert notification.body["notificationType"] == REAUTHORIZATION
    wait_for(lambda: [m["status"] for m in conso.messages_to(uri)] == ["sent"],
             "the notification marked sent")

    cut = smf.update(session.ref, charging_request(1, [Use(DATA, used=10 * MB,
                                                           requested=500 * MB)]))
    assert cut.only.result == SUCCESS
    assert cut.only.units == FIVE_EUR_OF_DATA - 10 * MB
    assert cut.only.final_action == TERMINATE
    assert smf.release(session.ref, charging_request(2, [Use(DATA, used=0)])).status == 204
    assert conso.usage(line)["spent_cents"] == cents(data_micros(10 * MB))


def cents(value: int) -> int:
    assert value % 10_000 == 0, value
    return value // 10_000


# -- zero overshoot across HTTP sessions, Diameter and Nchf ---------------------------------------

CHUNK = 777_777                    # not a whole number of kB (the meter bills per started kB)
MAX_REQUESTS = 2_000
THREADS_PER_PROTOCOL = 3


@dataclass
class Tally:
    protocol: str
    sessions: int = 0
    requests: int = 0
    granted: int = 0
    refusals: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def grant(self, units: int | None) -> int:
        granted = units or 0
        if granted > CHUNK:
            self.problems.append(f"granted {granted} > asked {CHUNK}")
        self.granted += granted
        return granted


def http_sessions(conso: NchfConso, line: str, go: threading.Barrier) -> Tally:
    """The operator's HTTP /sessions: sessions one after another, each using exactly
    what it is granted, until a start is refused."""
    tally = Tally("http")
    with conso.server.operator() as client:
        network = Network(client)
        go.wait()
        while tally.requests < MAX_REQUESTS:
            session = new_session_id()
            answer = network.start(session, line, "data", CHUNK)
            tally.requests += 1
            if answer["granted"] == 0:
                tally.refusals.append(str(answer["reason"]))
                return tally
            tally.sessions += 1
            number = 0
            while True:
                used = tally.grant(answer["granted"])
                if answer["final"]:
                    break
                number += 1
                response = network.update(session, used, CHUNK, number)
                tally.requests += 1
                if response.status_code != 200:
                    tally.problems.append(f"update {response.status_code}: {response.text}")
                    return tally
                answer = response.json()
                if answer["granted"] == 0:
                    if answer["reason"] != "spending_limit":
                        tally.problems.append(f"update refused: {answer}")
                    used = 0
                    break
            done = network.terminate(session, used)
            tally.requests += 1
            if done.status_code != 200:
                tally.problems.append(f"terminate {done.status_code}: {done.text}")
                return tally
    tally.problems.append(f"still not refused after {MAX_REQUESTS} requests")
    return tally


def diameter_sessions(pgw: dia.Pgw, line: str, go: threading.Barrier) -> Tally:
    tally = Tally("diameter")
    go.wait()
    while tally.requests < MAX_REQUESTS:
        sid = pgw.new_session_id()
        answer = pgw.initial(sid, [dia.Ask(dia.DATA, requested=CHUNK)], line=line)
        tally.requests += 1
        if answer.only.units is None:
            tally.refusals.append(f"{answer.result}/{answer.only.result}")
            return tally
        tally.sessions += 1
        number = used = 0
        while True:
            used = tally.grant(answer.only.units)
            if answer.only.final:
                break
            number += 1
            answer = pgw.update(sid, number, [dia.Ask(dia.DATA, used=used, requested=CHUNK)])
            tally.requests += 1
            if answer.only.units is None:
                if answer.only.result != dia.CREDIT_LIMIT_REACHED:
                    tally.problems.append(f"update answered {answer.only.result}")
                used = 0
                break
        end = pgw.terminate(sid, number + 1, [dia.Ask(dia.DATA, used=used)])
        tally.requests += 1
        if end.result != dia.SUCCESS:
            tally.problems.append(f"termination answered {end.result}")
            return tally
    tally.problems.append(f"still not refused after {MAX_REQUESTS} requests")
    return tally


def nchf_sessions(conso: NchfConso, line: str, go: threading.Barrier) -> Tally:
    tally = Tally("nchf")
    with conso.smf() as smf:
        go.wait()
        while tally.requests < MAX_REQUESTS:
            created = smf.create(charging_request(0, [Use(DATA, requested=CHUNK)], line=line))
            tally.requests += 1
            if created.status == 403:
                tally.refusals.append(str(created.cause))
                return tally
            if created.status != 201:
                tally.problems.append(f"create {created.status}: {created.text}")
                return tally
            tally.sessions += 1
            answer, sequence = created, 0
            while True:
                used = tally.grant(answer.only.units)
                if answer.only.final:
                    break
                sequence += 1
                answer = smf.update(created.ref, charging_request(
                    sequence, [Use(DATA, used=used, requested=CHUNK)]))
                tally.requests += 1
                if answer.status != 200:
                    tally.problems.append(f"update {answer.status}: {answer.text}")
                    return tally
                if answer.only.result != SUCCESS:
                    if answer.only.result != QUOTA_LIMIT_REACHED:
                        tally.problems.append(f"update answered {answer.only.result}")
                    used = 0
                    break
            released = smf.release(created.ref, charging_request(
                sequence + 1, [Use(DATA, used=used)]))
            tally.requests += 1
            if released.status != 204:
                tally.problems.append(f"release {released.status}: {released.text}")
                return tally
    tally.problems.append(f"still not refused after {MAX_REQUESTS} requests")
    return tally


@pytest.fixture(scope="module")
def pgws(conso: NchfConso) -> Iterator[list[dia.Pgw]]:
    dia.quiet_python_diameter()
    pool = dia.PgwPool()
    try:
        yield [pool.start(f"pgw-{n}.nchf.test", conso.diameter_port)
               for n in range(THREADS_PER_PROTOCOL)]
    finally:
        pool.stop()


def test_parallel_sessions_over_http_diameter_and_nchf_never_pass_the_limit(
    conso: NchfConso, pgws: list[dia.Pgw],
) -> None:
    limit_eur = 5
    line = conso.line("payg", limit_eur=limit_eur)
    threads = 3 * THREADS_PER_PROTOCOL
    go = threading.Barrier(threads)
    with ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(http_sessions, conso, line, go)
                   for _ in range(THREADS_PER_PROTOCOL)]
        futures += [pool.submit(diameter_sessions, pgw, line, go) for pgw in pgws]
        futures += [pool.submit(nchf_sessions, conso, line, go)
                    for _ in range(THREADS_PER_PROTOCOL)]
        tallies = [f.result(timeout=120) for f in futures]

    assert [t.problems for t in tallies] == [[]] * threads
    refusal = {"http": "spending_limit", "nchf": QUOTA_LIMIT_REACHED,
               "diameter": f"{dia.CREDIT_LIMIT_REACHED}/{dia.CREDIT_LIMIT_REACHED}"}
    for tally in tallies:
        assert tally.refusals == [refusal[tally.protocol]], tally
    for protocol in refusal:       # each protocol did run sessions, side by side
        assert sum(t.sessions for t in tallies if t.protocol == protocol) >= 1

    seen = conso.usage(line)
    limit = conso.limit(line)
    # Zero overshoot ...
    assert seen["spent_cents"] <= limit_eur * 100
    assert seen["extra_micros"] <= limit_eur * 1_000_000
    assert limit["reached"] is True and limit["overshoot_cents"] == 0
    # ... and no money left unusable (one kB is 0.005 cent).
    assert seen["spent_cents"] >= limit_eur * 100 - 1
    # What was granted is what was used, and all of it was charged.
    assert seen["data"] == sum(t.granted for t in tallies)
    assert seen["data"] <= FIVE_EUR_OF_DATA
    with conso.smf() as smf:
        refused = smf.create(charging_request(0, [Use(DATA, requested=1000)], line=line))
        assert refused.problem(403)["cause"] == QUOTA_LIMIT_REACHED


def test_data_roaming_outside_the_eu_stops_at_the_cap_with_quota_limit_reached(
    conso: NchfConso, smf: Smf,
) -> None:
    """rules.md, "Roaming data cap": EUR 50 of data outside the EU/EEA (25 MB at 2 EUR a
    MB) is the last grant; then QUOTA_LIMIT_REACHED until the cap is switched off."""
    line = conso.line("king")
    first = smf.create(charging_request(0, [Use(DATA, requested=100 * MB)], line=line,
                                        country="US"))
    assert (first.status, first.only.result, first.only.units) == (201, SUCCESS, 25 * MB)
    assert first.only.final_action == TERMINATE
    assert smf.release(first.ref, charging_request(1, [Use(DATA, used=25 * MB)])).status == 204
    refused = smf.create(charging_request(0, [Use(DATA, requested=MB)], line=line,
                                          country="US"))
    assert refused.problem(403)["cause"] == QUOTA_LIMIT_REACHED
    switched = conso.op.put(f"/api/v1/lines/{line}/roaming-cap", json={"enabled": False})
    assert switched.status_code == 200 and switched.json()["enabled"] is False
    again = smf.create(charging_request(0, [Use(DATA, requested=MB)], line=line,
                                        country="US"))
    assert (again.status, again.only.units) == (201, MB)
