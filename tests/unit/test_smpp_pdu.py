"""conso's SMPP codec against smpplib's independent implementation, both ways."""

from __future__ import annotations

import struct
from typing import Any

import gsm0338  # type: ignore[import-untyped]
import pytest
import smpplib.smpp  # type: ignore[import-untyped]
from hypothesis import given
from hypothesis import strategies as st

from conso.sms.smpp import encoding as e
from conso.sms.smpp import pdu as p

GSM = gsm0338.Codec()

FRENCH = "Consommé 90 % de votre forfait. Août : crédit épuisé à 23h59 !"
LONG_ASCII = "Your data bundle is used up. " * 8
LONG_FRENCH = "Forfait épuisé. " * 12


class _Sequences:
    """smpplib builds and parses requests only with a client that numbers them."""

    sequence = 0

    def next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence


def parse(data: bytes) -> Any:
    return smpplib.smpp.parse_pdu(data, client=_Sequences())


def make(command: str, sequence: int, **fields: Any) -> bytes:
    pdu = smpplib.smpp.make_pdu(command, client=_Sequences(), **fields)
    pdu.sequence = sequence                 # smpplib ignores a `sequence=` argument
    return bytes(pdu.generate())


def smpplib_text(pdu: Any) -> str:
    octets = pdu.short_message or getattr(pdu, "message_payload", None) or b""
    if pdu.data_coding == 8:
        return bytes(octets).decode("utf-16-be")
    text: str = GSM.decode(bytes(octets))[0]        # data_coding 0: GSM 03.38, unpacked
    return text


# ---------------------------------------------------------------- conso -> smpplib

def test_bind_transceiver_is_read_by_smpplib() -> None:
    data = p.encode_pdu(p.Pdu(p.BindTransceiver("conso", "secret", "CONSO"), 7))
    pdu = parse(data)
    assert (pdu.command, pdu.sequence, pdu.status) == ("bind_transceiver", 7, 0)
    assert (pdu.system_id, pdu.password, pdu.system_type) == (b"conso", b"secret", b"CONSO")
    assert pdu.interface_version == 0x34


@pytest.mark.parametrize(("text", "data_coding", "in_payload"), [
    ("Vous avez utilise 90% de votre forfait.", 0, False),
    ("Consommé 90 % : crédit épuisé à 23h59, 5 € hors forfait.", 0, False),   # GSM
    (FRENCH, 8, False),                       # û is not GSM: UCS-2, 63 characters
    (FRENCH + " Ça coûte 5 €.", 8, True),     # 77 UCS-2 characters: more than one SMS
    (LONG_ASCII, 0, True),
    (LONG_FRENCH, 0, True),
])
def test_submit_sm_text_is_read_by_smpplib(text: str, data_coding: int,
                                           in_payload: bool) -> None:
    data = p.encode_pdu(p.Pdu(e.submit_sm("8644", "+32470000001", text), 42))
    pdu = parse(data)
    assert (pdu.command, pdu.sequence) == ("submit_sm", 42)
    assert pdu.data_coding == data_coding
    assert bool(getattr(pdu, "message_payload", None)) is in_payload
    assert pdu.sm_length == (0 if in_payload else len(pdu.short_message))
    assert smpplib_text(pdu) == text


def test_e164_number_is_international_isdn_and_short_code_network_specific() -> None:
    pdu = parse(p.encode_pdu(p.Pdu(e.submit_sm("8644", "+32470000001", "hi"), 1)))
    assert (pdu.source_addr_ton, pdu.source_addr_npi, pdu.source_addr) == (3, 0, b"8644")
    assert (pdu.dest_addr_ton, pdu.dest_addr_npi, pdu.destination_addr) == (
        1, 1, b"32470000001")


