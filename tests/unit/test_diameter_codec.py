"""Diameter's wire format (codec.py): encode then decode gives back what was encoded, and
no input at all makes the decoder fail otherwise than with the `ProtocolError` RFC 6733
prescribes (the Result-Code, and a well-formed Failed-AVP naming the AVP at fault).

python-diameter, an independent implementation, reads what the codec writes and writes
what it reads, so the two agree on the wire and not only with themselves.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass
from typing import Any

import pytest
from diameter.message import Message as PyMessage
from diameter.message.avp.grouped import RequestedServiceUnit, UsedServiceUnit
from diameter.message.commands.credit_control import CreditControlRequest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conso.diameter import codec
from conso.diameter.codec import HEADER, Avp, Group, Message, ProtocolError
from conso.diameter.dictionary import (
    AVP_MANDATORY,
    AVP_VENDOR,
    FIXED_LENGTH,
    KNOWN,
    VENDOR_3GPP,
    Result,
    Type,
)
from conso.diameter.dictionary import Avp as Code

FUZZ = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# What a defect of the input may be answered, and nothing else (RFC 6733 §7.1).
RFC_RESULTS = {Result.INVALID_HDR_BITS, Result.INVALID_AVP_BITS, Result.AVP_UNSUPPORTED,
               Result.INVALID_AVP_VALUE, Result.MISSING_AVP, Result.AVP_OCCURS_TOO_MANY_TIMES,
               Result.UNSUPPORTED_VERSION, Result.INVALID_AVP_LENGTH,
               Result.INVALID_MESSAGE_LENGTH}


def decoded(avps: list[bytes], *, flags: int = 0x80) -> Message:
    return codec.decode(codec.message(272, 4, avps, flags=flags, hop_by_hop=7, end_to_end=9))


def assert_well_formed_failed_avp(error: ProtocolError) -> None:
    """Failed-AVP holds exactly one AVP whose length is right, so that the answer that
    carries it is itself well formed (RFC 6733 §7.5)."""
    assert error.result in RFC_RESULTS, error.result
    if error.failed is None:
        return
    failed = error.failed
    assert len(failed) % 4 == 0
    assert int.from_bytes(failed[5:8], "big") + 3 & ~3 == len(failed)
    if error.result == Result.INVALID_AVP_BITS:   # the AVP as received, its bits at fault
        assert failed[4] & 0x1F
        failed = failed[:4] + bytes([failed[4] & 0xE0]) + failed[5:]
    [one] = codec.split(failed, 0, len(failed))
    assert one.raw == failed
    answer = codec.message(272, 4, [codec.grouped(Code.FAILED_AVP, [failed])], flags=0,
                           hop_by_hop=1, end_to_end=1)
    [wrapper] = codec.decode(answer).avps
    assert [a.raw for a in wrapper.group()] == [failed]
    assert int.from_bytes(failed[:4], "big") == one.code


# -- round trips -------------------------------------------------------------------------

@pytest.mark.parametrize(("encode", "read", "value", "size"), [
    (codec.u32, Avp.u32, 0, 4),
    (codec.u32, Avp.u32, 2**32 - 1, 4),
    (codec.i32, Avp.i32, -(2**31), 4),
    (codec.i32, Avp.i32, 2**31 - 1, 4),
    (codec.u64, Avp.u64, 2**64 - 1, 8),
    (codec.u64, Avp.u64, 10**12, 8),
    (codec.i64, Avp.i64, -(2**63), 8),
    (codec.i64, Avp.i64, 2**63 - 1, 8),
])
def test_numbers_round_trip(encode: Any, read: Any, value: int, size: int) -> None:
    raw = encode(Code.CC_TOTAL_OCTETS, value)
    assert len(raw) == 8 + size
    assert struct.unpack(">I", raw[4:8])[0] == (AVP_MANDATORY << 24) | (8 + size)
    [avp] = decoded([raw]).avps
    assert (avp.code, avp.vendor, avp.mandatory, avp.raw) == (Code.CC_TOTAL_OCTETS, 0, True, raw)
    assert read(avp) == value


@pytest.mark.parametrize("size", range(10))
def test_octets_are_padded_to_four_bytes_and_read_back_without_padding(size: int) -> None:
    payload = bytes(range(1, size + 1))
    raw = codec.avp(Code.PROXY_STATE, payload, mandatory=False)
    assert len(raw) == 8 + size + (-size % 4)
    assert int.from_bytes(raw[5:8], "big") == 8 + size       # the length leaves padding out
    assert raw[8 + size:] == bytes(-size % 4)                # padding is zeros
    after = codec.u32(Code.RESULT_CODE, 2001)
    first, second = decoded([raw, after]).avps
    assert (first.data, first.flags, first.raw) == (payload, 0, raw)
    assert second.u32() == 2001


@pytest.mark.parametrize("text", ["", "a", "abc", "abcd", "é", "pgw-1.epc.mnc001.mcc206",
                                  "会话;1;ünïcode"])
def test_utf8_round_trips(text: str) -> None:
    [avp] = decoded([codec.utf8(Code.SESSION_ID, text)]).avps
    assert avp.text() == text


def test_vendor_avps_carry_the_v_bit_and_their_vendor() -> None:
    raw = codec.utf8(Code.SGSN_MCC_MNC, "20601", vendor=VENDOR_3GPP)
    assert raw[4] == AVP_VENDOR | AVP_MANDATORY
    assert int.from_bytes(raw[5:8], "big") == 12 + 5
    assert int.from_bytes(raw[8:12], "big") == VENDOR_3GPP
    base = codec.utf8(Code.SGSN_MCC_MNC, "base", mandatory=False)        # same code, vendor 0
    message = decoded([base, raw])
    found = message.avps.find(Code.SGSN_MCC_MNC, VENDOR_3GPP)
    assert found is not None and found.text() == "20601" and found.vendor == VENDOR_3GPP
    plain = message.avps.find(Code.SGSN_MCC_MNC)
    assert plain is not None and plain.text() == "base" and plain.flags == 0
    assert [a.raw for a in message.avps] == [base, raw]


def test_grouped_avps_nest_and_read_back() -> None:
    sgsn = codec.utf8(Code.SGSN_MCC_MNC, "20810", vendor=VENDOR_3GPP)
    ps = codec.grouped(Code.PS_INFORMATION, [sgsn], vendor=VENDOR_3GPP)
    info = codec.grouped(Code.SERVICE_INFORMATION, [ps], vendor=VENDOR_3GPP)
    rsu = codec.grouped(Code.REQUESTED_SERVICE_UNIT, [codec.u64(Code.CC_TOTAL_OCTETS, 5)])
    empty = codec.grouped(Code.USED_SERVICE_UNIT, [])
    mscc = codec.grouped(Code.MULTIPLE_SERVICES_CREDIT_CONTROL,
                         [rsu, empty, codec.u32(Code.RATING_GROUP, 10)])
    message = decoded([info, mscc])
    codec.check(message.avps)
    top = message.avps.find(Code.SERVICE_INFORMATION, VENDOR_3GPP)
    assert top is not None
    inner = top.group().find(Code.PS_INFORMATION, VENDOR_3GPP)
    assert inner is not None
    where = inner.group().find(Code.SGSN_MCC_MNC, VENDOR_3GPP)
    assert where is not None and where.text() == "20810"
    members = message.avps.need(Code.MULTIPLE_SERVICES_CREDIT_CONTROL).group()
    assert [a.code for a in members] == [Code.REQUESTED_SERVICE_UNIT, Code.USED_SERVICE_UNIT,
                                         Code.RATING_GROUP]
    assert list(members.all(Code.USED_SERVICE_UNIT)[0].group()) == []
    requested = members.need(Code.REQUESTED_SERVICE_UNIT).group().need(Code.CC_TOTAL_OCTETS)
    assert requested.u64() == 5


def test_a_group_whose_last_member_is_not_padded_is_read() -> None:
    """Some peers leave the last member of a group unpadded: the lenient reading."""
    member = codec.utf8(Code.SUBSCRIPTION_ID_DATA, "32470")            # 13 bytes + 3
    kind = codec.u32(Code.SUBSCRIPTION_ID_TYPE, 0)
    unpadded = codec.avp(Code.SUBSCRIPTION_ID, kind + member[:13])
    [group] = decoded([unpadded]).avps
    inner = group.group()
    assert inner.need(Code.SUBSCRIPTION_ID_DATA).text() == "32470"
    codec.check([group])


def test_addresses_carry_their_family() -> None:
    v4 = codec.address(Code.HOST_IP_ADDRESS, bytes([10, 0, 0, 1]))
    v6 = codec.address(Code.HOST_IP_ADDRESS, bytes(15) + b"\x01")
    first, second = decoded([v4, v6]).avps
    assert first.data == b"\x00\x01\x0a\x00\x00\x01"
    assert second.data[:2] == b"\x00\x02" and len(second.data) == 18


def test_the_header_round_trips() -> None:
    raw = codec.message(272, 4, [codec.u32(Code.CC_REQUEST_NUMBER, 3)], flags=0xD0,
                        hop_by_hop=0xFFFFFFFF, end_to_end=0x12345678)
    assert codec.header(raw) == (1, len(raw), 0xD0, 272, 4, 0xFFFFFFFF, 0x12345678)
    message = codec.decode(raw)
    assert (message.flags, message.command, message.application, message.hop_by_hop,
            message.end_to_end, message.is_request) == (0xD0, 272, 4, 0xFFFFFFFF,
                                                        0x12345678, True)


def test_python_diameter_reads_what_the_codec_writes() -> None:
    raw = codec.message(272, 4, [
        codec.utf8(Code.SESSION_ID, "pgw;1;2"),
        codec.u32(Code.RESULT_CODE, 2001),
        codec.utf8(Code.ORIGIN_HOST, "conso.localdomain"),
        codec.utf8(Code.ORIGIN_REALM, "localdomain"),
        codec.u32(Code.AUTH_APPLICATION_ID, 4),
        codec.u32(Code.CC_REQUEST_TYPE, 2),
        codec.u32(Code.CC_REQUEST_NUMBER, 7),
        codec.grouped(Code.MULTIPLE_SERVICES_CREDIT_CONTROL, [
            codec.grouped(Code.GRANTED_SERVICE_UNIT, [codec.u64(Code.CC_TOTAL_OCTETS,
                                                                2**40 + 3)]),
            codec.u32(Code.RATING_GROUP, 10),
            codec.u32(Code.VALIDITY_TIME, 600),
            codec.u32(Code.RESULT_CODE, 2001),
        ]),
        codec.grouped(Code.FAILED_AVP, [codec.avp(99_999, b"xyz", vendor=VENDOR_3GPP)]),
    ], flags=0x40, hop_by_hop=11, end_to_end=12)
    answer: Any = PyMessage.from_bytes(raw)
    assert answer.header.command_code == 272 and not answer.header.is_request
    assert answer.header.hop_by_hop_identifier == 11
    assert answer.header.end_to_end_identifier == 12
    assert (answer.session_id, answer.result_code, answer.cc_request_number) == \
        ("pgw;1;2", 2001, 7)
    [mscc] = answer.multiple_services_credit_control
    assert mscc.granted_service_unit.cc_total_octets == 2**40 + 3
    assert (mscc.rating_group, mscc.validity_time, mscc.result_code) == (10, 600, 2001)
    [failed] = answer.failed_avp[0].additional_avps
    assert (failed.code, failed.vendor_id, failed.payload) == (99_999, VENDOR_3GPP, b"xyz")


def test_the_codec_reads_what_python_diameter_writes() -> None:
    request = CreditControlRequest()
    request.header.application_id = 4
    request.header.hop_by_hop_identifier = 21
    request.header.end_to_end_identifier = 22
    request.session_id = "pgw.example;42;1"
    request.origin_host = b"pgw.example"
    request.origin_realm = b"example"
    request.destination_realm = b"localdomain"
    request.service_context_id = "32251@3gpp.org"
    request.cc_request_type = 2
    request.cc_request_number = 5
    request.add_subscription_id(0, "32470000077")
    request.add_multiple_services_credit_control(
        rating_group=10, requested_service_unit=RequestedServiceUnit(cc_total_octets=1000),
        used_service_unit=UsedServiceUnit(cc_total_octets=2**33, cc_time=60))
    raw = bytes(request.as_bytes())
    message = codec.decode(raw)
    codec.check(message.avps)
    avps = message.avps
    assert message.is_request and (message.command, message.application) == (272, 4)
    assert avps.need(Code.SESSION_ID).text() == "pgw.example;42;1"
    assert avps.need(Code.CC_REQUEST_NUMBER).u32() == 5
    subscription = avps.need(Code.SUBSCRIPTION_ID).group()
    assert subscription.need(Code.SUBSCRIPTION_ID_DATA).text() == "32470000077"
    mscc = avps.need(Code.MULTIPLE_SERVICES_CREDIT_CONTROL).group()
    used = mscc.need(Code.USED_SERVICE_UNIT).group()
    assert used.need(Code.CC_TOTAL_OCTETS).u64() == 2**33
    assert used.need(Code.CC_TIME).u32() == 60
    assert b"".join(reencode(avps)) == raw[HEADER:]


# -- refusals, one by one ------------------------------------------------------------------

def test_short_or_wrong_headers_are_refused() -> None:
    good = codec.message(280, 0, [], flags=0x80, hop_by_hop=1, end_to_end=2)
    for data, result in [
        (b"", Result.INVALID_MESSAGE_LENGTH),
        (good[:19], Result.INVALID_MESSAGE_LENGTH),
        (b"\x02" + good[1:], Result.UNSUPPORTED_VERSION),
        (good + bytes(4), Result.INVALID_MESSAGE_LENGTH),                 # length says 20
        (good[:1] + (21).to_bytes(3, "big") + good[4:] + b"\0", Result.INVALID_MESSAGE_LENGTH),
        (good[:4] + b"\xa0" + good[5:], Result.INVALID_HDR_BITS),         # R and E
    ]:
        with pytest.raises(ProtocolError) as refused:
            codec.decode(data)
        assert refused.value.result == result, data


def test_reserved_header_bits_are_ignored() -> None:
    """RFC 6733 §3: the r bits "MUST be set to 0 and ignored by the receiver"."""
    raw = codec.message(280, 0, [], flags=0x8F, hop_by_hop=1, end_to_end=2)
    assert codec.decode(raw).is_request


def test_a_number_of_the_wrong_size_is_5014_naming_it() -> None:
    bad = codec.avp(Code.CC_REQUEST_NUMBER, b"\x00\x01")
    [avp] = decoded([bad]).avps
    with pytest.raises(ProtocolError) as refused:
        avp.u32()
    assert (refused.value.result, refused.value.failed) == (Result.INVALID_AVP_LENGTH, bad)
    with pytest.raises(ProtocolError) as checked:
        codec.check([avp])
    assert (checked.value.result, checked.value.failed) == (Result.INVALID_AVP_LENGTH, bad)


def test_text_that_is_not_utf8_is_5004() -> None:
    [avp] = decoded([codec.avp(Code.SESSION_ID, b"\xff\xfe")]).avps
    with pytest.raises(ProtocolError) as refused:
        avp.text()
    assert refused.value.result == Result.INVALID_AVP_VALUE
    assert refused.value.failed == avp.raw


def test_a_missing_avp_is_5005_with_a_zeroed_example() -> None:
    group = Group([])
    with pytest.raises(ProtocolError) as refused:
        group.need(Code.CC_REQUEST_NUMBER)
    assert refused.value.result == Result.MISSING_AVP
    assert refused.value.failed == codec.u32(Code.CC_REQUEST_NUMBER, 0)
    with pytest.raises(ProtocolError) as vendor:
        group.need(Code.SGSN_MCC_MNC, VENDOR_3GPP)
    assert vendor.value.failed == codec.avp(Code.SGSN_MCC_MNC, b"", vendor=VENDOR_3GPP)


def test_an_avp_twice_where_once_is_allowed_is_5009_naming_the_second() -> None:
    first, second = codec.u32(Code.REQUESTED_ACTION, 0), codec.u32(Code.REQUESTED_ACTION, 2)
    avps = decoded([first, second]).avps
    with pytest.raises(ProtocolError) as refused:
        avps.one(Code.REQUESTED_ACTION)
    assert (refused.value.result, refused.value.failed) == \
        (Result.AVP_OCCURS_TOO_MANY_TIMES, second)


def test_unknown_avps_are_refused_only_with_the_m_bit() -> None:
    unknown = codec.avp(99_999, b"data", mandatory=True)
    tolerated = codec.avp(99_998, b"data", mandatory=False)
    codec.check(decoded([tolerated]).avps)
    with pytest.raises(ProtocolError) as refused:
        codec.check(decoded([tolerated, unknown]).avps)
    assert (refused.value.result, refused.value.failed) == (Result.AVP_UNSUPPORTED, unknown)

    # inside a known group: found, and named itself
    nested = codec.grouped(Code.MULTIPLE_SERVICES_CREDIT_CONTROL,
                           [codec.u32(Code.RATING_GROUP, 10), unknown])
    with pytest.raises(ProtocolError) as deeper:
        codec.check(decoded([nested]).avps)
    assert (deeper.value.result, deeper.value.failed) == (Result.AVP_UNSUPPORTED, unknown)

    # inside an unknown group without the M bit: its content is opaque (RFC 6733 §4.4)
    codec.check(decoded([codec.grouped(99_997, [unknown], mandatory=False)]).avps)
    # a 3GPP code conso knows is unknown under another vendor
    other_vendor = codec.utf8(Code.SGSN_MCC_MNC, "20601", vendor=12345)
    with pytest.raises(ProtocolError) as vendor:
        codec.check(decoded([other_vendor]).avps)
    assert vendor.value.failed == other_vendor


def test_groups_nested_too_deep_are_refused() -> None:
    avp = codec.u32(Code.RATING_GROUP, 1)
    for _ in range(12):
        avp = codec.grouped(Code.PROXY_INFO, [avp])
    with pytest.raises(ProtocolError) as refused:
        codec.check(decoded([avp]).avps)
    assert refused.value.result in RFC_RESULTS


def test_reserved_avp_bits_are_3009() -> None:
    raw = bytearray(codec.u32(Code.RATING_GROUP, 1))
    raw[4] |= 0x01
    with pytest.raises(ProtocolError) as refused:
        decoded([bytes(raw)])
    assert refused.value.result == Result.INVALID_AVP_BITS
    assert_well_formed_failed_avp(refused.value)


@pytest.mark.parametrize(("length", "failed"), [
    (0, codec.u32(Code.CC_REQUEST_NUMBER, 0)),          # shorter than a header
    (7, codec.u32(Code.CC_REQUEST_NUMBER, 0)),
    (0xFFFFFF, codec.u32(Code.CC_REQUEST_NUMBER, 0)),   # past the message's end
])
def test_a_wrong_avp_length_is_5014_with_a_well_formed_failed_avp(length: int,
                                                                  failed: bytes) -> None:
    raw = bytearray(codec.u32(Code.CC_REQUEST_NUMBER, 3))
    raw[5:8] = length.to_bytes(3, "big")
    with pytest.raises(ProtocolError) as refused:
        decoded([codec.utf8(Code.SESSION_ID, "s"), bytes(raw)])
    assert refused.value.result == Result.INVALID_AVP_LENGTH
    assert refused.value.failed == failed
    assert_well_formed_failed_avp(refused.value)


def test_a_vendor_avp_cut_inside_its_header_is_named_with_its_vendor_bit() -> None:
    raw = codec.message(272, 4, [], flags=0x80, hop_by_hop=1, end_to_end=1)
    cut = codec.avp(Code.SERVICE_INFORMATION, b"", vendor=VENDOR_3GPP)[:8]
    cut = cut[:5] + (12).to_bytes(3, "big")
    with pytest.raises(ProtocolError) as refused:
        codec.decode(raw[:1] + (len(raw) + 8).to_bytes(3, "big") + raw[4:] + cut)
    assert refused.value.result == Result.INVALID_AVP_LENGTH
    assert refused.value.failed is not None
    assert refused.value.failed[4] & AVP_VENDOR
    assert_well_formed_failed_avp(refused.value)


def test_bytes_left_over_inside_a_group_name_the_group() -> None:
    inner = codec.u32(Code.RATING_GROUP, 10) + b"\0\0\0\0"
    group = codec.avp(Code.MULTIPLE_SERVICES_CREDIT_CONTROL, inner)
    [avp] = decoded([group]).avps
    with pytest.raises(ProtocolError) as refused:
        avp.group()
    assert refused.value.result == Result.INVALID_AVP_LENGTH
    assert refused.value.failed == codec.avp(Code.MULTIPLE_SERVICES_CREDIT_CONTROL, b"")
    assert_well_formed_failed_avp(refused.value)


# -- fuzzing: any bytes --------------------------------------------------------------------

def read_everything(avps: list[Avp] | Group, depth: int = 0) -> None:
    """Every accessor on every AVP, as far down as groups go: ProtocolError or a value."""
    for avp in avps:
        for read in (Avp.u32, Avp.i32, Avp.u64, Avp.i64, Avp.text):
            try:
                read(avp)
            except ProtocolError as exc:
                assert_well_formed_failed_avp(exc)
        if depth < 4:
            try:
                inner = avp.group()
            except ProtocolError as exc:
                assert_well_formed_failed_avp(exc)
            else:
                read_everything(inner, depth + 1)


def framed(body: bytes, flags: int = 0x80) -> bytes:
    """A header that agrees with `body`'s length, so the fuzz reaches the AVPs."""
    body = body + bytes(-len(body) % 4)
    return codec.message(272, 4, [body], flags=flags, hop_by_hop=1, end_to_end=2)


