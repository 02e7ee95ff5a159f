"""Fuzzing `pdu.decode_pdu`: whatever an SMSC sends, the codec answers with a Pdu or
a PduError (which the session turns into a generic_nack), never another exception."""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from conso.sms.smpp import encoding as e
from conso.sms.smpp import pdu as p

COMMAND_IDS = [p.GENERIC_NACK, p.SUBMIT_SM, p.SUBMIT_SM_RESP, p.DELIVER_SM,
               p.DELIVER_SM_RESP, p.UNBIND, p.UNBIND_RESP, p.BIND_TRANSCEIVER,
               p.BIND_TRANSCEIVER_RESP, p.ENQUIRE_LINK, p.ENQUIRE_LINK_RESP]
command_ids = st.one_of(st.sampled_from(COMMAND_IDS), st.integers(0, 0xFFFFFFFF))
u32 = st.integers(0, 0xFFFFFFFF)


def decode_or_pdu_error(frame: bytes) -> p.Pdu | None:
    """decode_pdu's answer; a decoded PDU that can be encoded again comes back equal."""
    try:
        decoded = p.decode_pdu(frame)
    except p.PduError:
        return None
    try:
        again = p.encode_pdu(decoded)
    except ValueError:          # e.g. a non-ASCII C-octet string: readable, not sendable
        return decoded
    assert p.decode_pdu(again) == decoded
    return decoded


def framed(command_id: int, status: int, sequence: int, body: bytes) -> bytes:
    return p.HEADER.pack(p.HEADER_SIZE + len(body), command_id, status, sequence) + body


@given(command_ids, u32, u32, st.binary(max_size=400))
def test_random_bodies_decode_or_raise_pdu_error(command_id: int, status: int,
                                                 sequence: int, body: bytes) -> None:
    decode_or_pdu_error(framed(command_id, status, sequence, body))


@given(st.binary(max_size=64))
def test_random_frames_decode_or_raise_pdu_error(frame: bytes) -> None:
    decode_or_pdu_error(frame)


# Bodies that look like a short message: C-strings and octets in the right places.
cstrings = st.lists(st.sampled_from([b"", b"8644", b"32470000001", b"\xff\xfe", b"x" * 30]),
                    min_size=0, max_size=1).map(b"".join)


@st.composite
def short_message_bodies(draw: st.DrawFn) -> bytes:
    out = bytearray()
    out += draw(cstrings) + b"\0"                                    # service_type
    for _ in range(2):                                              # source, destination
        out += bytes(draw(st.binary(min_size=2, max_size=2))) + draw(cstrings) + b"\0"
    out += draw(st.binary(min_size=3, max_size=3))                  # esm, pid, priority
    out += draw(cstrings) + b"\0" + draw(cstrings) + b"\0"          # times
    out += draw(st.binary(min_size=4, max_size=4))                  # ... sm_default_msg_id
    message = draw(st.binary(max_size=260))
    out.append(draw(st.sampled_from([len(message) & 0xFF, 0, 0xFF])))
    out += message
    for _ in range(draw(st.integers(0, 3))):
        value = draw(st.binary(max_size=10))
        length = draw(st.sampled_from([len(value), len(value) + 1, 0xFFFF]))
        out += struct.pack(">HH", draw(st.integers(0, 0xFFFF)), length) + value
    return bytes(out)


@given(st.sampled_from([p.SUBMIT_SM, p.DELIVER_SM]), u32, short_message_bodies())
def test_near_valid_short_messages_decode_or_raise_pdu_error(command_id: int, sequence: int,
                                                            body: bytes) -> None:
    decode_or_pdu_error(framed(command_id, 0, sequence, body))


# Valid PDUs, then one field mutated.
texts = st.text(max_size=300)
numbers = st.sampled_from(["+32470000001", "8644", "1921", "0470000001", "conso"])
bodies = st.one_of(
    st.builds(e.submit_sm, numbers, numbers, texts),
    st.builds(e.deliver_sm, numbers, numbers, texts),
    st.builds(p.BindTransceiver, st.text("abc", max_size=15), st.text("xyz", max_size=8)),
    st.builds(p.BindTransceiverResp, st.text("smsc", max_size=15),
              st.just((p.Tlv(p.TAG_SC_INTERFACE_VERSION, b"\x34"),))),
    st.builds(p.SubmitSmResp, st.text("0123456789abcdef", max_size=64)),
    st.builds(p.DeliverSmResp),
    st.sampled_from([p.EnquireLink(), p.EnquireLinkResp(), p.Unbind(), p.UnbindResp(),
                     p.GenericNack()]),
)
valid_frames = st.builds(lambda body, sequence: p.encode_pdu(p.Pdu(body, sequence)),
                         bodies, st.integers(1, p.MAX_SEQUENCE))


def with_length(frame: bytes) -> bytes:
    """The frame with its command_length set to its size again."""
    return struct.pack(">I", len(frame)) + frame[4:]


@given(valid_frames, st.data())
def test_a_valid_pdu_with_one_octet_changed(frame: bytes, data: st.DataObject) -> None:
    assert decode_or_pdu_error(frame) is not None
    index = data.draw(st.integers(0, len(frame) - 1))
    value = data.draw(st.integers(0, 255))
    mutated = bytearray(frame)
    mutated[index] = value
    decode_or_pdu_error(bytes(mutated))
    decode_or_pdu_error(with_length(bytes(mutated)))


@given(valid_frames, st.data())
def test_a_valid_pdu_with_octets_cut_or_inserted(frame: bytes, data: st.DataObject) -> None:
    start = data.draw(st.integers(p.HEADER_SIZE, len(frame)))
    end = data.draw(st.integers(start, min(len(frame), start + 8)))
    inserted = data.draw(st.binary(max_size=8))
    mutated = frame[:start] + inserted + frame[end:]
    decode_or_pdu_error(mutated)
    decode_or_pdu_error(with_length(mutated))


@given(valid_frames, st.sampled_from([4, 8, 12]), u32)
def test_a_valid_pdu_with_another_header_field(frame: bytes, offset: int, value: int) -> None:
    decode_or_pdu_error(frame[:offset] + struct.pack(">I", value) + frame[offset + 4:])


@given(st.binary(min_size=16, max_size=16))
def test_decode_header_raises_only_pdu_error(header: bytes) -> None:
    try:
        found = p.decode_header(header)
    except p.PduError:
        return
    assert p.HEADER_SIZE <= found.command_length <= p.MAX_PDU_SIZE