def test_responses_and_link_pdus_are_read_by_smpplib() -> None:
    resp = parse(p.encode_pdu(p.Pdu(p.DeliverSmResp(), 9)))
    assert (resp.command, resp.sequence, resp.status) == ("deliver_sm_resp", 9, 0)
    bodies: list[tuple[p.Body, str]] = [
        (p.EnquireLink(), "enquire_link"), (p.EnquireLinkResp(), "enquire_link_resp"),
        (p.Unbind(), "unbind"), (p.UnbindResp(), "unbind_resp"),
        (p.GenericNack(), "generic_nack")]
    for body, name in bodies:
        pdu = parse(p.encode_pdu(p.Pdu(body, 3, 0)))
        assert (pdu.command, pdu.sequence) == (name, 3)
    nack = parse(p.encode_pdu(p.Pdu(p.GenericNack(), 4, p.ESME_RINVCMDID)))
    assert nack.status == p.ESME_RINVCMDID


# ---------------------------------------------------------------- smpplib -> conso

def test_deliver_sm_from_smpplib_gives_plus_number_short_code_and_text() -> None:
    data = make("deliver_sm", 5, source_addr_ton=1, source_addr_npi=1,
                source_addr="32470000001", dest_addr_ton=3, dest_addr_npi=0,
                destination_addr="1921", data_coding=0, short_message=b" consult ")
    pdu = p.decode_pdu(data)
    assert isinstance(pdu.body, p.DeliverSm)
    assert pdu.sequence_number == 5
    assert p.from_address(pdu.body.source) == "+32470000001"
    assert p.from_address(pdu.body.destination) == "1921"
    assert e.read_user_data(pdu.body).text == " consult "


def test_deliver_sm_with_ucs2_message_payload_from_smpplib() -> None:
    data = make("deliver_sm", 6, source_addr_ton=1, source_addr_npi=1,
                source_addr="32470000001", dest_addr_ton=3, destination_addr="1921",
                data_coding=8, message_payload=LONG_FRENCH.encode("utf-16-be"))
    pdu = p.decode_pdu(data)
    assert isinstance(pdu.body, p.DeliverSm)
    assert pdu.body.short_message == b""
    assert e.read_user_data(pdu.body).text == LONG_FRENCH


def test_responses_from_smpplib() -> None:
    bind = p.decode_pdu(make("bind_transceiver_resp", 1, system_id="smsc",
                             sc_interface_version=0x34))
    assert bind.body == p.BindTransceiverResp(
        "smsc", (p.Tlv(p.TAG_SC_INTERFACE_VERSION, b"\x34"),))
    refused = p.decode_pdu(make("bind_transceiver_resp", 1, status=p.ESME_RINVPASWD))
    assert (refused.command_status, refused.body) == (p.ESME_RINVPASWD,
                                                      p.BindTransceiverResp(""))
    submit = p.decode_pdu(make("submit_sm_resp", 2, message_id="abc-123"))
    assert (submit.sequence_number, submit.body) == (2, p.SubmitSmResp("abc-123"))
    link = p.decode_pdu(make("enquire_link", 3))
    assert (link.body, link.sequence_number, link.is_response) == (p.EnquireLink(), 3, False)


# ---------------------------------------------------------------- properties

texts = st.text(max_size=400)


@given(texts)
def test_any_text_survives_conso_encode_and_smpplib_decode(text: str) -> None:
    pdu = parse(p.encode_pdu(p.Pdu(e.submit_sm("1921", "+32470000001", text), 1)))
    assert smpplib_text(pdu) == text
    assert pdu.data_coding == (0 if e.is_gsm(text) else 8)


@given(texts)
def test_any_text_survives_smpplib_encode_and_conso_decode(text: str) -> None:
    coding, octets = (0, GSM.encode(text)[0]) if e.is_gsm(text) else (
        8, text.encode("utf-16-be"))
    fields = {"message_payload": octets} if len(octets) > 140 else {"short_message": octets}
    data = make("deliver_sm", 11, source_addr_ton=1, source_addr_npi=1,
                source_addr="32470000001", dest_addr_ton=3, destination_addr="1921",
                data_coding=coding, **fields)
    pdu = p.decode_pdu(data)
    assert isinstance(pdu.body, p.DeliverSm)
    assert e.read_user_data(pdu.body).text == text