@FUZZ
@given(st.binary(max_size=200))
@example(b"")
@example(b"\x01\x00\x00\x14")
@example(bytes(19))
def test_any_bytes_decode_or_fail_with_a_protocol_error(data: bytes) -> None:
    for candidate in (data, framed(data)):
        try:
            message = codec.decode(candidate)
        except ProtocolError as exc:
            assert_well_formed_failed_avp(exc)
            continue
        try:
            codec.check(message.avps)
        except ProtocolError as exc:
            assert_well_formed_failed_avp(exc)
        read_everything(message.avps)


@FUZZ
@given(st.binary(max_size=200), st.integers(0, 8))
def test_any_bytes_split_and_check_or_fail_with_a_protocol_error(data: bytes,
                                                                  start: int) -> None:
    for begin, end in ((0, len(data)), (min(start, len(data)), len(data))):
        try:
            avps = codec.split(data, begin, end)
        except ProtocolError as exc:
            assert_well_formed_failed_avp(exc)
            continue
        try:
            codec.check(avps)
        except ProtocolError as exc:
            assert_well_formed_failed_avp(exc)
        read_everything(avps)


# -- fuzzing: well-formed messages of random AVP trees ----------------------------------------

@dataclass(frozen=True)
class Node:
    code: int
    vendor: int
    mandatory: bool
    payload: bytes | tuple[Node, ...]     # a tuple: a known grouped AVP's members

    def encode(self) -> bytes:
        if isinstance(self.payload, tuple):
            return codec.grouped(self.code, [n.encode() for n in self.payload],
                                 vendor=self.vendor, mandatory=self.mandatory)
        return codec.avp(self.code, self.payload, vendor=self.vendor,
                         mandatory=self.mandatory)


