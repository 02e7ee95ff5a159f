"""Diameter's wire format (RFC 6733 §3 and §4): messages and AVPs to and from bytes.

Decoding is lazy and strict: `decode` checks the header and splits the top-level AVPs;
a grouped AVP is split when read. Every defect is a `ProtocolError` carrying the
Result-Code RFC 6733 prescribes and, where there is one, the AVP at fault for the
answer's Failed-AVP. Encoding builds bytes directly with `struct`.

Why not a library's codec: python-diameter (the maintained candidate, judged for #12)
decodes and encodes correctly but spends ~135 µs decoding and ~380 µs encoding a
300-byte CCR on this machine, against ~10 µs here; at the 5,000 CCR/s target the
codec alone would take both cores. The tests use python-diameter as the independent
peer and Wireshark's dissector as the judge of the bytes written here.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from conso.diameter.dictionary import (
    AVP_MANDATORY,
    AVP_VENDOR,
    FIXED_LENGTH,
    FLAG_ERROR,
    FLAG_REQUEST,
    Result,
    Type,
    type_of,
)
from conso.domain.text import is_clean_text, text_problem

HEADER = 20
_HEADER = struct.Struct(">IIIII")
_U32 = struct.Struct(">I")
_I32 = struct.Struct(">i")
_U64 = struct.Struct(">Q")
_I64 = struct.Struct(">q")
_AVP = struct.Struct(">II")
_AVP_V = struct.Struct(">III")


class ProtocolError(Exception):
    """A message conso cannot accept: answer `result` (with `failed` as Failed-AVP)."""

    def __init__(self, result: int, reason: str, failed: bytes | None = None) -> None:
        super().__init__(reason)
        self.result = result
        self.reason = reason
        self.failed = failed


@dataclass(slots=True)
class Avp:
    """One AVP as received: `data` is its payload without padding; `raw` the whole AVP
    (header and padding), for Failed-AVP."""

    code: int
    flags: int
    vendor: int
    data: bytes
    # Where the whole AVP lies in the message: `raw` is cut from it only when an error
    # names the AVP (most AVPs never need it).
    _source: bytes = field(repr=False, compare=False)
    _start: int = field(repr=False, compare=False)
    _stop: int = field(repr=False, compare=False)
    _group: Group | None = field(default=None, repr=False, compare=False)

    @property
    def raw(self) -> bytes:
        return self._source[self._start:self._stop]

    @property
    def mandatory(self) -> bool:
        return bool(self.flags & AVP_MANDATORY)

    def _fixed(self, size: int) -> bytes:
        if len(self.data) != size:
            raise ProtocolError(Result.INVALID_AVP_LENGTH,
                                f"AVP {self.code} has {len(self.data)} bytes, not {size}",
                                self.raw)
        return self.data

    def u32(self) -> int:
        value: int = _U32.unpack(self._fixed(4))[0]
        return value

    def i32(self) -> int:
        value: int = _I32.unpack(self._fixed(4))[0]
        return value

    def u64(self) -> int:
        value: int = _U64.unpack(self._fixed(8))[0]
        return value

    def i64(self) -> int:
        value: int = _I64.unpack(self._fixed(8))[0]
        return value

    def text(self) -> str:
        """The payload as text (a UTF8String, a DiameterIdentity, an OctetString read as
        one): UTF-8 and no control character (domain/text.py), else 5004 naming the AVP."""
        try:
            value = self.data.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError(Result.INVALID_AVP_VALUE,
                                f"AVP {self.code} is not UTF-8", self.raw) from None
        if not is_clean_text(value):
            raise ProtocolError(Result.INVALID_AVP_VALUE,
                                f"AVP {self.code} {text_problem(value)}", self.raw)
        return value

    def group(self) -> Group:
        """The AVPs inside (split once: checking and reading a message both walk them)."""
        if self._group is not None:
            return self._group
        try:
            self._group = Group(split(self.data, 0, len(self.data)))
            return self._group
        except ProtocolError as exc:
            if exc.failed is not None:
                raise
            # bytes left over inside the group: the grouped AVP's length is wrong, and
            # its header with an empty payload names it (RFC 6733 §7.5)
            raise ProtocolError(Result.INVALID_AVP_LENGTH,
                                f"grouped AVP {self.code}: {exc.reason}",
                                avp(self.code, b"", vendor=self.vendor,
                                    mandatory=self.mandatory)) from None


@dataclass(slots=True)
class Group:
    """The AVPs of a message or of a grouped AVP, in order."""

    avps: list[Avp] = field(default_factory=list)

    def __iter__(self) -> Iterator[Avp]:
        return iter(self.avps)

    def find(self, code: int, vendor: int = 0) -> Avp | None:
        for avp in self.avps:
            if avp.code == code and avp.vendor == vendor:
                return avp
        return None

    def all(self, code: int, vendor: int = 0) -> list[Avp]:
        return [a for a in self.avps if a.code == code and a.vendor == vendor]

    def need(self, code: int, vendor: int = 0) -> Avp:
        """The AVP, or 5005 DIAMETER_MISSING_AVP naming it."""
        avp = self.find(code, vendor)
        if avp is None:
            raise ProtocolError(Result.MISSING_AVP, f"missing AVP {code}",
                                missing_avp(code, vendor))
        return avp

    def one(self, code: int, vendor: int = 0) -> Avp | None:
        """The AVP when it occurs at most once; 5009 on the second."""
        found = self.all(code, vendor)
        if len(found) > 1:
            raise ProtocolError(Result.AVP_OCCURS_TOO_MANY_TIMES,
                                f"AVP {code} occurs {len(found)} times", found[1].raw)
        return found[0] if found else None


@dataclass(slots=True)
class Message:
    flags: int
    command: int
    application: int
    hop_by_hop: int
    end_to_end: int
    avps: Group

    @property
    def is_request(self) -> bool:
        return bool(self.flags & FLAG_REQUEST)


def header(data: bytes) -> tuple[int, int, int, int, int, int, int]:
    """(version, length, flags, command, application, hop-by-hop, end-to-end) of the
    first 20 bytes."""
    word0, word1, application, hbh, e2e = _HEADER.unpack_from(data)
    return word0 >> 24, word0 & 0xFFFFFF, word1 >> 24, word1 & 0xFFFFFF, application, hbh, e2e


def decode(data: bytes) -> Message:
    """One whole message (its length already checked by the framing)."""
    if len(data) < HEADER:
        raise ProtocolError(Result.INVALID_MESSAGE_LENGTH,
                            f"{len(data)} bytes, shorter than a header")
    version, length, flags, command, application, hbh, e2e = header(data)
    if version != 1:
        raise ProtocolError(Result.UNSUPPORTED_VERSION, f"version {version}")
    if length != len(data) or length % 4:
        raise ProtocolError(Result.INVALID_MESSAGE_LENGTH, f"message length {length}")
    # RFC 6733 §3: the reserved bits are "ignored by the receiver"; a request that says
    # it is an error answer is the invalid combination of 3008.
    if flags & FLAG_REQUEST and flags & FLAG_ERROR:
        raise ProtocolError(Result.INVALID_HDR_BITS, f"header flags {flags:#04x}")
    return Message(flags, command, application, hbh, e2e, Group(split(data, HEADER, length)))


def split(data: bytes, offset: int, end: int) -> list[Avp]:
    avps: list[Avp] = []
    while offset < end:
        if end - offset < 8:
            raise ProtocolError(Result.INVALID_MESSAGE_LENGTH,
                                "trailing bytes shorter than an AVP header")
        code, word = _AVP.unpack_from(data, offset)
        flags, length = word >> 24, word & 0xFFFFFF
        head = 12 if flags & AVP_VENDOR else 8
        padded = (length + 3) & ~3
        if length < head or offset + length > end:
            raise ProtocolError(Result.INVALID_AVP_LENGTH, f"AVP {code} length {length}",
                                _bad_length(data, offset, end))
        vendor = _U32.unpack_from(data, offset + 8)[0] if head == 12 else 0
        if flags & 0x1F:   # Failed-AVP: the AVP as received, to show the bits at fault
            raise ProtocolError(Result.INVALID_AVP_BITS, f"AVP {code} flags {flags:#04x}",
                                bytes(data[offset:min(offset + padded, end)]).ljust(padded,
                                                                                    b"\0"))
        avps.append(Avp(code, flags, vendor, data[offset + head:offset + length],
                        data, offset, min(offset + padded, end)))
        offset += padded
    return avps


def check(avps: Iterable[Avp], *, depth: int = 0) -> None:
    """Every AVP with the M bit must be known to conso, and known ones well formed,
    also inside grouped AVPs: 5001 / 5014 with the AVP at fault."""
    if depth > 8:
        raise ProtocolError(Result.INVALID_AVP_VALUE, "grouped AVPs nested too deep")
    for avp in avps:
        kind = type_of(avp.code, avp.vendor)
        if kind is None:
            if avp.flags & AVP_MANDATORY:
                raise ProtocolError(Result.AVP_UNSUPPORTED,
                                    f"unknown mandatory AVP {avp.code} (vendor {avp.vendor})",
                                    avp.raw)
            continue
        size = FIXED_LENGTH.get(kind)
        if size is not None and len(avp.data) != size:
            raise ProtocolError(Result.INVALID_AVP_LENGTH,
                                f"AVP {avp.code} has {len(avp.data)} bytes, not {size}",
                                avp.raw)
        if kind is Type.GROUPED:
            check(avp.group(), depth=depth + 1)


def _bad_length(data: bytes, offset: int, end: int) -> bytes:
    """The Failed-AVP of an AVP whose length is wrong (RFC 6733 §7.5): its header, padded
    with zeros where it is cut short, and a zeroed payload of the smallest size its type
    allows. Its length field is made right, so that the answer carrying it is well formed."""
    head = bytes(data[offset:min(offset + 12, end)]).ljust(12, b"\0")
    code, word, vendor = _AVP_V.unpack(head)
    flags = (word >> 24) & (AVP_MANDATORY | AVP_VENDOR)
    if not flags & AVP_VENDOR:
        vendor = 0
    kind = type_of(code, vendor)
    size = FIXED_LENGTH.get(kind, 0) if kind is not None else 0
    return avp(code, bytes(size), vendor=vendor, mandatory=bool(flags & AVP_MANDATORY),
               vendor_bit=bool(flags & AVP_VENDOR))


def missing_avp(code: int, vendor: int = 0) -> bytes:
    """RFC 6733 §7.5: a missing AVP is named by an example of it with a zeroed payload."""
    kind = type_of(code, vendor)
    size = FIXED_LENGTH.get(kind, 0) if kind is not None else 0
    return avp(code, bytes(size), vendor=vendor)


# -- encoding -------------------------------------------------------------------------------

def avp(code: int, data: bytes, *, vendor: int = 0, mandatory: bool = True,
        vendor_bit: bool = False) -> bytes:
    """One AVP; the V bit and the Vendor-Id field when `vendor` is not 0 (or `vendor_bit`)."""
    flags = AVP_MANDATORY if mandatory else 0
    pad = b"\0" * (-len(data) % 4)
    if vendor or vendor_bit:
        return _AVP_V.pack(code, ((flags | AVP_VENDOR) << 24) | (12 + len(data)),
                           vendor) + data + pad
    return _AVP.pack(code, (flags << 24) | (8 + len(data))) + data + pad


def u32(code: int, value: int, *, vendor: int = 0, mandatory: bool = True) -> bytes:
    return avp(code, _U32.pack(value), vendor=vendor, mandatory=mandatory)


def i32(code: int, value: int, *, vendor: int = 0, mandatory: bool = True) -> bytes:
    return avp(code, _I32.pack(value), vendor=vendor, mandatory=mandatory)


def u64(code: int, value: int, *, vendor: int = 0, mandatory: bool = True) -> bytes:
    return avp(code, _U64.pack(value), vendor=vendor, mandatory=mandatory)


def i64(code: int, value: int, *, vendor: int = 0, mandatory: bool = True) -> bytes:
    return avp(code, _I64.pack(value), vendor=vendor, mandatory=mandatory)


def utf8(code: int, value: str, *, vendor: int = 0, mandatory: bool = True) -> bytes:
    return avp(code, value.encode(), vendor=vendor, mandatory=mandatory)


def grouped(code: int, members: Sequence[bytes], *, vendor: int = 0,
            mandatory: bool = True) -> bytes:
    return avp(code, b"".join(members), vendor=vendor, mandatory=mandatory)


def address(code: int, ip: bytes, *, mandatory: bool = True) -> bytes:
    """An Address AVP: family 1 (IPv4, 4 bytes) or 2 (IPv6, 16 bytes)."""
    family = b"\x00\x01" if len(ip) == 4 else b"\x00\x02"
    return avp(code, family + ip, mandatory=mandatory)


def message(command: int, application: int, avps: Sequence[bytes], *, flags: int,
            hop_by_hop: int, end_to_end: int) -> bytes:
    body = b"".join(avps)
    length = HEADER + len(body)
    return _HEADER.pack((1 << 24) | length, (flags << 24) | command, application,
                        hop_by_hop, end_to_end) + body
