"""SMPP 3.4 PDUs as typed values, and their encoding to and from bytes.

The subset conso speaks as an ESME bound as transceiver: bind_transceiver,
submit_sm, deliver_sm, enquire_link, unbind (each with its response) and
generic_nack; C-octet strings with their maximum sizes; TLVs (message_payload).
Also the two conventions conso keeps towards the SMSC: how a number becomes an
address (TON/NPI) and how a text becomes octets (data_coding).

Pure: no sockets, no threads, no clock. `conso.sms.smpp.session` does the I/O.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from typing import ClassVar

HEADER = struct.Struct(">IIII")
HEADER_SIZE = HEADER.size
MAX_PDU_SIZE = 1 << 17          # a 64 KiB message_payload and the rest, with room to spare
MAX_SHORT_MESSAGE = 140          # octets in one SMS; longer texts go in message_payload
MAX_SEQUENCE = 0x7FFFFFFF
SMPP_VERSION_34 = 0x34

# command_id
GENERIC_NACK = 0x80000000
SUBMIT_SM = 0x00000004
SUBMIT_SM_RESP = 0x80000004
DELIVER_SM = 0x00000005
DELIVER_SM_RESP = 0x80000005
UNBIND = 0x00000006
UNBIND_RESP = 0x80000006
BIND_TRANSCEIVER = 0x00000009
BIND_TRANSCEIVER_RESP = 0x80000009
ENQUIRE_LINK = 0x00000015
ENQUIRE_LINK_RESP = 0x80000015
RESPONSE_BIT = 0x80000000

# command_status (SMPP 3.4, 5.1.3)
ESME_ROK = 0x00
ESME_RINVMSGLEN = 0x01
ESME_RINVCMDLEN = 0x02
ESME_RINVCMDID = 0x03
ESME_RINVBNDSTS = 0x04
ESME_RALYBND = 0x05
ESME_RSYSERR = 0x08
ESME_RINVSRCADR = 0x0A
ESME_RINVDSTADR = 0x0B
ESME_RBINDFAIL = 0x0D
ESME_RINVPASWD = 0x0E
ESME_RINVSYSID = 0x0F
ESME_RMSGQFUL = 0x14
ESME_RSUBMITFAIL = 0x45
ESME_RTHROTTLED = 0x58
ESME_RX_T_APPN = 0x64
ESME_RX_P_APPN = 0x65
ESME_RUNKNOWNERR = 0xFF

STATUS_NAMES: dict[int, str] = {
    ESME_ROK: "ESME_ROK", ESME_RINVMSGLEN: "ESME_RINVMSGLEN",
    ESME_RINVCMDLEN: "ESME_RINVCMDLEN", ESME_RINVCMDID: "ESME_RINVCMDID",
    ESME_RINVBNDSTS: "ESME_RINVBNDSTS", ESME_RALYBND: "ESME_RALYBND",
    ESME_RSYSERR: "ESME_RSYSERR", ESME_RINVSRCADR: "ESME_RINVSRCADR",
    ESME_RINVDSTADR: "ESME_RINVDSTADR", ESME_RBINDFAIL: "ESME_RBINDFAIL",
    ESME_RINVPASWD: "ESME_RINVPASWD", ESME_RINVSYSID: "ESME_RINVSYSID",
    ESME_RMSGQFUL: "ESME_RMSGQFUL", ESME_RSUBMITFAIL: "ESME_RSUBMITFAIL",
    ESME_RTHROTTLED: "ESME_RTHROTTLED", ESME_RX_T_APPN: "ESME_RX_T_APPN",
    ESME_RX_P_APPN: "ESME_RX_P_APPN", ESME_RUNKNOWNERR: "ESME_RUNKNOWNERR",
}

# TON / NPI
TON_UNKNOWN = 0
TON_INTERNATIONAL = 1
TON_NETWORK_SPECIFIC = 3
TON_ALPHANUMERIC = 5
NPI_UNKNOWN = 0
NPI_ISDN = 1

# data_coding
DC_DEFAULT = 0      # SMSC default alphabet; conso sends pure ASCII texts with it
DC_GSM = DC_DEFAULT  # ... read as GSM 03.38, one septet an octet (`conso.sms.smpp.encoding`)
DC_IA5 = 1          # IA5 / ASCII
DC_LATIN1 = 3       # ISO-8859-1
DC_UCS2 = 8         # UCS2, sent and read as UTF-16-BE

# TLV tags
TAG_RECEIPTED_MESSAGE_ID = 0x001E    # C-octet string: the message_id a receipt is about
TAG_SAR_MSG_REF_NUM = 0x020C         # 2 octets: the reference of a concatenated text
TAG_SAR_TOTAL_SEGMENTS = 0x020E      # 1 octet: how many parts
TAG_SAR_SEGMENT_SEQNUM = 0x020F      # 1 octet: this part's number, from 1
TAG_SC_INTERFACE_VERSION = 0x0210
TAG_MESSAGE_PAYLOAD = 0x0424
TAG_MESSAGE_STATE = 0x0427           # 1 octet: a receipt's final state (5.2.28)

ESM_CLASS_UDHI = 0x40            # the short message starts with a user data header
ESM_CLASS_TYPE_MASK = 0x3C       # non-zero: a delivery receipt or another kind of notice

_SHORT_CODE = re.compile(r"[0-9]{3,8}")
_E164 = re.compile(r"\+[1-9][0-9]{5,14}")
_DIGITS = re.compile(r"[0-9]{1,20}")
_ALPHANUMERIC = re.compile(r"[0-9A-Za-z ]{1,11}")


def status_name(status: int) -> str:
    """`ESME_RTHROTTLED (0x58)`: a command_status the way logs and errors show it."""
    return f"{STATUS_NAMES.get(status, 'status')} (0x{status:02X})"


class PduError(ValueError):
    """Bytes that are not a PDU conso understands.

    `command_status` is what to answer in a generic_nack; `sequence_number` is
    None when the frame itself is unusable (the stream cannot be trusted any more).
    """

    def __init__(self, message: str, *, command_status: int = ESME_RINVCMDLEN,
                 sequence_number: int | None = None) -> None:
        super().__init__(message)
        self.command_status = command_status
        self.sequence_number = sequence_number


@dataclass(frozen=True, slots=True)
class Header:
    command_length: int
    command_id: int
    command_status: int
    sequence_number: int


@dataclass(frozen=True, slots=True)
class Tlv:
    tag: int
    value: bytes


@dataclass(frozen=True, slots=True)
class Address:
    ton: int
    npi: int
    addr: str


# ---------------------------------------------------------------------------- bodies

@dataclass(frozen=True, slots=True)
class BindTransceiver:
    COMMAND_ID: ClassVar[int] = BIND_TRANSCEIVER
    system_id: str
    password: str
    system_type: str = ""
    interface_version: int = SMPP_VERSION_34
    addr_ton: int = TON_UNKNOWN
    addr_npi: int = NPI_UNKNOWN
    address_range: str = ""


@dataclass(frozen=True, slots=True)
class BindTransceiverResp:
    COMMAND_ID: ClassVar[int] = BIND_TRANSCEIVER_RESP
    system_id: str = ""
    tlvs: tuple[Tlv, ...] = ()


@dataclass(frozen=True, slots=True)
class ShortMessage:
    """The body submit_sm and deliver_sm share (SMPP 3.4, 4.4.1 and 4.6.1)."""

    source: Address
    destination: Address
    short_message: bytes = b""
    data_coding: int = DC_DEFAULT
    service_type: str = ""
    esm_class: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    replace_if_present_flag: int = 0
    sm_default_msg_id: int = 0
    tlvs: tuple[Tlv, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class SubmitSm(ShortMessage):
    COMMAND_ID: ClassVar[int] = SUBMIT_SM


@dataclass(frozen=True, slots=True)
class DeliverSm(ShortMessage):
    COMMAND_ID: ClassVar[int] = DELIVER_SM


@dataclass(frozen=True, slots=True)
class SubmitSmResp:
    COMMAND_ID: ClassVar[int] = SUBMIT_SM_RESP
    message_id: str = ""


@dataclass(frozen=True, slots=True)
class DeliverSmResp:
    COMMAND_ID: ClassVar[int] = DELIVER_SM_RESP
    message_id: str = ""


@dataclass(frozen=True, slots=True)
class EnquireLink:
    COMMAND_ID: ClassVar[int] = ENQUIRE_LINK


@dataclass(frozen=True, slots=True)
class EnquireLinkResp:
    COMMAND_ID: ClassVar[int] = ENQUIRE_LINK_RESP


@dataclass(frozen=True, slots=True)
class Unbind:
    COMMAND_ID: ClassVar[int] = UNBIND


@dataclass(frozen=True, slots=True)
class UnbindResp:
    COMMAND_ID: ClassVar[int] = UNBIND_RESP


@dataclass(frozen=True, slots=True)
class GenericNack:
    COMMAND_ID: ClassVar[int] = GENERIC_NACK


Body = (BindTransceiver | BindTransceiverResp | SubmitSm | SubmitSmResp | DeliverSm
        | DeliverSmResp | EnquireLink | EnquireLinkResp | Unbind | UnbindResp | GenericNack)


@dataclass(frozen=True, slots=True)
class Pdu:
    body: Body
    sequence_number: int
    command_status: int = ESME_ROK

    @property
    def command_id(self) -> int:
        return self.body.COMMAND_ID

    @property
    def is_response(self) -> bool:
        return bool(self.command_id & RESPONSE_BIT)


# ---------------------------------------------------------------------------- encoding

def _put_cstring(out: bytearray, value: str, max_size: int, name: str) -> None:
    """A C-octet string: ASCII, NUL-terminated, `max_size` octets with the NUL."""
    shown = name if name == "password" else f"{name} {value!r}"     # never echo a password
    try:
        raw = value.encode("ascii")
    except UnicodeEncodeError:
        raise ValueError(f"{shown} is not ASCII") from None
    if len(raw) > max_size - 1:
        raise ValueError(f"{shown} is longer than {max_size - 1} characters")
    if b"\0" in raw:
        raise ValueError(f"{shown} contains a NUL")
    out += raw + b"\0"


def _put_u8(out: bytearray, value: int, name: str) -> None:
    if not 0 <= value <= 0xFF:
        raise ValueError(f"{name} {value} does not fit in one octet")
    out.append(value)


def _put_tlvs(out: bytearray, tlvs: tuple[Tlv, ...]) -> None:
    for tlv in tlvs:
        if len(tlv.value) > 0xFFFF:
            raise ValueError(f"TLV 0x{tlv.tag:04X} is longer than 65535 octets")
        out += struct.pack(">HH", tlv.tag, len(tlv.value)) + tlv.value


def _encode_short_message(out: bytearray, body: ShortMessage) -> None:
    _put_cstring(out, body.service_type, 6, "service_type")
    _put_u8(out, body.source.ton, "source_addr_ton")
    _put_u8(out, body.source.npi, "source_addr_npi")
    _put_cstring(out, body.source.addr, 21, "source_addr")
    _put_u8(out, body.destination.ton, "dest_addr_ton")
    _put_u8(out, body.destination.npi, "dest_addr_npi")
    _put_cstring(out, body.destination.addr, 21, "destination_addr")
    _put_u8(out, body.esm_class, "esm_class")
    _put_u8(out, body.protocol_id, "protocol_id")
    _put_u8(out, body.priority_flag, "priority_flag")
    _put_cstring(out, body.schedule_delivery_time, 17, "schedule_delivery_time")
    _put_cstring(out, body.validity_period, 17, "validity_period")
    _put_u8(out, body.registered_delivery, "registered_delivery")
    _put_u8(out, body.replace_if_present_flag, "replace_if_present_flag")
    _put_u8(out, body.data_coding, "data_coding")
    _put_u8(out, body.sm_default_msg_id, "sm_default_msg_id")
    if len(body.short_message) > 254:
        raise ValueError("short_message is longer than 254 octets: use message_payload")
    _put_u8(out, len(body.short_message), "sm_length")
    out += body.short_message
    _put_tlvs(out, body.tlvs)


def _encode_body(body: Body) -> bytes:
    out = bytearray()
    match body:
        case BindTransceiver():
            _put_cstring(out, body.system_id, 16, "system_id")
            _put_cstring(out, body.password, 9, "password")
            _put_cstring(out, body.system_type, 13, "system_type")
            _put_u8(out, body.interface_version, "interface_version")
            _put_u8(out, body.addr_ton, "addr_ton")
            _put_u8(out, body.addr_npi, "addr_npi")
            _put_cstring(out, body.address_range, 41, "address_range")
        case BindTransceiverResp():
            _put_cstring(out, body.system_id, 16, "system_id")
            _put_tlvs(out, body.tlvs)
        case SubmitSm() | DeliverSm():
            _encode_short_message(out, body)
        case SubmitSmResp() | DeliverSmResp():
            _put_cstring(out, body.message_id, 65, "message_id")
        case EnquireLink() | EnquireLinkResp() | Unbind() | UnbindResp() | GenericNack():
            pass
    return bytes(out)


def encode_pdu(pdu: Pdu) -> bytes:
    """The bytes of one PDU, header included. Raises ValueError for a value that
    does not fit (a too long address, a non-ASCII system_id...)."""
    if not 0 <= pdu.sequence_number <= 0xFFFFFFFF:
        raise ValueError(f"sequence_number {pdu.sequence_number} out of range")
    body = _encode_body(pdu.body)
    length = HEADER_SIZE + len(body)
    if length > MAX_PDU_SIZE:
        raise ValueError(f"PDU of {length} octets is longer than {MAX_PDU_SIZE}")
    return HEADER.pack(length, pdu.command_id, pdu.command_status, pdu.sequence_number) + body


# ---------------------------------------------------------------------------- decoding

class _Cursor:
    def __init__(self, data: bytes, sequence_number: int) -> None:
        self.data = data
        self.pos = 0
        self.sequence_number = sequence_number

    def error(self, message: str, status: int = ESME_RINVCMDLEN) -> PduError:
        return PduError(message, command_status=status, sequence_number=self.sequence_number)

    @property
    def at_end(self) -> bool:
        return self.pos >= len(self.data)

    def u8(self, name: str) -> int:
        if self.at_end:
            raise self.error(f"PDU ends before {name}")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def octets(self, count: int, name: str) -> bytes:
        if self.pos + count > len(self.data):
            raise self.error(f"PDU ends inside {name}")
        value = self.data[self.pos:self.pos + count]
        self.pos += count
        return value

    def cstring(self, max_size: int, name: str) -> str:
        end = self.data.find(b"\0", self.pos, self.pos + max_size)
        if end < 0:
            raise self.error(f"{name} is not NUL-terminated within {max_size} octets")
        value = self.data[self.pos:end].decode("latin-1")
        self.pos = end + 1
        return value

    def tlvs(self) -> tuple[Tlv, ...]:
        found: list[Tlv] = []
        while not self.at_end:
            head = self.octets(4, "a TLV header")
            tag, length = struct.unpack(">HH", head)
            found.append(Tlv(tag, self.octets(length, f"TLV 0x{tag:04X}")))
        return tuple(found)


def _decode_short_message(cursor: _Cursor, kind: type[SubmitSm] | type[DeliverSm]
                          ) -> SubmitSm | DeliverSm:
    service_type = cursor.cstring(6, "service_type")
    source = Address(cursor.u8("source_addr_ton"), cursor.u8("source_addr_npi"),
                     cursor.cstring(21, "source_addr"))
    destination = Address(cursor.u8("dest_addr_ton"), cursor.u8("dest_addr_npi"),
                          cursor.cstring(21, "destination_addr"))
    esm_class = cursor.u8("esm_class")
    protocol_id = cursor.u8("protocol_id")
    priority_flag = cursor.u8("priority_flag")
    schedule_delivery_time = cursor.cstring(17, "schedule_delivery_time")
    validity_period = cursor.cstring(17, "validity_period")
    registered_delivery = cursor.u8("registered_delivery")
    replace_if_present_flag = cursor.u8("replace_if_present_flag")
    data_coding = cursor.u8("data_coding")
    sm_default_msg_id = cursor.u8("sm_default_msg_id")
    short_message = cursor.octets(cursor.u8("sm_length"), "short_message")
    return kind(source, destination, short_message, data_coding, service_type=service_type,
                esm_class=esm_class, protocol_id=protocol_id, priority_flag=priority_flag,
                schedule_delivery_time=schedule_delivery_time, validity_period=validity_period,
                registered_delivery=registered_delivery,
                replace_if_present_flag=replace_if_present_flag,
                sm_default_msg_id=sm_default_msg_id, tlvs=cursor.tlvs())


def _decode_body(command_id: int, cursor: _Cursor) -> Body:
    body: Body
    if command_id == BIND_TRANSCEIVER:
        body = BindTransceiver(
            system_id=cursor.cstring(16, "system_id"), password=cursor.cstring(9, "password"),
            system_type=cursor.cstring(13, "system_type"),
            interface_version=cursor.u8("interface_version"), addr_ton=cursor.u8("addr_ton"),
            addr_npi=cursor.u8("addr_npi"), address_range=cursor.cstring(41, "address_range"))
    elif command_id == BIND_TRANSCEIVER_RESP:
        # An SMSC refusing a bind may send the header alone.
        system_id = "" if cursor.at_end else cursor.cstring(16, "system_id")
        body = BindTransceiverResp(system_id, cursor.tlvs())
    elif command_id in (SUBMIT_SM, DELIVER_SM):
        body = _decode_short_message(cursor, SubmitSm if command_id == SUBMIT_SM else DeliverSm)
    elif command_id in (SUBMIT_SM_RESP, DELIVER_SM_RESP):
        message_id = "" if cursor.at_end else cursor.cstring(65, "message_id")
        body = (SubmitSmResp if command_id == SUBMIT_SM_RESP else DeliverSmResp)(message_id)
    elif command_id == ENQUIRE_LINK:
        body = EnquireLink()
    elif command_id == ENQUIRE_LINK_RESP:
        body = EnquireLinkResp()
    elif command_id == UNBIND:
        body = Unbind()
    elif command_id == UNBIND_RESP:
        body = UnbindResp()
    elif command_id == GENERIC_NACK:
        body = GenericNack()
    else:
        raise cursor.error(f"unsupported command_id 0x{command_id:08X}", ESME_RINVCMDID)
    if not cursor.at_end:
        raise cursor.error(f"{len(cursor.data) - cursor.pos} unexpected octets after the body")
    return body


def decode_header(data: bytes) -> Header:
    """The header of a frame; raises PduError (with no sequence number) when the
    length is impossible, since the stream cannot be followed past it."""
    if len(data) < HEADER_SIZE:
        raise PduError(f"{len(data)} octets is shorter than a PDU header")
    header = Header(*HEADER.unpack_from(data))
    if not HEADER_SIZE <= header.command_length <= MAX_PDU_SIZE:
        raise PduError(f"impossible command_length {header.command_length}")
    return header


def decode_pdu(frame: bytes) -> Pdu:
    """One whole PDU (exactly `command_length` octets) back into a value."""
    header = decode_header(frame)
    if len(frame) != header.command_length:
        raise PduError(f"frame of {len(frame)} octets, command_length says "
                       f"{header.command_length}", sequence_number=header.sequence_number)
    cursor = _Cursor(frame[HEADER_SIZE:], header.sequence_number)
    body = _decode_body(header.command_id, cursor)
    return Pdu(body, header.sequence_number, header.command_status)


# ---------------------------------------------------------------------------- addresses

def to_address(number: str) -> Address:
    """How conso addresses a party: "+32470000001" is international (TON 1, NPI 1,
    digits without the plus); a short code such as "8644" is network specific
    (TON 3, NPI 0); other digit strings are unknown/ISDN; a short word is alphanumeric."""
    if _E164.fullmatch(number):
        return Address(TON_INTERNATIONAL, NPI_ISDN, number[1:])
    if _SHORT_CODE.fullmatch(number):
        return Address(TON_NETWORK_SPECIFIC, NPI_UNKNOWN, number)
    if _DIGITS.fullmatch(number):
        return Address(TON_UNKNOWN, NPI_ISDN, number)
    if _ALPHANUMERIC.fullmatch(number):
        return Address(TON_ALPHANUMERIC, NPI_UNKNOWN, number)
    raise ValueError(f"{number!r} is neither an E.164 number, a short code nor a sender name")


def from_address(address: Address) -> str:
    """The reverse of `to_address`: an international address becomes "+digits"."""
    if address.ton == TON_INTERNATIONAL and not address.addr.startswith("+"):
        return "+" + address.addr
    return address.addr


# ---------------------------------------------------------------------------- texts

def tlv_value(tlvs: tuple[Tlv, ...], tag: int) -> bytes | None:
    for tlv in tlvs:
        if tlv.tag == tag:
            return tlv.value
    return None


def is_receipt(body: ShortMessage) -> bool:
    """A delivery receipt (or another SMSC notice) rather than a text from a subscriber."""
    return bool(body.esm_class & ESM_CLASS_TYPE_MASK)