KNOWN_GROUPED = sorted(k for k, t in KNOWN.items() if t is Type.GROUPED)
KNOWN_PLAIN = sorted(k for k, t in KNOWN.items() if t is not Type.GROUPED)


def _known_plain(key: tuple[int, int]) -> st.SearchStrategy[Node]:
    size = FIXED_LENGTH.get(KNOWN[key])
    right = st.binary(min_size=size, max_size=size) if size else st.binary(max_size=24)
    # now and then a number of the wrong size: the 5014 that `check` must find
    payload = st.one_of(right, right, right, st.binary(max_size=12)) if size else right
    return st.builds(Node, st.just(key[0]), st.just(key[1]), st.booleans(), payload)


unknown_keys = st.tuples(st.integers(1, 2**32 - 1),
                         st.sampled_from([0, 0, VENDOR_3GPP, 5535, 2**32 - 1])
                         ).filter(lambda key: key not in KNOWN)

leaves = st.one_of(
    st.sampled_from(KNOWN_PLAIN).flatmap(_known_plain),
    st.builds(lambda key, mandatory, payload: Node(key[0], key[1], mandatory, payload),
              unknown_keys, st.booleans(), st.binary(max_size=24)),
)


def _grouped(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    return st.builds(lambda key, mandatory, members: Node(key[0], key[1], mandatory,
                                                          tuple(members)),
                     st.sampled_from(KNOWN_GROUPED), st.booleans(),
                     st.lists(children, max_size=4))


trees = st.recursive(leaves, _grouped, max_leaves=12)
header_flags = st.sampled_from([0x80, 0xC0, 0x90, 0xD0, 0x00, 0x40, 0x20, 0x60]).flatmap(
    lambda flags: st.integers(0, 15).map(lambda reserved: flags | reserved))


def expected_refusal(nodes: tuple[Node, ...] | list[Node],
                     depth: int = 0) -> tuple[int, bytes | None] | None:
    """What RFC 6733 says of this tree, in the order `check` reads it: the first
    unknown AVP with the M bit is 5001, a known number of the wrong size 5014."""
    if depth > 8:
        return Result.INVALID_AVP_VALUE, None
    for node in nodes:
        kind = KNOWN.get((node.code, node.vendor))
        if kind is None:
            if node.mandatory:
                return Result.AVP_UNSUPPORTED, node.encode()
            continue
        size = FIXED_LENGTH.get(kind)
        if size is not None and isinstance(node.payload, bytes) and len(node.payload) != size:
            return Result.INVALID_AVP_LENGTH, node.encode()
        if isinstance(node.payload, tuple):
            found = expected_refusal(node.payload, depth + 1)
            if found is not None:
                return found
    return None


def reencode(avps: list[Avp] | Group) -> list[bytes]:
    """Encode decoded AVPs again, members of known groups one by one."""
    out = []
    for avp in avps:
        vendor_bit = bool(avp.flags & AVP_VENDOR)
        if KNOWN.get((avp.code, avp.vendor)) is Type.GROUPED:
            out.append(codec.avp(avp.code, b"".join(reencode(avp.group())), vendor=avp.vendor,
                                 mandatory=avp.mandatory, vendor_bit=vendor_bit))
        else:
            out.append(codec.avp(avp.code, avp.data, vendor=avp.vendor,
                                 mandatory=avp.mandatory, vendor_bit=vendor_bit))
    return out


def as_nodes(avps: list[Avp] | Group) -> tuple[Node, ...]:
    return tuple(
        Node(a.code, a.vendor, a.mandatory,
             as_nodes(a.group()) if KNOWN.get((a.code, a.vendor)) is Type.GROUPED else a.data)
        for a in avps)


@FUZZ
@given(st.lists(trees, max_size=6), header_flags,
       st.tuples(st.integers(0, 2**24 - 1), st.integers(0, 2**32 - 1),
                 st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)))
