"""The Node.js SMS centre (npm `smpp` 0.5.1, tests/peers/smsc-node) against conso's own
SMPP client: binds, submits, delays, deliveries and the peer's controls.

Skips when Node.js or the installed peer is missing (scripts/ensure-node-peers.sh
installs it), except under CONSO_REQUIRE_SERVICES=1 (CI), where it fails.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from conso.sms.smpp import pdu as p
from conso.sms.smpp.errors import CommandFailed, SmppUnavailable
from conso.sms.smpp.session import SmppClient
from support.node_smsc import (
    ESME_RINVDSTADR,
    ESME_RINVPASWD,
    ESME_RINVSYSID,
    ESME_RTHROTTLED,
    NodeSmsc,
    node_smsc_available,
)

SYSTEM_ID = "conso"
PASSWORD = "s3cret"
SENDER = "+32470000001"
RECIPIENT = "+32470000002"

_UNAVAILABLE = node_smsc_available()
_REQUIRED = os.environ.get("CONSO_REQUIRE_SERVICES") == "1"
if _UNAVAILABLE is not None and not _REQUIRED:
    pytest.skip(_UNAVAILABLE, allow_module_level=True)

Delivered = tuple[str, str, str]


@pytest.fixture
def smsc() -> Iterator[NodeSmsc]:
    if _UNAVAILABLE is not None:
        pytest.fail(_UNAVAILABLE + " (CONSO_REQUIRE_SERVICES=1)", pytrace=False)
    with NodeSmsc(system_id=SYSTEM_ID, password=PASSWORD) as peer:
        yield peer


@pytest.fixture
def connect(smsc: NodeSmsc) -> Iterator[Callable[..., SmppClient]]:
    """conso's SmppClient to the peer; closed at the end of the test."""
    clients: list[SmppClient] = []

    def make(password: str = PASSWORD, system_id: str = SYSTEM_ID, **options: Any
             ) -> SmppClient:
        options.setdefault("timeout", 2.0)
        options.setdefault("reconnect_delay", 0.05)
        options.setdefault("max_reconnect_delay", 0.2)
        client = SmppClient("127.0.0.1", smsc.port, system_id, password, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def _bound(smsc: NodeSmsc, connect: Callable[..., SmppClient], **options: Any) -> SmppClient:
    client = connect(**options)
    assert client.wait_bound(2.0), client.last_error
    return client


def test_binds_as_transceiver_with_the_right_password(
        smsc: NodeSmsc, connect: Callable[..., SmppClient]) -> None:
    client = _bound(smsc, connect)
    state = smsc.state()
    (bind,) = state["binds"]
    assert bind["command"] == "bind_transceiver"
    assert (bind["system_id"], bind["password"], bind["status"]) == (SYSTEM_ID, PASSWORD, 0)
    assert bind["interface_version"] == 0x34
    assert state["sessions"] == 1
    assert state["session_list"][0]["mode"] == "trx"

    client.close()
    state = smsc.wait_for(lambda s: s["sessions"] == 0, 2.0)
    assert [r["command"] for r in state["received"]][-1] == "unbind"


@pytest.mark.parametrize(("system_id", "password", "status"), [
    (SYSTEM_ID, "wrong", ESME_RINVPASWD),
    ("intruder", PASSWORD, ESME_RINVSYSID),
])
def test_refuses_a_wrong_password_or_system_id(
        smsc: NodeSmsc, connect: Callable[..., SmppClient],
        system_id: str, password: str, status: int) -> None:
    client = connect(password=password, system_id=system_id)
    state = smsc.wait_for(lambda s: bool(s["binds"]), 2.0)
    assert state["binds"][0]["status"] == status
    assert not client.wait_bound(0.2)
    assert client.last_error is not None and p.status_name(status) in client.last_error


def test_a_submit_is_recorded_with_its_decoded_fields(
        smsc: NodeSmsc, connect: Callable[..., SmppClient]) -> None:
    client = _bound(smsc, connect)
    first = client.submit(SENDER, RECIPIENT, "Hello {world}")
    second = client.submit(SENDER, "1921", "Solde: 5 €")
    long_text = "x" * 200
    third = client.submit(SENDER, RECIPIENT, long_text)
    assert [first, second, third] == ["m1", "m2", "m3"]

    one, two, three = smsc.submits()
    assert one["source_addr"] == "32470000001"
    assert (one["source_addr_ton"], one["source_addr_npi"]) == (1, 1)
    assert one["destination_addr"] == "32470000002"
    assert (one["dest_addr_ton"], one["dest_addr_npi"]) == (1, 1)
    assert (one["esm_class"], one["data_coding"], one["registered_delivery"]) == (0, 0, 1)
    # GSM 03.38 unpacked: { and } are escapes (0x1B) and a septet each of the extension table.
    assert bytes.fromhex(one["short_message"]) == b"Hello \x1b(world\x1b)"
    assert one["text"] == "Hello {world}"      # as the npm library reads GSM
    assert one["udh"] is None and one["tlvs"] == {}
    assert (one["message_id"], one["status"], one["answered"]) == ("m1", 0, True)
    assert one["session"] == two["session"] == three["session"] == 1

    assert (two["dest_addr_ton"], two["dest_addr_npi"]) == (3, 0)      # short code
    assert two["data_coding"] == 0                          # € is GSM: an escape and e
    assert bytes.fromhex(two["short_message"]) == b"Solde: 5 \x1be"
    assert two["text"] == "Solde: 5 €"

    assert three["sm_length"] == 0 and three["short_message"] == ""
    assert bytes.fromhex(three["tlvs"]["message_payload"]) == long_text.encode()


def test_delay_answers_each_submit_later_and_in_parallel(
        smsc: NodeSmsc, connect: Callable[..., SmppClient]) -> None:
    client = _bound(smsc, connect)
    smsc.delay(0.3)
    started = time.monotonic()
    client.submit(SENDER, RECIPIENT, "slow")
    assert 0.28 <= time.monotonic() - started < 1.0

    ids: queue.Queue[str] = queue.Queue()
    threads = [threading.Thread(target=lambda: ids.put(client.submit(SENDER, RECIPIENT, "w")))
               for _ in range(8)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(3.0)
    elapsed = time.monotonic() - started
    assert ids.qsize() == 8
    assert 0.28 <= elapsed < 0.6          # eight answers on eight timers, not one after another
    for record in smsc.submits():
        assert record["answered_at"] - record["received_at"] >= 0.29


def test_throttle_fail_and_freeze(smsc: NodeSmsc, connect: Callable[..., SmppClient]) -> None:
    throttled = _bound(smsc, connect)        # conso pauses a throttled link: one submit here
    smsc.throttle(1)
    with pytest.raises(CommandFailed) as refused:
        throttled.submit(SENDER, RECIPIENT, "a")
    assert refused.value.command_status == ESME_RTHROTTLED

    client = _bound(smsc, connect, timeout=0.4)
    smsc.fail(1, ESME_RINVDSTADR)
    with pytest.raises(CommandFailed) as refused:
        client.submit(SENDER, RECIPIENT, "b")
    assert refused.value.command_status == ESME_RINVDSTADR
    assert client.submit(SENDER, RECIPIENT, "c") == "m1"

    smsc.freeze()                            # no answer at all now, the socket stays open
    with pytest.raises(SmppUnavailable):     # conso's timeout (and its retry) run out
        client.submit(SENDER, RECIPIENT, "d")
    submits = smsc.submits()
    assert [s["status"] for s in submits[:3]] == [ESME_RTHROTTLED, ESME_RINVDSTADR, 0]
    frozen = submits[3:]
    assert frozen and all(s["answered"] is False and s["message_id"] is None
                          and s["status"] is None for s in frozen)
    assert all(not b["answered"] for b in smsc.binds()[2:])      # re-binds while frozen
    smsc.unfreeze()
    late = _bound(smsc, connect)
    message_id = late.submit(SENDER, RECIPIENT, "e")
    assert message_id in {s["message_id"] for s in smsc.submits() if s["answered"]}
    assert all(not s["answered"] for s in smsc.submits()[3:len(submits)])   # not made up


def test_a_one_part_deliver_reaches_on_deliver(
        smsc: NodeSmsc, connect: Callable[..., SmppClient]) -> None:
    received: queue.Queue[Delivered] = queue.Queue()
    _bound(smsc, connect, on_deliver=lambda s, d, t: received.put((s, d, t)))
    sent = smsc.deliver(SENDER, "1921", "CONSULT")
    assert received.get(timeout=2.0) == (SENDER, "1921", "CONSULT")
    assert bytes.fromhex(sent["short_messages"][0]) == b"CONSULT"
    smsc.deliver(SENDER, "1921", "Solde? €", data_coding=8)
    assert received.get(timeout=2.0) == (SENDER, "1921", "Solde? €")
    state = smsc.wait_for(lambda s: len(s["deliver_resps"]) == 2, 2.0)
    assert [r["status"] for r in state["deliver_resps"]] == [0, 0]
    assert [r["deliver"] for r in state["deliver_resps"]] == [1, 2]


def test_receipts_are_acknowledged(smsc: NodeSmsc, connect: Callable[..., SmppClient]) -> None:
    received: queue.Queue[Delivered] = queue.Queue()
    client = _bound(smsc, connect, on_deliver=lambda s, d, t: received.put((s, d, t)))
    smsc.auto_receipt("DELIVRD", form="both")
    message_id = client.submit(SENDER, RECIPIENT, "with receipt")
    smsc.receipt(message_id, "UNDELIV", form="text")
    state = smsc.wait_for(lambda s: len(s["deliver_resps"]) == 2, 2.0)
    auto, manual = state["delivers"]
    assert auto["esm_class"] == manual["esm_class"] == 0x04           # MC delivery receipt
    assert auto["tlvs"]["receipted_message_id"] == message_id
    assert auto["tlvs"]["message_state"] == 2
    text = bytes.fromhex(manual["short_message"]).decode("ascii")
    assert text.startswith(f"id:{message_id} sub:001 dlvrd:000 ") and "stat:UNDELIV" in text
    assert "message_state" not in manual["tlvs"]
    assert [r["status"] for r in state["deliver_resps"]] == [0, 0]
    assert received.empty()                      # conso does not hand receipts over as texts


def test_state_lists_sessions_and_survives_close_and_listen(
        smsc: NodeSmsc, connect: Callable[..., SmppClient]) -> None:
    first = _bound(smsc, connect)
    second = _bound(smsc, connect)
    state = smsc.state()
    assert state["sessions"] == 2
    assert sorted(s["session"] for s in state["session_list"]) == [1, 2]

    assert smsc.close_connections() == 2
    smsc.wait_for(lambda s: s["sessions"] == 0 and not s["listening"], 1.0)
    smsc.listen()
    assert first.wait_bound(1.5) and second.wait_bound(1.5)
    state = smsc.wait_for(lambda s: s["sessions"] == 2, 1.0)
    assert {s["session"] for s in state["session_list"]} >= {3, 4} - {1, 2}
    assert first.submit(SENDER, RECIPIENT, "after") == "m1"


def test_send_raw_gets_a_generic_nack_back(
        smsc: NodeSmsc, connect: Callable[..., SmppClient]) -> None:
    _bound(smsc, connect)
    unknown_command = (16).to_bytes(4, "big") + (0x00000077).to_bytes(4, "big") \
        + (0).to_bytes(4, "big") + (4242).to_bytes(4, "big")
    assert smsc.send_raw(unknown_command) == [1]
    state = smsc.wait_for(lambda s: bool(s["raw_replies"]), 2.0)
    (reply,) = state["raw_replies"]
    assert (reply["command"], reply["status"], reply["sequence"]) == ("generic_nack", 3, 4242)
