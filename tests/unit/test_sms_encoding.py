"""Texts to SMPP segments and back (conso.sms.smpp.encoding), against sms.md."""

from __future__ import annotations

import pytest
import smpplib.gsm  # type: ignore[import-untyped]
import smpplib.smpp  # type: ignore[import-untyped]
from hypothesis import given
from hypothesis import strategies as st

from conso.sms.reassembly import Reassembler
from conso.sms.smpp import encoding as enc
from conso.sms.smpp import pdu as p

FRENCH_150 = ("Bonjour, votre forfait à 15 € est épuisé à 90 %. Il sera renouvelé "
              "le 1er du mois. Répondez SOLDE au 1921 pour le détail. Merci et très bonne soirée !")
GSM_400 = ("Your bundle is used up; top up with SOLDE or call 1921. " * 8)[:400]

DEFAULT_ALPHABET = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
                    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
EXTENSION = "\f^{}\\[~]|€"

SOURCE, DESTINATION = p.Address(1, 1, "32470000001"), p.Address(3, 0, "1921")


class _Sequences:
    """smpplib builds requests only with a client that numbers them."""

    sequence = 0

    def next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence


def deliver(segment: enc.Segment) -> p.DeliverSm:
    """The deliver_sm an SMSC would pass on for a segment, through the wire format."""
    body = p.DeliverSm(SOURCE, DESTINATION, segment.short_message, segment.data_coding,
                       esm_class=segment.esm_class, tlvs=segment.tlvs)
    decoded = p.decode_pdu(p.encode_pdu(p.Pdu(body, 1))).body
    assert isinstance(decoded, p.DeliverSm)
    return decoded


def read(segment: enc.Segment) -> enc.InboundText:
    return enc.read_user_data(deliver(segment))


def reassemble(parts: list[enc.Segment]) -> str:
    assembler = Reassembler()
    results = [assembler.add("+32470000001", "1921", read(s)) for s in parts]
    assert results[:-1] == [None] * (len(parts) - 1)
    assert results[-1] is not None
    return results[-1]


def udh_of(segment: enc.Segment) -> bytes:
    return segment.short_message[:6]


# ---------------------------------------------------------------- the alphabet

def test_the_codec_has_the_default_alphabet_and_the_basic_extension_table() -> None:
    assert len(DEFAULT_ALPHABET) == 127                     # 128 less the escape
    assert enc.is_gsm(DEFAULT_ALPHABET + EXTENSION)
    assert enc.septets(DEFAULT_ALPHABET) == 127
    assert enc.septets(EXTENSION) == 20
    [single] = enc.segments("@£$ Δ_ €[", reference=0)
    assert single.short_message == b"\x00\x01\x02\x20\x10\x11\x20\x1b\x65\x1b\x3c"


@pytest.mark.parametrize("char", ["ç", "ê", "ô", "`", "\x1b", "中", "😀", "\t", "À"])
def test_characters_outside_gsm(char: str) -> None:
    assert not enc.is_gsm("abc" + char)
    with pytest.raises(ValueError, match="GSM"):
        enc.septets(char)


@given(st.text(alphabet=DEFAULT_ALPHABET.replace("§", "") + EXTENSION.replace("\f", ""),
               max_size=80))
def test_the_codec_agrees_with_smpplibs_independent_table(text: str) -> None:
    # smpplib's table has ` where 3GPP TS 23.038 has § (0x5F), and lacks the form
    # feed of the extension table; elsewhere the two agree.
    [segment] = enc.segments(text, reference=0)
    assert segment.short_message == smpplib.gsm.gsm_encode(text)


# ---------------------------------------------------------------- outgoing