def test_well_formed_messages_decode_and_encode_to_the_same_bytes(
        nodes: list[Node], flags: int, ids: tuple[int, int, int, int]) -> None:
    command, application, hop_by_hop, end_to_end = ids
    raw = codec.message(command, application, [n.encode() for n in nodes], flags=flags,
                        hop_by_hop=hop_by_hop, end_to_end=end_to_end)
    message = codec.decode(raw)                       # never refused: it is well formed
    assert (message.flags, message.command, message.application, message.hop_by_hop,
            message.end_to_end) == (flags, command, application, hop_by_hop, end_to_end)
    assert as_nodes(message.avps) == tuple(nodes)
    assert b"".join(reencode(message.avps)) == raw[HEADER:]
    assert codec.message(command, application, reencode(message.avps), flags=flags,
                         hop_by_hop=hop_by_hop, end_to_end=end_to_end) == raw
    refusal = expected_refusal(nodes)
    if refusal is None:
        codec.check(message.avps)
        return
    with pytest.raises(ProtocolError) as refused:
        codec.check(message.avps)
    assert refused.value.result == refusal[0]
    if refusal[1] is not None:
        assert refused.value.failed == refusal[1]
    assert_well_formed_failed_avp(refused.value)


# -- fuzzing: mutations of a real CCR ---------------------------------------------------------