@given(texts, st.integers(min_value=1, max_value=p.MAX_SEQUENCE))
def test_conso_encode_decode_round_trip(text: str, sequence: int) -> None:
    pdu = p.Pdu(e.deliver_sm("+32470000001", "1921", text), sequence)
    decoded = p.decode_pdu(p.encode_pdu(pdu))
    assert decoded == pdu
    assert isinstance(decoded.body, p.DeliverSm)
    assert e.read_user_data(decoded.body).text == text


# ---------------------------------------------------------------- rules and errors

def test_a_whole_text_over_one_sms_goes_in_message_payload() -> None:
    at_limit = e.submit_sm("8644", "+32470000001", "x" * 160)
    over = e.submit_sm("8644", "+32470000001", "x" * 161)
    assert (len(at_limit.short_message), at_limit.tlvs) == (160, ())
    assert over.short_message == b""
    assert p.tlv_value(over.tlvs, p.TAG_MESSAGE_PAYLOAD) == b"x" * 161
    assert e.submit_sm("8644", "+32470000001", "中" * 70).tlvs == ()
    assert len(e.submit_sm("8644", "+32470000001", "中" * 71).tlvs) == 1


def test_addresses() -> None:
    assert p.to_address("+32470000001") == p.Address(1, 1, "32470000001")
    assert p.to_address("8644") == p.Address(3, 0, "8644")
    assert p.from_address(p.Address(1, 1, "32470000001")) == "+32470000001"
    assert p.from_address(p.Address(1, 1, "+32470000001")) == "+32470000001"
    assert p.from_address(p.Address(3, 0, "1921")) == "1921"
    with pytest.raises(ValueError, match="neither"):
        p.to_address("+32-470")


def test_text_codings_read() -> None:
    assert e.decode_user_data(1, b"hello") == "hello"
    assert e.decode_user_data(3, "crédit".encode("latin-1")) == "crédit"
    assert e.decode_user_data(8, "crédit".encode("utf-16-be")) == "crédit"
    with pytest.raises(ValueError, match="0x04"):
        e.decode_user_data(4, b"\x01\x02")


def test_user_data_header_is_not_part_of_the_text() -> None:
    udh = bytes([5, 0, 3, 7, 2, 1])
    body = p.DeliverSm(p.Address(1, 1, "32470000001"), p.Address(3, 0, "1921"),
                       udh + b"consult", esm_class=p.ESM_CLASS_UDHI)
    assert e.read_user_data(body).text == "consult"


def test_truncated_pdu_is_refused_with_its_sequence_number() -> None:
    data = p.encode_pdu(p.Pdu(e.submit_sm("8644", "+32470000001", "hello"), 77))
    short = struct.pack(">I", len(data) - 3) + data[4:-3]
    with pytest.raises(p.PduError) as error:
        p.decode_pdu(short)
    assert error.value.sequence_number == 77


def test_impossible_length_and_unknown_command() -> None:
    with pytest.raises(p.PduError) as error:
        p.decode_header(struct.pack(">IIII", 8, p.ENQUIRE_LINK, 0, 1))
    assert error.value.sequence_number is None
    with pytest.raises(p.PduError) as unknown:
        p.decode_pdu(struct.pack(">IIII", 16, 0x00000103, 0, 12))
    assert (unknown.value.command_status, unknown.value.sequence_number) == (
        p.ESME_RINVCMDID, 12)


def test_values_too_long_for_their_field_are_refused_without_echoing_passwords() -> None:
    with pytest.raises(ValueError, match="system_id"):
        p.encode_pdu(p.Pdu(p.BindTransceiver("a" * 16, "pw"), 1))
    with pytest.raises(ValueError, match="password") as error:
        p.encode_pdu(p.Pdu(p.BindTransceiver("conso", "topsecret"), 1))
    assert "topsecret" not in str(error.value)