def test_a_150_character_french_text_is_one_gsm_segment() -> None:
    assert len(FRENCH_150) == 150
    assert all(c in FRENCH_150 for c in "éèà€")
    [segment] = enc.segments(FRENCH_150, reference=9)
    assert (segment.data_coding, segment.esm_class, segment.tlvs) == (0, 0, ())
    assert len(segment.short_message) == 151                  # € is two septets
    assert read(segment) == enc.InboundText(FRENCH_150, None)


def test_a_400_character_gsm_text_is_three_parts_with_one_reference() -> None:
    parts = enc.segments(GSM_400, reference=0x1A7)
    assert len(parts) == 3
    assert [udh_of(s) for s in parts] == [bytes([5, 0, 3, 0xA7, 3, n]) for n in (1, 2, 3)]
    assert all((s.data_coding, s.esm_class, s.tlvs) == (0, 0x40, ()) for s in parts)
    assert [len(s.short_message) - 6 for s in parts] == [153, 153, 94]
    assert [read(s).concat for s in parts] == [enc.Concat(0xA7, 3, n) for n in (1, 2, 3)]
    assert reassemble(parts) == GSM_400
    assert reassemble(parts[::-1]) == GSM_400


def test_160_septets_are_one_segment_161_two() -> None:
    assert len(enc.segments("a" * 160, reference=0)) == 1
    assert len(enc.segments("a" * 159 + "€", reference=0)) == 2      # 161 septets
    assert len(enc.segments("a" * 158 + "€", reference=0)) == 1      # 160 septets


def test_an_escape_sequence_is_never_split() -> None:
    text = "a" * 152 + "€" + "b" * 10
    first, second = enc.segments(text, reference=1)
    assert first.short_message[6:] == b"a" * 152
    assert second.short_message[6:8] == b"\x1b\x65"
    assert reassemble([first, second]) == text


def test_sar_mode() -> None:
    parts = enc.segments(GSM_400, reference=0x1F2A3, long_mode="sar")
    assert len(parts) == 3
    for number, segment in enumerate(parts, start=1):
        assert (segment.data_coding, segment.esm_class) == (0, 0)
        assert segment.tlvs == (p.Tlv(p.TAG_SAR_MSG_REF_NUM, b"\xf2\xa3"),
                                p.Tlv(p.TAG_SAR_TOTAL_SEGMENTS, b"\x03"),
                                p.Tlv(p.TAG_SAR_SEGMENT_SEQNUM, bytes([number])))
        assert read(segment).concat == enc.Concat(0xF2A3, 3, number)
    assert [len(s.short_message) for s in parts] == [153, 153, 94]
    assert reassemble(parts) == GSM_400


def test_payload_mode() -> None:
    [segment] = enc.segments(GSM_400, reference=5, long_mode="payload")
    assert (segment.data_coding, segment.short_message, segment.esm_class) == (0, b"", 0)
    assert segment.tlvs == (p.Tlv(p.TAG_MESSAGE_PAYLOAD, GSM_400.encode("ascii")),)
    assert read(segment) == enc.InboundText(GSM_400, None)
    chinese = "话费余额" * 30
    [ucs2] = enc.segments(chinese, reference=5, long_mode="payload")
    assert ucs2.tlvs == (p.Tlv(p.TAG_MESSAGE_PAYLOAD, chinese.encode("utf-16-be")),)
    assert read(ucs2).text == chinese


@pytest.mark.parametrize("mode", enc.LONG_MODES)
def test_a_short_text_is_one_plain_segment_in_every_mode(mode: enc.LongMode) -> None:
    assert enc.segments("SOLDE", reference=3, long_mode=mode) == [
        enc.Segment(0, b"SOLDE", 0, ())]
    assert enc.segments("", reference=3, long_mode=mode) == [enc.Segment(0, b"", 0, ())]


