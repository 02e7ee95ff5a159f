"""Texts to SMPP user data and back: the coding and splitting rules of sms.md.

Outgoing, `segments` turns a text into the fields of one submit_sm per part: a text
written in the GSM 03.38 default alphabet and its basic extension table goes as
data_coding 0, one septet an octet (unpacked, as SMSCs expect over SMPP); any other
text as UCS-2 (data_coding 8, UTF-16-BE). A text too long for one SMS is split into
parts carrying a user data header (the default), the SAR TLVs, or is sent whole in
message_payload. No part ends inside an escape sequence or a surrogate pair.

Incoming, `read_user_data` gives the text of a deliver_sm and, for one part of a
concatenated text, which part it is (`Concat`); `conso.sms.reassembly` puts the parts
together.

The GSM 03.38 tables come from the `gsm0338` codec (PyPI), not from a table of ours.
Pure: no I/O, no threads.
"""

from __future__ import annotations

import contextlib
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import gsm0338  # type: ignore[import-untyped]

from conso.sms.smpp import pdu

LongMode = Literal["udh", "sar", "payload"]
LONG_MODES: tuple[LongMode, ...] = ("udh", "sar", "payload")

GSM_SINGLE = 160        # septets in one SMS
GSM_PART = 153          # septets in one part, after the 6-octet user data header
UCS2_SINGLE = 70        # UTF-16 code units in one SMS
UCS2_PART = 67          # ... in one part
MAX_PARTS = 255         # the part count is one octet

ESCAPE = 0x1B           # GSM 03.38: the next septet is from the extension table
IEI_CONCAT_8 = 0x00     # concatenated short message, 8-bit reference (3GPP TS 23.040 9.2.3.24.1)
IEI_CONCAT_16 = 0x08    # ... 16-bit reference (9.2.3.24.8)

_CODEC = gsm0338.Codec()
_SURROGATE = re.compile("[\ud800-\udfff]")


def _codec_decode(octets: bytes) -> str:
    text, _ = _CODEC.decode(octets, "strict")
    return str(text)


def _codec_tables() -> tuple[dict[int, str], dict[int, str]]:
    """The default alphabet and the extension table, read off the codec: septet ->
    character. The escape itself is no character (the codec would map U+001B to a
    bare 0x1B, which a handset reads as an escape)."""
    default: dict[int, str] = {}
    extension: dict[int, str] = {}
    for septet in range(0x80):
        if septet == ESCAPE:
            continue
        default[septet] = _codec_decode(bytes([septet]))
        with contextlib.suppress(UnicodeDecodeError):     # no extension character there
            extension[septet] = _codec_decode(bytes([ESCAPE, septet]))
    return default, extension


_DEFAULT, _EXTENSION = _codec_tables()
_SEPTETS: dict[str, int] = {**{c: 1 for c in _DEFAULT.values()},
                            **{c: 2 for c in _EXTENSION.values()}}


# ---------------------------------------------------------------------------- outgoing

def is_gsm(text: str) -> bool:
    """Every character is in the GSM 03.38 default alphabet or its basic extension
    table (so é, è, à, ü and € are; ç, ê and the ASCII backquote are not)."""
    return all(c in _SEPTETS for c in text)


def septets(text: str) -> int:
    """How many septets a GSM text takes: an extension character (€ [ ] { } ~ \\ ^ |
    and form feed) counts 2, its escape and itself. ValueError for a non-GSM text."""
    try:
        return sum(_SEPTETS[c] for c in text)
    except KeyError as exc:
        raise ValueError(f"{exc.args[0]!r} is not in the GSM 03.38 alphabet") from None


def mend_surrogates(text: str) -> str:
    """A text Python can encode: a high and a low surrogate that follow each other
    (halves of one character, from two parts) become that character, and any other
    lone surrogate becomes U+FFFD."""
    if not _SURROGATE.search(text):
        return text
    return text.encode("utf-16-be", "surrogatepass").decode("utf-16-be", "replace")


@dataclass(frozen=True, slots=True)
class Segment:
    """The fields of one submit_sm that carry (a part of) a text."""

    data_coding: int
    short_message: bytes
    esm_class: int
    tlvs: tuple[pdu.Tlv, ...]