CCR = codec.message(272, 4, [
    codec.utf8(Code.SESSION_ID, "pgw.example;1700000000;42"),
    codec.utf8(Code.ORIGIN_HOST, "pgw.example"),
    codec.utf8(Code.ORIGIN_REALM, "example"),
    codec.utf8(Code.DESTINATION_REALM, "localdomain"),
    codec.u32(Code.AUTH_APPLICATION_ID, 4),
    codec.utf8(Code.SERVICE_CONTEXT_ID, "32251@3gpp.org"),
    codec.u32(Code.CC_REQUEST_TYPE, 2),
    codec.u32(Code.CC_REQUEST_NUMBER, 3),
    codec.grouped(Code.SUBSCRIPTION_ID, [codec.u32(Code.SUBSCRIPTION_ID_TYPE, 0),
                                         codec.utf8(Code.SUBSCRIPTION_ID_DATA, "32470000077")]),
    codec.grouped(Code.MULTIPLE_SERVICES_CREDIT_CONTROL, [
        codec.grouped(Code.REQUESTED_SERVICE_UNIT, [codec.u64(Code.CC_TOTAL_OCTETS, 10**7)]),
        codec.grouped(Code.USED_SERVICE_UNIT, [codec.u64(Code.CC_INPUT_OCTETS, 123),
                                               codec.u64(Code.CC_OUTPUT_OCTETS, 456)]),
        codec.u32(Code.RATING_GROUP, 10),
    ]),
    codec.grouped(Code.SERVICE_INFORMATION, [
        codec.grouped(Code.PS_INFORMATION, [
            codec.utf8(Code.SGSN_MCC_MNC, "20601", vendor=VENDOR_3GPP)], vendor=VENDOR_3GPP),
    ], vendor=VENDOR_3GPP),
], flags=0xC0, hop_by_hop=0x0A0B0C0D, end_to_end=0x01020304)


