"""Text and store failures on the Nchf front end (nchf.md), over real HTTP/2 (h2c) against
conso in-process on SQLite and on PostgreSQL.

- A SUPI, a GPSI or a notifyUri with a control character is 400 ProblemDetails
  MANDATORY_IE_INCORRECT with invalidParams naming the member (domain/text.py): before,
  a NUL in notifyUri was a 500 on PostgreSQL and kept on SQLite; a ChargingDataRef with
  one is 404 (no resource has such a ref) before the charging core, where PostgreSQL
  answered 500.
- The store unavailable (its database cut off) is 503 ProblemDetails with Retry-After,
  not 500; nothing is counted, and the same request once the store is back counts once.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .front_end_support import STORES, FrontEnds, database_away, front_ends
from .nchf_support import DATA, Answer, Smf, Use, charging_request

CONTROL = ["\x00", "\n", "\x1b", "\x7f", "\x85"]
CONTROL_IDS = ["nul", "line-feed", "escape", "delete", "c1-next-line"]
GRANT = 1_000_000


@pytest.fixture(scope="module", params=STORES)
def conso(request: pytest.FixtureRequest,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[FrontEnds]:
    with front_ends(request.param, tmp_path_factory.mktemp("nchf-text")) as started:
        yield started


@pytest.fixture(scope="module")
def smf(conso: FrontEnds) -> Iterator[Smf]:
    with Smf(conso.nchf_url) as client:
        yield client


def assert_refused_at(answer: Answer, param: str, char: str) -> None:
    body = answer.problem(400)
    assert body["cause"] == "MANDATORY_IE_INCORRECT", body
    [invalid] = body["invalidParams"]
    assert invalid["param"] == param, body
    # A line feed breaks 3GPP's patterns first (`.` is not one); the rest is text's rule.
    expected = "should match pattern" if char == "\n" and param != "/notifyUri" \
        else "control characters"
    assert expected in invalid["reason"], body


@pytest.mark.parametrize("char", CONTROL, ids=CONTROL_IDS)
def test_a_control_character_in_a_member_conso_keeps_is_400_naming_it(
        conso: FrontEnds, smf: Smf, char: str) -> None:
    line = conso.line()
    sequence = 1
    body = charging_request(sequence, [Use(DATA, requested=GRANT)], line=line,
                            notify_uri=f"http://127.0.0.1:9/notify{char}")
    assert_refused_at(smf.create(body), "/notifyUri", char)

    body = charging_request(sequence, [Use(DATA, requested=GRANT)], line=line)
    body["subscriberIdentifier"] = f"imsi-20601{char}0000001"
    assert_refused_at(smf.create(body), "/subscriberIdentifier", char)

    body = charging_request(sequence, [Use(DATA, requested=GRANT)], line=line)
    body["pDUSessionChargingInformation"]["userInformation"]["servedGPSI"] = \
        f"msisdn-{line[1:]}{char}"
    assert_refused_at(smf.create(body),
                      "/pDUSessionChargingInformation/userInformation/servedGPSI", char)
    assert conso.used(line) == 0

    # The same create without it opens a resource.
    opened = smf.create(charging_request(sequence, [Use(DATA, requested=GRANT)], line=line,
                                         notify_uri="http://127.0.0.1:9/notify"))
    assert opened.status == 201, opened.text


@pytest.mark.parametrize("escaped", ["%00", "%0A", "%1B", "%7F", "%C2%85"], ids=CONTROL_IDS)
def test_a_control_character_in_the_charging_data_ref_is_404(
        conso: FrontEnds, smf: Smf, escaped: str) -> None:
    line = conso.line()
    opened = smf.create(charging_request(1, [Use(DATA, requested=GRANT)], line=line))
    assert opened.status == 201, opened.text
    bad = f"{opened.ref}{escaped}"
    update = charging_request(2, [Use(DATA, used=1_000, requested=GRANT)], line=line)
    for answer in (smf.update(bad, update), smf.release(bad, update)):
        body = answer.problem(404)
        assert "control characters" in body["detail"], body
    assert conso.used(line) == 0
    # The resource of the clean ref is untouched.
    assert smf.update(opened.ref, update).status == 200
    assert conso.used(line) == 1_000


def test_the_store_unavailable_is_503_with_retry_after_and_counts_once_when_back(
        conso: FrontEnds, smf: Smf) -> None:
    if conso.store != "postgres":
        pytest.skip("the outage is a PostgreSQL database's (SQLite's: disk full, "
                    "test_store_faults.py)")
    line = conso.line()
    opened = smf.create(charging_request(1, [Use(DATA, requested=GRANT)], line=line))
    assert opened.status == 201, opened.text
    update = charging_request(2, [Use(DATA, used=5_000, requested=GRANT)], line=line)
    create = charging_request(1, [Use(DATA, requested=GRANT)], line=conso.line())
    with database_away(conso.db_url):
        for answer in (smf.update(opened.ref, update), smf.create(create)):
            body = answer.problem(503)
            assert "store is unavailable" in body["detail"], body
            response = smf.client.post(f"/chargingdata/{opened.ref}/update", json=update)
            assert response.status_code == 503
            assert response.headers["retry-after"] == "1"
    # Back: the same update counts once, even sent twice.
    for _ in range(2):
        again = smf.update(opened.ref, update)
        assert again.status == 200, again.text
    assert conso.used(line) == 5_000
    assert smf.create(create).status == 201