def test_a_chinese_character_makes_ucs2_with_the_70_71_boundary() -> None:
    [single] = enc.segments("中" + "a" * 69, reference=0)
    assert (single.data_coding, single.esm_class) == (8, 0)
    assert single.short_message == ("中" + "a" * 69).encode("utf-16-be")
    parts = enc.segments("中" + "a" * 70, reference=0)
    assert len(parts) == 2
    assert all(s.data_coding == 8 and s.esm_class == 0x40 for s in parts)
    assert [len(s.short_message) - 6 for s in parts] == [134, 8]
    assert reassemble(parts) == "中" + "a" * 70


def test_a_surrogate_pair_is_never_split_and_counts_two_units() -> None:
    text = "a" * 66 + "😀" + "bcd"                                  # 71 units
    first, second = enc.segments(text, reference=0)
    assert first.short_message[6:] == ("a" * 66).encode("utf-16-be")
    assert second.short_message[6:] == "😀bcd".encode("utf-16-be")
    assert len(enc.segments("😀" * 35, reference=0)) == 1
    assert len(enc.segments("😀" * 35 + "a", reference=0)) == 2


def test_references_are_masked_to_their_width() -> None:
    assert udh_of(enc.segments(GSM_400, reference=300)[0])[3] == 300 & 0xFF
    assert udh_of(enc.segments(GSM_400, reference=-1)[0])[3] == 0xFF


def test_at_most_255_parts() -> None:
    assert len(enc.segments("a" * 153 * 255, reference=0)) == 255
    for mode in enc.LONG_MODES:
        with pytest.raises(ValueError, match="256 parts"):
            enc.segments("a" * (153 * 255 + 1), reference=0, long_mode=mode)
    with pytest.raises(ValueError, match="256 parts"):
        enc.segments("中" * (67 * 255 + 1), reference=0)


def test_an_unknown_mode_and_lone_surrogates() -> None:
    with pytest.raises(ValueError, match="long_mode"):
        enc.segments("hi", reference=0, long_mode="split")  # type: ignore[arg-type]
    [segment] = enc.segments("a\ud800b", reference=0)
    assert segment.short_message == "a\ufffdb".encode("utf-16-be")
    assert enc.mend_surrogates("\ud83d\ude00 \udc00") == "😀 \ufffd"


# ---------------------------------------------------------------- properties

gsm_texts = st.text(alphabet=DEFAULT_ALPHABET + EXTENSION, max_size=700)
ucs2_texts = st.builds(lambda text, at: text[:at] + "中" + text[at:],
                       st.text(alphabet=st.characters(codec="utf-8"), max_size=400),
                       st.integers(min_value=0, max_value=400))
any_texts = st.one_of(gsm_texts, ucs2_texts, st.text(max_size=500))


@given(gsm_texts, st.integers(min_value=0, max_value=255))
def test_gsm_parts_join_to_the_text_and_hold_at_most_153_septets(text: str,
                                                                 reference: int) -> None:
    parts = enc.segments(text, reference=reference)
    assert all(s.data_coding == 0 for s in parts)
    if len(parts) == 1:
        assert enc.decode_gsm(parts[0].short_message) == text
        assert enc.septets(text) <= 160
        return
    user_data = [s.short_message[6:] for s in parts]
    assert all(len(octets) <= 153 for octets in user_data)
    assert not any(octets.endswith(b"\x1b") for octets in user_data)
    pieces = [enc.decode_gsm(octets) for octets in user_data]
    assert "".join(pieces) == text
    assert [len(octets) for octets in user_data] == [enc.septets(x) for x in pieces]


@given(ucs2_texts)
def test_ucs2_parts_never_split_a_surrogate_pair(text: str) -> None:
    parts = enc.segments(text, reference=7)
    assert all(s.data_coding == 8 for s in parts)
    user_data = [s.short_message[6:] if len(parts) > 1 else s.short_message for s in parts]
    assert all(len(octets) <= (134 if len(parts) > 1 else 140) for octets in user_data)
    # each part decodes on its own, strictly: no half of a pair at either end
    assert "".join(octets.decode("utf-16-be") for octets in user_data) == text