def _avp_offsets(data: bytes, offset: int, end: int, out: list[tuple[int, int, int]]) -> None:
    """(offset, code, end of its container) of every AVP of a well-formed message."""
    for avp in codec.split(data, offset, end):
        out.append((offset, avp.code, end))
        if KNOWN.get((avp.code, avp.vendor)) is Type.GROUPED:
            head = 12 if avp.flags & AVP_VENDOR else 8
            _avp_offsets(data, offset + head, offset + head + len(avp.data), out)
        offset += len(avp.raw)


AVP_OFFSETS: list[tuple[int, int, int]] = []
_avp_offsets(CCR, HEADER, len(CCR), AVP_OFFSETS)


def read_like_conso(data: bytes) -> ProtocolError | None:
    """Decode, check, and read every known AVP by its type, as the credit-control
    application does: None, or the ProtocolError that refuses the message."""
    try:
        message = codec.decode(data)
        codec.check(message.avps)
        _read_known(message.avps)
        for code in (Code.SESSION_ID, Code.ORIGIN_HOST, Code.CC_REQUEST_NUMBER):
            message.avps.need(code)
    except ProtocolError as exc:
        assert_well_formed_failed_avp(exc)
        return exc
    return None


def _read_known(avps: Group) -> None:
    for avp in avps:
        kind = KNOWN.get((avp.code, avp.vendor))
        if kind is Type.GROUPED:
            _read_known(avp.group())
        elif kind in (Type.UNSIGNED32, Type.ENUMERATED, Type.TIME):
            avp.u32()
        elif kind is Type.UNSIGNED64:
            avp.u64()
        elif kind is Type.INTEGER64:
            avp.i64()
        elif kind is Type.UTF8:
            avp.text()