def _gsm_encode(text: str) -> bytes:
    octets, _ = _CODEC.encode(text, "strict")
    return bytes(octets)


def _ucs2_encode(text: str) -> bytes:
    return text.encode("utf-16-be")


def _ucs2_units(char: str) -> int:
    return 2 if ord(char) > 0xFFFF else 1


def _split(text: str, size: Callable[[str], int], limit: int) -> list[str]:
    """Greedy cut into pieces of at most `limit` units, between characters only (so
    never inside an escape sequence or a surrogate pair)."""
    parts: list[str] = []
    start = 0
    used = 0
    for index, char in enumerate(text):
        units = size(char)
        if used + units > limit:
            parts.append(text[start:index])
            start, used = index, 0
        used += units
    parts.append(text[start:])
    return parts


def segments(text: str, *, reference: int,
             long_mode: LongMode = "udh") -> list[Segment]:
    """The submit_sm fields for a text, one Segment a part.

    A GSM text of at most 160 septets, or another of at most 70 UTF-16 code units, is
    one plain segment in every mode (an empty text too). A longer one is cut into
    parts of at most 153 septets / 67 units: "udh" puts the header 05 00 03 ref total
    n before each part (esm_class 0x40, `reference & 0xFF`); "sar" gives each part the
    sar_msg_ref_num (`reference & 0xFFFF`), sar_total_segments and sar_segment_seqnum
    TLVs; "payload" sends the whole text in one message_payload TLV with an empty
    short_message. A lone surrogate in `text` is sent as U+FFFD.

    ValueError for a text that would need more than 255 parts (in every mode, so that
    the mode never decides whether a text can be sent) or an unknown mode.
    """
    if long_mode not in LONG_MODES:
        raise ValueError(f"long_mode {long_mode!r} is none of {', '.join(LONG_MODES)}")
    text = mend_surrogates(text)
    encode: Callable[[str], bytes]
    size: Callable[[str], int]
    if is_gsm(text):
        data_coding, encode, size = pdu.DC_GSM, _gsm_encode, _SEPTETS.__getitem__
        single, part = GSM_SINGLE, GSM_PART
    else:
        data_coding, encode, size = pdu.DC_UCS2, _ucs2_encode, _ucs2_units
        single, part = UCS2_SINGLE, UCS2_PART
    if sum(size(c) for c in text) <= single:
        return [Segment(data_coding, encode(text), 0, ())]
    parts = _split(text, size, part)
    total = len(parts)
    if total > MAX_PARTS:
        raise ValueError(f"a text of {len(text)} characters needs {total} parts; "
                         f"at most {MAX_PARTS} can be concatenated")
    if long_mode == "payload":
        return [Segment(data_coding, b"", 0, (pdu.Tlv(pdu.TAG_MESSAGE_PAYLOAD, encode(text)),))]
    if long_mode == "sar":
        ref = struct.pack(">H", reference & 0xFFFF)
        return [Segment(data_coding, encode(piece), 0,
                        (pdu.Tlv(pdu.TAG_SAR_MSG_REF_NUM, ref),
                         pdu.Tlv(pdu.TAG_SAR_TOTAL_SEGMENTS, bytes([total])),
                         pdu.Tlv(pdu.TAG_SAR_SEGMENT_SEQNUM, bytes([number]))))
                for number, piece in enumerate(parts, start=1)]
    ref8 = reference & 0xFF
    return [Segment(data_coding,
                    bytes([5, IEI_CONCAT_8, 3, ref8, total, number]) + encode(piece),
                    pdu.ESM_CLASS_UDHI, ())
            for number, piece in enumerate(parts, start=1)]


# ---------------------------------------------------------------------------- incoming

@dataclass(frozen=True, slots=True)
class Concat:
    """Which part of a concatenated text a message is: `number` of `total` (from 1),
    all parts sharing `reference` (8 or 16 bits)."""

    reference: int
    total: int
    number: int

    def __post_init__(self) -> None:
        if self.reference < 0:
            raise ValueError(f"concatenation reference {self.reference} is negative")
        if self.total < 1:
            raise ValueError(f"concatenated text of {self.total} parts")
        if not 1 <= self.number <= self.total:
            raise ValueError(f"part number {self.number} of a text of {self.total} parts")


