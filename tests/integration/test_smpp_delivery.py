"""Carrier-grade SMS delivery (sms.md) against SMS centres conso does not contain: the
Node.js SMPP server of tests/peers/smsc-node (npm `smpp` 0.5.1), driven through the real
dispatcher, SMS channel and a SQLite store.

Windowing, no loss and at most a window of duplicates when the SMSC dies or freezes
mid-burst, failover, throttling, receipts, GSM coding and concatenation, texts to 1921
in parts, and bad input from the SMSC. Skips without Node.js (scripts/ensure-node-peers.sh
installs the peer), except under CONSO_REQUIRE_SERVICES=1 where it fails.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import gsm0338  # type: ignore[import-untyped]
import pytest

from conso.domain.outbox import OutboxMessage
from conso.notify.dispatcher import Dispatcher
from conso.sms.channel import SmppChannel, smpp_channel
from conso.sms.smpp import pdu as p
from conso.store import Store, open_store
from support.node_smsc import NodeSmsc, node_smsc_available

_UNAVAILABLE = node_smsc_available()
if _UNAVAILABLE is not None and os.environ.get("CONSO_REQUIRE_SERVICES") != "1":
    pytest.skip(_UNAVAILABLE, allow_module_level=True)

PASSWORD = "s3cret"
FRENCH_150 = ("Vous avez utilisé 90 % de votre forfait data ce mois-ci. Hors forfait : "
              "12,50 €. Détails sur l'appli, ou envoyez CONSULT au 1921. Merci à vous. Salut.")
GSM = gsm0338.Codec()


def gsm_text(hex_octets: str) -> str:
    text: str = GSM.decode(bytes.fromhex(hex_octets))[0]
    return text


def until(condition: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what or condition}"
        time.sleep(0.02)


class Rig:
    """A store, the dispatcher and an SMS channel bound to one or more node SMSCs."""

    def __init__(self, tmp_path: Path, smscs: list[NodeSmsc], *, window: int = 10,
                 timeout: float = 2.0, long_mode: str = "udh",
                 max_rate: float | None = None) -> None:
        self.smscs = smscs
        self.store: Store = open_store(f"sqlite:///{tmp_path}/delivery.db")
        self.store.migrate()
        self.texts: list[tuple[str, str, str]] = []
        urls = ",".join(f"smpp://conso:{PASSWORD}@127.0.0.1:{smsc.port}" for smsc in smscs)
        self.channel: SmppChannel = smpp_channel(
            urls, lambda *text: self.texts.append(text), window=window, long_mode=long_mode,
            timeout=timeout, max_rate=max_rate)
        for link in self.channel.links:      # reconnect quickly in tests
            link._reconnect_delay = 0.05
            link._max_reconnect_delay = 0.2
        self.dispatcher = Dispatcher(self.store, {"sms": self.channel}, max_backoff=1.0)
        self.dispatcher.start()

    def queue(self, count: int, text: str = "Alert: 90 % of your bundle used.",
              prefix: str = "m") -> list[str]:
        now = datetime.now(UTC)
        messages = [OutboxMessage(f"{prefix}{i}", "sms", "8644", f"+3247{i:07d}", None, text,
                                  None, None, now) for i in range(count)]
        with self.store.transaction() as tx:
            tx.outbox.insert(messages)
        self.dispatcher.wake()
        return [m.id for m in messages]

    def statuses(self, ids: list[str]) -> Counter[str]:
        return Counter(m.status for m in self.store.outbox.messages(limit=100_000)
                       if m.id in set(ids))

    def wait_status(self, ids: list[str], status: str, timeout: float = 30.0) -> None:
        until(lambda: self.statuses(ids)[status] == len(ids), timeout,
              f"{len(ids)} message(s) {status}: {self.statuses(ids)}")

    def close(self) -> None:
        self.dispatcher.stop()
        self.store.close()


@pytest.fixture
def smscs() -> Iterator[Callable[..., NodeSmsc]]:
    started: list[NodeSmsc] = []

    def start(**options: Any) -> NodeSmsc:
        smsc = NodeSmsc(password=PASSWORD, **options).start()
        started.append(smsc)
        return smsc

    yield start
    for smsc in started:
        smsc.stop()


@pytest.fixture
def rigs(tmp_path: Path) -> Iterator[Callable[..., Rig]]:
    made: list[Rig] = []

    def make(smscs: list[NodeSmsc], **options: Any) -> Rig:
        rig = Rig(tmp_path, smscs, **options)
        made.append(rig)
        until(lambda: any(link.bound for link in rig.channel.links), 10, "a bound link")
        return rig

    yield make
    for rig in made:
        rig.close()


def accepted(submits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for s in submits if s["answered"] and s["status"] == 0]


def max_in_flight(submits: list[dict[str, Any]]) -> int:
    """The most submit_sm the SMSC held unanswered at once."""
    events = sorted([(s["received_at"], 1) for s in submits if s["answered_at"]]
                    + [(s["answered_at"], -1) for s in submits if s["answered_at"]])
    most = current = 0
    for _, step in events:
        current += step
        most = max(most, current)
    return most


# ---------------------------------------------------------------- window and bursts

def test_a_burst_keeps_the_window_full_and_loses_nothing(
        smscs: Callable[..., NodeSmsc], rigs: Callable[..., Rig]) -> None:
    smsc = smscs()
    smsc.delay(0.05)
    rig = rigs([smsc], window=16)
    ids = rig.queue(300)
    rig.wait_status(ids, "sent")
    submits = smsc.submits()
    assert sorted(s["destination_addr"] for s in submits) == sorted(
        f"3247{i:07d}" for i in range(300))                    # each once, none lost
    # 16 in flight at once, never more: a window, not one at a time.
    assert max_in_flight(submits) == 16
    assert all(s["registered_delivery"] == 1 for s in submits)


def test_an_smsc_that_drops_every_connection_mid_burst_costs_at_most_a_window_of_duplicates(
        smscs: Callable[..., NodeSmsc], rigs: Callable[..., Rig]) -> None:
    smsc = smscs()
    smsc.delay(0.05)
    rig = rigs([smsc], window=8)
    ids = rig.queue(200)
    until(lambda: len(smsc.submits()) >= 60, what="a burst under way")
    smsc.close_connections()          # the SMSC goes away, answers in flight with it
    time.sleep(0.3)
    smsc.listen()
    rig.wait_status(ids, "sent")
    copies = Counter(s["destination_addr"] for s in smsc.submits())
    assert set(copies) == {f"3247{i:07d}" for i in range(200)}     # nothing lost
    assert sum(n - 1 for n in copies.values()) <= 8                # at most a window again


def test_a_killed_smsc_loses_nothing_once_it_is_back(
        smscs: Callable[..., NodeSmsc], rigs: Callable[..., Rig]) -> None:
    smsc = smscs()
    smsc.delay(0.05)
    rig = rigs([smsc], window=8)
    ids = rig.queue(150)
    until(lambda: len(smsc.submits()) >= 40, what="a burst under way")
    port = smsc.port
    smsc.kill()                                   # SIGKILL: no goodbye on the socket
    time.sleep(0.5)
    again = smscs(port=port)
    rig.wait_status(ids, "sent")
    destinations = {s["destination_addr"] for s in again.submits()}
    sent_before = 150 - len(destinations)
    assert sent_before >= 40 - 8                  # only the unanswered were sent again
    assert {m.attempts for m in rig.store.outbox.messages(limit=1000)} <= {1, 2}


def test_a_frozen_smsc_is_left_at_the_first_timeout_and_the_other_takes_over(
        smscs: Callable[..., NodeSmsc], rigs: Callable[..., Rig]) -> None:
    first, second = smscs(), smscs()
    first.delay(0.05)
    second.delay(0.05)
    rig = rigs([first, second], window=6, timeout=1.0)
    until(lambda: all(link.bound for link in rig.channel.links), what="both links bound")
    ids = rig.queue(200)
    until(lambda: len(first.submits()) >= 20, what="a burst under way")
    first.freeze()                     # link up, no answers: sms.md's broken link
    rig.wait_status(ids, "sent")
    frozen = [s for s in first.submits() if not s["answered"]]
    assert 0 < len(frozen) <= 6        # nothing more was sent after the window filled
    stopped = min(s["received_at"] for s in frozen)
    assert max(s["received_at"] for s in frozen) < stopped + 1.0   # none after the timeout
    answered = {s["destination_addr"] for s in accepted(first.submits())}
    answered |= {s["destination_addr"] for s in accepted(second.submits())}
    assert answered == {f"3247{i:07d}" for i in range(200)}
    resent = {s["destination_addr"] for s in frozen} & {
        s["destination_addr"] for s in second.submits()}
    assert resent == {s["destination_addr"] for s in frozen}       # each in-flight one, again


def test_while_one_smsc_is_down_the_other_carries_everything(
        smscs: Callable[..., NodeSmsc], rigs: Callable[..., Rig]) -> None:
    first, second = smscs(), smscs()
    rig = rigs([first, second])
    until(lambda: all(link.bound for link in rig.channel.links), what="both links bound")
    first.close_connections()                 # down, and not listening any more
    until(lambda: not rig.channel.links[0].bound, what="the first link down")
    ids = rig.queue(50)
    rig.wait_status(ids, "sent")
    assert len(accepted(second.submits())) == 50
    assert {m.attempts for m in rig.store.outbox.messages(limit=100)} == {1}


def test_when_the_only_link_binds_again_what_waits_goes_at_once_without_a_failed_attempt(
        smscs: Callable[..., NodeSmsc], rigs: Callable[..., Rig]) -> None:
    smsc = smscs()
    rig = rigs([smsc])
    smsc.close_connections()
    until(lambda: not rig.channel.links[0].bound, what="the link down")
    ids = rig.queue(20)
    time.sleep(1.0)
    assert rig.statuses(ids) == Counter({"queued": 20})
    smsc.listen()
    rig.wait_status(ids, "sent")
    # Not one attempt burnt on the dead link, so no back-off to wait out.
    assert {m.attempts for m in rig.store.outbox.messages(limit=100)} == {1}


def test_throttling_answers_slow_the_link_and_fail_nothing(
        smscs: Callable[..., NodeSmsc], rigs: Callable[..., Rig]) -> None:
    smsc = smscs()
    rig = rigs([smsc], window=8)
    smsc.throttle(5)
    ids = rig.queue(40)
    rig.wait_status(ids, "sent")
    submits = smsc.submits()
    assert sum(1 for s in submits if s["status"] == p.ESME_RTHROTTLED) == 5
    assert len(accepted(submits)) == 40
    assert rig.statuses(ids) == Counter({"sent": 40})


# ---------------------------------------------------------------- coding and parts

def test_a_150_character_french_text_with_accents_and_euro_is_one_gsm_part(
        smscs: Callable[..., NodeSmsc], rigs: Callable[..., Rig]) -> None:
    assert len(FRENCH_150) == 150
    smsc = smscs()
    rig = rigs([smsc])
    ids = rig.queue(1, FRENCH_150)
    rig.wait_status(ids, "sent")
    [part] = smsc.submits()
    assert (part["data_coding"], part["esm_class"], part["udh"]) == (0, 0, None)
    assert gsm_text(part["short_message"]) == FRENCH_150
    assert part["sm_length"] == 151               # € is an escape and a septet


def test_a_400_character_text_goes_in_three_parts_with_one_reference(
        smscs: Callable[..., NodeSmsc], rigs: Callable[..., Rig]) -> None:
    text = ("Votre consommation ce mois-ci : 4,2 Go de données, 312 minutes d'appels et "
            "48 SMS. ") * 5
    text = text[:400]
    smsc = smscs()
    rig = rigs([smsc])
    ids = rig.queue(1, text)
    rig.wait_status(ids, "sent")
    parts = smsc.submits()
    assert len(parts) == 3
    headers = [bytes.fromhex(part["short_message"])[:6] for part in parts]
    reference = headers[0][3]
    assert headers == [bytes([5, 0, 3, reference, 3, n]) for n in (1, 2, 3)]
    assert all(part["esm_class"] & 0x40 and part["data_coding"] == 0 for part in parts)
    assert "".join(gsm_text(part["short_message"][12:]) for part in parts) == text
    message = rig.store.outbox.get(ids[0])
    assert message is not None and message.status == "sent"


def test_sar_mode_sends_the_parts_with_sar_tlvs(
        smscs: Callable[..., NodeSmsc], rigs: Callable[..., Rig]) -> None:
    smsc = smscs()
    rig = rigs([smsc], long_mode="sar")
    ids = rig.queue(1, "x" * 200)
    rig.wait_status(ids, "sent")
    parts = smsc.submits()
    assert [(s["tlvs"]["sar_total_segments"], s["tlvs"]["sar_segment_seqnum"])
            for s in parts] == [(2, 1), (2, 2)]
    assert len({s["tlvs"]["sar_msg_ref_num"] for s in parts}) == 1
    assert all(s["esm_class"] == 0 for s in parts)


# ---------------------------------------------------------------- receipts

def test_receipts_move_messages_to_delivered_undeliverable_and_expired(
        smscs: Callable[..., NodeSmsc], rigs: Callable[..., Rig]) -> None:
    smsc = smscs()
    rig = rigs([smsc])
    ids = rig.queue(3)
    rig.wait_status(ids, "sent")
    by_destination = {s["destination_addr"]: s["message_id"] for s in smsc.submits()}
    smsc.receipt(by_destination["32470000000"], "DELIVRD", form="tlv")
    smsc.receipt(by_destination["32470000001"], "UNDELIV", form="text")
    smsc.receipt(by_destination["32470000002"], "EXPIRED", form="both")
    until(lambda: rig.statuses(ids) == Counter({"delivered": 1, "undeliverable": 1,
                                                "expired": 1}), what="the receipts")
    history = rig.store.outbox.history(ids)
    assert [c.status for c in history["m0"]] == ["queued", "sent", "delivered"]
    until(lambda: len(smsc.deliver_resps()) == 3)
    assert {r["status"] for r in smsc.deliver_resps()} == {0}


def test_a_split_message_is_delivered_when_every_part_is(
        smscs: Callable[..., NodeSmsc], rigs: Callable[..., Rig]) -> None:
    smsc = smscs()
    rig = rigs([smsc])
    ids = rig.queue(1, "y" * 400)
    rig.wait_status(ids, "sent")
    parts = [s["message_id"] for s in smsc.submits()]
    assert len(parts) == 3
    for message_id in parts[:2]:
        smsc.receipt(message_id, "DELIVRD")
    until(lambda: len(smsc.deliver_resps()) == 2)
    assert rig.statuses(ids) == Counter({"sent": 1})
    smsc.receipt(parts[2], "DELIVRD")
    rig.wait_status(ids, "delivered")


def test_automatic_receipts_of_a_burst_all_arrive(
        smscs: Callable[..., NodeSmsc], rigs: Callable[..., Rig]) -> None:
    smsc = smscs()
    smsc.auto_receipt("DELIVRD", form="tlv")
    rig = rigs([smsc], window=16)
    ids = rig.queue(100)
    rig.wait_status(ids, "delivered")


def test_a_receipt_for_an_unknown_message_is_refused_and_the_link_kept(
        smscs: Callable[..., NodeSmsc], rigs: Callable[..., Rig]) -> None:
    smsc = smscs()
    rig = rigs([smsc])
    smsc.receipt("never-sent", "DELIVRD")
    until(smsc.deliver_resps, what="the deliver_sm_resp")
    assert smsc.deliver_resps()[0]["status"] == p.ESME_RX_P_APPN
    ids = rig.queue(1)
    rig.wait_status(ids, "sent")
    assert len(smsc.binds()) == 1


# ---------------------------------------------------------------- texts to 1921

@pytest.mark.parametrize("mode", ["udh", "udh16", "sar"])
def test_a_text_to_1921_in_parts_is_put_together_before_it_is_read(
        mode: str, smscs: Callable[..., NodeSmsc], rigs: Callable[..., Rig]) -> None:
    smsc = smscs()
    rig = rigs([smsc])
    text = "CONSULT " + "s'il vous plaît, combien me reste-t-il ? " * 8
    smsc.deliver("+32470000001", "1921", text, mode=mode, parts=3, data_coding=8,
                 order=[3, 1, 2])
    until(lambda: rig.texts, what="the whole text")
    time.sleep(0.2)
    assert rig.texts == [("+32470000001", "1921", text)]
    until(lambda: len(smsc.deliver_resps()) == 3)
    assert {r["status"] for r in smsc.deliver_resps()} == {0}


def test_a_gsm_text_to_1921_is_read_in_the_gsm_alphabet(
        smscs: Callable[..., NodeSmsc], rigs: Callable[..., Rig]) -> None:
    smsc = smscs()
    rig = rigs([smsc])
    smsc.deliver("+32470000001", "1921", "consult é@€", data_coding=0)
    until(lambda: rig.texts, what="the text")
    assert rig.texts == [("+32470000001", "1921", "consult é@€")]


# ---------------------------------------------------------------- bad input

def _raw(body: p.Body, sequence: int) -> bytes:
    return p.encode_pdu(p.Pdu(body, sequence))


def test_a_deliver_sm_with_a_broken_udh_is_refused_and_the_link_kept(
        smscs: Callable[..., NodeSmsc], rigs: Callable[..., Rig]) -> None:
    smsc = smscs()
    rig = rigs([smsc])
    broken = p.DeliverSm(p.to_address("+32470000001"), p.to_address("1921"),
                         bytes([9, 0, 3, 1]) + b"CONSULT", esm_class=0x40)   # UDH past the end
    smsc.send_raw(_raw(broken, 4242))
    reply = until(lambda: [r for r in smsc.state()["received"]
                           if r.get("sequence") == 4242], what="an answer")
    assert reply[0]["status"] == p.ESME_RX_P_APPN
    assert rig.texts == []
    ids = rig.queue(1)
    rig.wait_status(ids, "sent")
    assert len(smsc.binds()) == 1


def test_an_unknown_command_and_a_malformed_pdu_get_generic_nack_and_the_link_stays(
        smscs: Callable[..., NodeSmsc], rigs: Callable[..., Rig]) -> None:
    smsc = smscs()
    rig = rigs([smsc])
    unknown = (16).to_bytes(4, "big") + (0x00000222).to_bytes(4, "big") + bytes(4) + (
        77).to_bytes(4, "big")
    good = _raw(p.DeliverSm(p.to_address("+32470000001"), p.to_address("1921"), b"hi"), 78)
    truncated = (len(good) - 3).to_bytes(4, "big") + good[4:-3]   # the body cut short
    smsc.send_raw(unknown)
    smsc.send_raw(truncated)
    replies = until(lambda: [r for r in smsc.state()["received"]
                             if r.get("sequence") in (77, 78)] or None, what="answers")
    until(lambda: len([r for r in smsc.state()["received"]
                       if r.get("sequence") in (77, 78)]) == 2, what="both answers")
    replies = [r for r in smsc.state()["received"] if r.get("sequence") in (77, 78)]
    assert {r["command"] for r in replies} == {"generic_nack"}
    ids = rig.queue(1)
    rig.wait_status(ids, "sent")
    assert len(smsc.binds()) == 1


def test_a_threshold_burst_from_many_threads_is_each_sent_once(
        smscs: Callable[..., NodeSmsc], rigs: Callable[..., Rig]) -> None:
    """Messages queued while the dispatcher is sending join the burst."""
    smsc = smscs()
    smsc.delay(0.02)
    rig = rigs([smsc], window=16)
    batches = [threading.Thread(target=rig.queue, args=(30,), kwargs={"prefix": f"t{n}-"})
               for n in range(4)]
    for thread in batches:
        thread.start()
    for thread in batches:
        thread.join()
    ids = [f"t{n}-{i}" for n in range(4) for i in range(30)]
    rig.wait_status(ids, "sent")
    assert len(smsc.submits()) == 120


def test_max_rate_paces_each_link(smscs: Callable[..., NodeSmsc],
                                  rigs: Callable[..., Rig]) -> None:
    smsc = smscs()
    rig = rigs([smsc], max_rate=20)        # CONSO_SMPP_MAX_RATE=20
    ids = rig.queue(11)
    rig.wait_status(ids, "sent")
    times = sorted(s["received_at"] for s in smsc.submits())
    # 11 messages at 20 a second span at least 10 intervals of 50 ms.
    assert times[-1] - times[0] >= 10 * 0.05 * 0.9