def test_the_ccr_under_mutation_is_itself_read_whole() -> None:
    assert read_like_conso(CCR) is None
    assert len(AVP_OFFSETS) == 21


@FUZZ
@given(st.integers(0, len(CCR) - 1), st.booleans())
def test_a_truncated_ccr_is_refused(cut: int, fix_the_length: bool) -> None:
    data = CCR[:cut]
    if fix_the_length and cut >= HEADER:
        cut -= cut % 4
        data = CCR[:1] + cut.to_bytes(3, "big") + CCR[4:cut]
    refused = read_like_conso(data)
    if not fix_the_length or cut < HEADER:
        assert refused is not None
        assert refused.result == Result.INVALID_MESSAGE_LENGTH
    elif refused is not None:
        assert refused.result in RFC_RESULTS


@FUZZ
@given(st.integers(0, len(CCR) - 1), st.integers(1, 255))
def test_a_ccr_with_a_byte_changed_is_refused_sensibly_or_read(position: int,
                                                                change: int) -> None:
    data = bytearray(CCR)
    data[position] ^= change
    refused = read_like_conso(bytes(data))
    if position == 0:
        assert refused is not None and refused.result == Result.UNSUPPORTED_VERSION
    elif position < 4:
        assert refused is not None and refused.result == Result.INVALID_MESSAGE_LENGTH
    elif position == 4 and data[4] & 0xA0 == 0xA0:
        assert refused is not None and refused.result == Result.INVALID_HDR_BITS
    elif position < HEADER:
        assert refused is None        # other flags, command, application, identifiers
    elif refused is not None:
        assert refused.result in RFC_RESULTS