@dataclass(frozen=True, slots=True)
class InboundText:
    """The text of one deliver_sm; `concat` is None for a whole text.

    For a UCS-2 part, `text` may begin or end with half of a surrogate pair that its
    sender split across parts; `conso.sms.reassembly` mends it when joining."""

    text: str
    concat: Concat | None = None


def _concat(reference: int, total: int, number: int, where: str) -> Concat:
    if total == 0:
        raise ValueError(f"{where} gives a part count of 0")
    if not 1 <= number <= total:
        raise ValueError(f"{where} gives part number {number} of {total}")
    return Concat(reference, total, number)


def _read_udh(octets: bytes) -> tuple[Concat | None, bytes]:
    """(the concatenation IE if any, the user data after the header). The last
    concatenation IE wins, as 3GPP TS 23.040 9.2.3.24 says for repeated IEs."""
    if not octets:
        raise ValueError("esm_class announces a user data header but the user data is empty")
    length = octets[0]
    if 1 + length > len(octets):
        raise ValueError(f"user data header of {length} octets is longer than the "
                         f"{len(octets) - 1} octets that follow its length")
    header = octets[1:1 + length]
    concat: Concat | None = None
    pos = 0
    while pos < len(header):
        if pos + 2 > len(header):
            raise ValueError("user data header ends inside an information element's "
                             "identifier and length")
        iei, iel = header[pos], header[pos + 1]
        value = header[pos + 2:pos + 2 + iel]
        if len(value) < iel:
            raise ValueError(f"information element 0x{iei:02X} of {iel} octets runs past "
                             f"the end of the {length}-octet user data header")
        if iei == IEI_CONCAT_8:
            if iel != 3:
                raise ValueError(f"concatenation IE 0x00 of {iel} octets (3 expected)")
            concat = _concat(value[0], value[1], value[2], "user data header IE 0x00")
        elif iei == IEI_CONCAT_16:
            if iel != 4:
                raise ValueError(f"concatenation IE 0x08 of {iel} octets (4 expected)")
            concat = _concat(value[0] << 8 | value[1], value[2], value[3],
                             "user data header IE 0x08")
        pos += 2 + iel
    return concat, octets[1 + length:]


def _read_sar(tlvs: tuple[pdu.Tlv, ...]) -> Concat | None:
    ref = pdu.tlv_value(tlvs, pdu.TAG_SAR_MSG_REF_NUM)
    total = pdu.tlv_value(tlvs, pdu.TAG_SAR_TOTAL_SEGMENTS)
    number = pdu.tlv_value(tlvs, pdu.TAG_SAR_SEGMENT_SEQNUM)
    if ref is None and total is None and number is None:
        return None
    if ref is None or total is None or number is None:
        missing = [name for name, value in (("sar_msg_ref_num", ref),
                                            ("sar_total_segments", total),
                                            ("sar_segment_seqnum", number)) if value is None]
        raise ValueError(f"SAR TLVs without {' and '.join(missing)}")
    if len(ref) != 2 or len(total) != 1 or len(number) != 1:
        raise ValueError(f"SAR TLVs of {len(ref)}, {len(total)} and {len(number)} octets "
                         "(2, 1 and 1 expected)")
    return _concat(ref[0] << 8 | ref[1], total[0], number[0], "SAR TLVs")


def decode_gsm(octets: bytes) -> str:
    """GSM 03.38 septets, one an octet, to text. As 3GPP TS 23.038 asks of a receiver:
    an escape before a septet the extension table lacks shows that septet's default
    character, and an escape with nothing after it, or before another escape, shows
    a space. ValueError for an octet above 0x7F."""
    out: list[str] = []
    pos, end = 0, len(octets)
    while pos < end:
        septet = octets[pos]
        if septet > 0x7F:
            raise ValueError(f"octet 0x{septet:02X} at {pos} is not a GSM 03.38 septet")
        if septet != ESCAPE:
            out.append(_DEFAULT[septet])
            pos += 1
            continue
        following = octets[pos + 1] if pos + 1 < end else ESCAPE
        if following > 0x7F:
            raise ValueError(f"octet 0x{following:02X} at {pos + 1} is not a GSM 03.38 septet")
        if following == ESCAPE:
            out.append(" ")
        else:
            out.append(_EXTENSION.get(following, _DEFAULT[following]))
        pos += 2
    return "".join(out)


