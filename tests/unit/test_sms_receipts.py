"""Delivery receipts (conso.sms.smpp.receipts): TLVs, the Appendix B text, or both."""

from __future__ import annotations

from typing import Any

import pytest
import smpplib.smpp  # type: ignore[import-untyped]
from hypothesis import given
from hypothesis import strategies as st

from conso.sms.smpp import pdu as p
from conso.sms.smpp.receipts import Receipt, read_receipt, receipt_fields

SOURCE, DESTINATION = p.Address(1, 1, "32470000001"), p.Address(3, 0, "8644")


def receipt(text: bytes = b"", *tlvs: p.Tlv, data_coding: int = 0) -> p.DeliverSm:
    return p.DeliverSm(SOURCE, DESTINATION, text, data_coding, esm_class=0x04, tlvs=tlvs)


def appendix_b(message_id: str, stat: str) -> bytes:
    return (f"id:{message_id} sub:001 dlvrd:001 submit date:2405011200 "
            f"done date:2405011201 stat:{stat} err:000 text:Votre forfait").encode()


STATES = [("DELIVRD", "delivered"), ("UNDELIV", "undeliverable"),
          ("REJECTD", "undeliverable"), ("EXPIRED", "expired"), ("DELETED", "deleted"),
          ("ENROUTE", None), ("ACCEPTD", None), ("UNKNOWN", None)]


@pytest.mark.parametrize(("stat", "state"), STATES)
def test_receipt_text_of_each_state(stat: str, state: str | None) -> None:
    assert read_receipt(receipt(appendix_b("0123456789", stat))) == Receipt(
        "0123456789", state, stat)


@pytest.mark.parametrize(("value", "stat", "state"), [
    (1, "ENROUTE", None), (2, "DELIVRD", "delivered"), (3, "EXPIRED", "expired"),
    (4, "DELETED", "deleted"), (5, "UNDELIV", "undeliverable"), (6, "ACCEPTD", None),
    (7, "UNKNOWN", None), (8, "REJECTD", "undeliverable")])
def test_tlvs_of_each_state(value: int, stat: str, state: str | None) -> None:
    body = receipt(b"", p.Tlv(p.TAG_RECEIPTED_MESSAGE_ID, b"5f3a-77\0"),
                   p.Tlv(p.TAG_MESSAGE_STATE, bytes([value])))
    assert read_receipt(body) == Receipt("5f3a-77", state, stat)


def test_tlvs_win_over_the_text_each_on_its_own() -> None:
    both = receipt(appendix_b("111", "UNDELIV"), p.Tlv(p.TAG_RECEIPTED_MESSAGE_ID, b"222\0"),
                   p.Tlv(p.TAG_MESSAGE_STATE, b"\x02"))
    assert read_receipt(both) == Receipt("222", "delivered", "DELIVRD")
    id_only = receipt(appendix_b("111", "EXPIRED"), p.Tlv(p.TAG_RECEIPTED_MESSAGE_ID, b"222"))
    assert read_receipt(id_only) == Receipt("222", "expired", "EXPIRED")
    state_only = receipt(appendix_b("111", "EXPIRED"), p.Tlv(p.TAG_MESSAGE_STATE, b"\x04"))
    assert read_receipt(state_only) == Receipt("111", "deleted", "DELETED")
    odd_state = receipt(appendix_b("111", "EXPIRED"), p.Tlv(p.TAG_MESSAGE_STATE, b"\x09"))
    assert read_receipt(odd_state) == Receipt("111", "expired", "EXPIRED")


def test_any_case_extra_spaces_and_missing_fields() -> None:
    assert read_receipt(receipt(b"ID: abc  Sub:001   STAT : delivrd  ERR:000")) == Receipt(
        "abc", "delivered", "delivrd")
    assert read_receipt(receipt(b"id:42 stat:EXPIRED")) == Receipt("42", "expired", "EXPIRED")
    assert read_receipt(receipt(b"id:42")) == Receipt("42", None, "")
    assert read_receipt(receipt(b"  id:42\r\nstat:DELIVRD\n")) == Receipt(
        "42", "delivered", "DELIVRD")


def test_the_free_text_is_not_read_for_fields() -> None:
    body = receipt(b"id:1 stat:DELIVRD err:000 text:id:2 stat:UNDELIV")
    assert read_receipt(body) == Receipt("1", "delivered", "DELIVRD")
    assert receipt_fields("id:1 submit  date:2405011200 Done Date:2405011201 text: a b") == {
        "id": "1", "submit date": "2405011200", "done date": "2405011201", "text": "a b"}


def test_receipt_text_in_message_payload_and_in_ucs2() -> None:
    payload = receipt(b"", p.Tlv(p.TAG_MESSAGE_PAYLOAD, appendix_b("9", "DELIVRD")))
    assert read_receipt(payload) == Receipt("9", "delivered", "DELIVRD")
    ucs2 = receipt("id:9 stat:REJECTD".encode("utf-16-be"), data_coding=8)
    assert read_receipt(ucs2) == Receipt("9", "undeliverable", "REJECTD")


@pytest.mark.parametrize("text", [b"", b"hello", b"id: stat:DELIVRD", b"stat:DELIVRD",
                                  b"\xff\xfe\x00", b"valid:1 stat:DELIVRD"])
def test_no_id_is_a_value_error(text: bytes) -> None:
    with pytest.raises(ValueError, match="message id"):
        read_receipt(receipt(text, p.Tlv(p.TAG_RECEIPTED_MESSAGE_ID, b"\0")))


def test_a_receipt_built_by_smpplib() -> None:
    fields: dict[str, Any] = {"source_addr_ton": 1, "source_addr_npi": 1,
                              "source_addr": "32470000001", "dest_addr_ton": 3,
                              "destination_addr": "8644", "esm_class": 4,
                              "receipted_message_id": "abc123", "message_state": 5,
                              "short_message": appendix_b("abc123", "UNDELIV")}

    class Sequences:
        sequence = 0

        def next_sequence(self) -> int:
            return 1

    data = bytes(smpplib.smpp.make_pdu("deliver_sm", client=Sequences(), **fields).generate())
    body = p.decode_pdu(data).body
    assert isinstance(body, p.DeliverSm)
    assert p.is_receipt(body)
    assert read_receipt(body) == Receipt("abc123", "undeliverable", "UNDELIV")


tags = st.sampled_from([p.TAG_RECEIPTED_MESSAGE_ID, p.TAG_MESSAGE_STATE,
                        p.TAG_MESSAGE_PAYLOAD, 0x0001])
texts = st.one_of(st.binary(max_size=200),
                  st.lists(st.sampled_from([b"id:", b"stat:", b"text:", b" ", b"x", b"\0",
                                            b"DELIVRD", b"\xe9", b"done date:"]),
                           max_size=20).map(b"".join))


@given(texts, st.sampled_from([0, 1, 3, 8, 4, 0xF0]),
       st.lists(st.tuples(tags, st.binary(max_size=8)), max_size=4))
def test_read_receipt_raises_nothing_but_value_error(text: bytes, data_coding: int,
                                                     tlvs: list[tuple[int, bytes]]) -> None:
    try:
        found = read_receipt(receipt(text, *(p.Tlv(t, v) for t, v in tlvs),
                                     data_coding=data_coding))
    except ValueError:
        return
    assert found.message_id
    assert found.state in (None, "delivered", "undeliverable", "expired", "deleted")