@given(any_texts, st.sampled_from(enc.LONG_MODES), st.integers(min_value=0, max_value=65535))
def test_round_trip_through_read_user_data_in_every_mode(text: str, mode: enc.LongMode,
                                                         reference: int) -> None:
    parts = enc.segments(text, reference=reference, long_mode=mode)
    assert reassemble(parts) == text
    if len(parts) > 1:
        concat = [read(s).concat for s in parts]
        ref = reference & (0xFF if mode == "udh" else 0xFFFF)
        assert concat == [enc.Concat(ref, len(parts), n) for n in range(1, len(parts) + 1)]


# ---------------------------------------------------------------- incoming

def body(short_message: bytes, *, data_coding: int = 0, esm_class: int = 0,
         tlvs: tuple[p.Tlv, ...] = ()) -> p.DeliverSm:
    return p.DeliverSm(SOURCE, DESTINATION, short_message, data_coding,
                       esm_class=esm_class, tlvs=tlvs)


def test_codings_read() -> None:
    assert enc.read_user_data(body(b"\x00\x1b\x65 \x7f")).text == "@€ à"
    assert enc.read_user_data(body("crédit".encode("latin-1"))).text == "crédit"   # > 0x7F
    assert enc.read_user_data(body(b"hello", data_coding=1)).text == "hello"
    assert enc.read_user_data(body("é".encode("latin-1"), data_coding=3)).text == "é"
    assert enc.read_user_data(body("中😀".encode("utf-16-be"), data_coding=8)).text == "中😀"
    for coding in (2, 4, 0xF5):
        with pytest.raises(ValueError, match=f"0x{coding:02X}"):
            enc.read_user_data(body(b"\x01", data_coding=coding))


def test_gsm_escapes_read_as_3gpp_ts_23038_says() -> None:
    assert enc.decode_gsm(b"a\x1bA") == "aA"          # no such extension: default char
    assert enc.decode_gsm(b"a\x1b") == "a "           # escape at the end: a space
    assert enc.decode_gsm(b"\x1b\x1bb") == " b"       # escape to another table: a space
    with pytest.raises(ValueError, match="0x80"):
        enc.decode_gsm(b"\x80")


def test_message_payload_wins_over_short_message() -> None:
    inbound = enc.read_user_data(body(b"short", tlvs=(p.Tlv(p.TAG_MESSAGE_PAYLOAD,
                                                             b"payload"),)))
    assert inbound == enc.InboundText("payload", None)


def test_other_information_elements_are_skipped_and_the_16_bit_reference_read() -> None:
    header = bytes([0x0C, 0x24, 0x01, 0x02, 0x08, 0x04, 0x12, 0x34, 0x02, 0x01,
                    0x25, 0x01, 0x02])                # language shifts around concat 16
    inbound = enc.read_user_data(body(header + b"hi", esm_class=0x40))
    assert inbound == enc.InboundText("hi", enc.Concat(0x1234, 2, 1))
    assert enc.read_user_data(body(b"\x00hi", esm_class=0x40)) == enc.InboundText("hi")


def test_a_ucs2_part_keeps_half_a_pair_for_reassembly() -> None:
    octets = "ab😀".encode("utf-16-be")
    first = body(bytes([5, 0, 3, 1, 2, 1]) + octets[:-2], data_coding=8, esm_class=0x40)
    second = body(bytes([5, 0, 3, 1, 2, 2]) + octets[-2:] + b"\x00c", data_coding=8,
                  esm_class=0x40)
    assembler = Reassembler()
    assert assembler.add("a", "b", enc.read_user_data(first)) is None
    assert assembler.add("a", "b", enc.read_user_data(second)) == "ab😀c"
    whole = body(octets[:-2] + b"\x00", data_coding=8)                # odd, lone half
    assert enc.read_user_data(whole).text == "ab\ufffd"