def decode_user_data(data_coding: int, octets: bytes, *, keep_surrogates: bool = False) -> str:
    """The text of user data (header removed) in one of the codings conso reads:
    0 GSM 03.38 (unpacked; read as Latin-1 when an octet is above 0x7F, since such a
    message is no GSM text, rather than refused), 1 IA5/ASCII, 3 Latin-1, 8 UCS-2
    (UTF-16-BE). Undecodable octets become U+FFFD, except that `keep_surrogates`
    keeps lone surrogates (the halves of a pair split across parts).
    ValueError for another coding (binary, packed GSM, Cyrillic...)."""
    if data_coding == pdu.DC_GSM:
        if any(octet > 0x7F for octet in octets):
            return octets.decode("latin-1")
        return decode_gsm(octets)
    if data_coding == pdu.DC_IA5:
        return octets.decode("ascii", errors="replace")
    if data_coding == pdu.DC_LATIN1:
        return octets.decode("latin-1")
    if data_coding == pdu.DC_UCS2:
        if not keep_surrogates:
            return octets.decode("utf-16-be", errors="replace")
        even = len(octets) & ~1
        text = octets[:even].decode("utf-16-be", errors="surrogatepass")
        return text + ("\ufffd" if even < len(octets) else "")
    raise ValueError(f"data_coding 0x{data_coding:02X} is not a text coding conso reads")


def read_user_data(body: pdu.ShortMessage) -> InboundText:
    """The text of a deliver_sm (or submit_sm) and its place in a concatenated text.

    The user data is message_payload when present, else short_message. With esm_class
    0x40 it starts with a user data header, whose concatenation IE (0x00, 8-bit
    reference, or 0x08, 16-bit) is read and other IEs skipped; otherwise the SAR TLVs,
    when present, say which part this is. ValueError for a broken header or SAR TLVs,
    or a coding conso does not read (see `decode_user_data`)."""
    payload = pdu.tlv_value(body.tlvs, pdu.TAG_MESSAGE_PAYLOAD)
    octets = payload if payload is not None else body.short_message
    concat: Concat | None = None
    if body.esm_class & pdu.ESM_CLASS_UDHI:
        concat, octets = _read_udh(octets)
    sar = _read_sar(body.tlvs)
    if concat is None:
        concat = sar
    text = decode_user_data(body.data_coding, octets, keep_surrogates=concat is not None)
    return InboundText(text, concat)


def _whole(text: str) -> Segment:
    """One text as one PDU's fields: a long one whole in message_payload."""
    [segment] = segments(text, reference=0, long_mode="payload")
    return segment


def submit_part(source: pdu.Address, destination: pdu.Address, part: Segment) -> pdu.SubmitSm:
    """The submit_sm of one segment, asking for a final delivery receipt (sms.md)."""
    return pdu.SubmitSm(source, destination, part.short_message, part.data_coding,
                        esm_class=part.esm_class, registered_delivery=1, tlvs=part.tlvs)


def submit_sm(source: str, destination: str, text: str) -> pdu.SubmitSm:
    """A submit_sm for one whole text asking for a receipt (long: in message_payload)."""
    return submit_part(pdu.to_address(source), pdu.to_address(destination), _whole(text))


def deliver_sm(source: str, destination: str, text: str) -> pdu.DeliverSm:
    """The deliver_sm an SMSC would send for a subscriber's text (tests, simulators)."""
    part = _whole(text)
    return pdu.DeliverSm(pdu.to_address(source), pdu.to_address(destination),
                         part.short_message, part.data_coding, tlvs=part.tlvs)