@FUZZ
@given(st.sampled_from(AVP_OFFSETS), st.integers(0, 2**24 - 1))
def test_a_ccr_with_a_wrong_avp_length_is_refused_naming_it(where: tuple[int, int, int],
                                                            length: int) -> None:
    offset, code, end = where
    data = bytearray(CCR)
    real = int.from_bytes(data[offset + 5:offset + 8], "big")
    data[offset + 5:offset + 8] = length.to_bytes(3, "big")
    refused = read_like_conso(bytes(data))
    head = 12 if data[offset + 4] & AVP_VENDOR else 8
    if length == real:
        assert refused is None
    elif length < head or offset + length > end:
        assert refused is not None
        assert refused.result == Result.INVALID_AVP_LENGTH
        assert refused.failed is not None
        assert int.from_bytes(refused.failed[:4], "big") == code
    elif refused is not None:
        assert refused.result in RFC_RESULTS


def test_refusals_of_one_peer_are_logged_a_burst_at_a_time(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    from conso.diameter import server

    now = [100.0]
    monkeypatch.setattr(server.time, "monotonic", lambda: now[0])
    refusals = server.RefusalLog(burst=3, window=10.0)
    with caplog.at_level(logging.WARNING, logger="conso.diameter"):
        for n in range(50):
            refusals.warn("flooder", "refused %d", n)
        refusals.warn("other", "refused other")
        now[0] += 11
        refusals.warn("flooder", "refused again")
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["refused 0", "refused 1", "refused 2", "refused other",
                     "diameter peer flooder: 47 more refusals in 11 s not logged one by one",
                     "refused again"]