@pytest.mark.parametrize(("user_data", "message"), [
    (b"", "empty"),
    (b"\x05\x00\x03\x01", "longer than"),
    (b"\x03\x00\x03\x01hello", "runs past"),
    (b"\x01\x00hello", "ends inside"),
    (b"\x05\x00\x03\x01\x00\x01hi", "part count of 0"),
    (b"\x05\x00\x03\x01\x02\x00hi", "part number 0 of 2"),
    (b"\x05\x00\x03\x01\x02\x03hi", "part number 3 of 2"),
    (b"\x04\x00\x02\x01\x02hi", "0x00 of 2 octets"),
    (b"\x05\x08\x03\x01\x02\x01hi", "0x08 of 3 octets"),
    (b"\x06\x08\x04\x00\x01\x00\x01hi", "part count of 0"),
])
def test_broken_user_data_headers_raise(user_data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        enc.read_user_data(body(user_data, esm_class=0x40))


@pytest.mark.parametrize(("tlvs", "message"), [
    ((p.Tlv(p.TAG_SAR_MSG_REF_NUM, b"\x00\x01"),), "without sar_total_segments and"),
    ((p.Tlv(p.TAG_SAR_MSG_REF_NUM, b"\x01"), p.Tlv(p.TAG_SAR_TOTAL_SEGMENTS, b"\x02"),
      p.Tlv(p.TAG_SAR_SEGMENT_SEQNUM, b"\x01")), "1, 1 and 1 octets"),
    ((p.Tlv(p.TAG_SAR_MSG_REF_NUM, b"\x00\x01"), p.Tlv(p.TAG_SAR_TOTAL_SEGMENTS, b"\x02"),
      p.Tlv(p.TAG_SAR_SEGMENT_SEQNUM, b"\x03")), "part number 3 of 2"),
])
def test_broken_sar_tlvs_raise(tlvs: tuple[p.Tlv, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        enc.read_user_data(body(b"hi", tlvs=tlvs))


def test_sar_parts_from_smpplib() -> None:
    smpplib_pdu = smpplib.smpp.make_pdu(
        "deliver_sm", client=_Sequences(), source_addr_ton=1, source_addr_npi=1,
        source_addr="32470000001", dest_addr_ton=3, destination_addr="1921",
        data_coding=0, short_message=b"SOLDE", sar_msg_ref_num=0x0102,
        sar_total_segments=2, sar_segment_seqnum=2)
    delivered = p.decode_pdu(bytes(smpplib_pdu.generate())).body
    assert isinstance(delivered, p.DeliverSm)
    assert enc.read_user_data(delivered) == enc.InboundText("SOLDE", enc.Concat(0x0102, 2, 2))


@given(st.binary(max_size=300), st.sampled_from([0, 1, 3, 8]), st.booleans(),
       st.lists(st.tuples(st.sampled_from([p.TAG_SAR_MSG_REF_NUM, p.TAG_SAR_TOTAL_SEGMENTS,
                                           p.TAG_SAR_SEGMENT_SEQNUM, p.TAG_MESSAGE_PAYLOAD]),
                          st.binary(max_size=4)), max_size=4))
def test_read_user_data_raises_only_value_error(short_message: bytes, data_coding: int,
                                                udhi: bool,
                                                tlvs: list[tuple[int, bytes]]) -> None:
    try:
        inbound = enc.read_user_data(body(short_message, data_coding=data_coding,
                                          esm_class=0x40 if udhi else 0,
                                          tlvs=tuple(p.Tlv(t, v) for t, v in tlvs)))
    except ValueError:
        return
    assert isinstance(inbound.text, str)


def test_concat_refuses_impossible_numbers() -> None:
    with pytest.raises(ValueError):
        enc.Concat(1, 0, 0)
    with pytest.raises(ValueError):
        enc.Concat(1, 2, 3)
    with pytest.raises(ValueError):
        enc.Concat(-1, 2, 1)
