"""Delivery receipts: which message a receipt deliver_sm is about and what became of it.

An SMSC says it in TLVs (receipted_message_id and message_state, SMPP 3.4 5.3.2.12 and
5.3.2.35), in the receipt text of SMPP 3.4 Appendix B (`id:… sub:… dlvrd:… submit
date:… done date:… stat:… err:… text:…`), or both; the TLVs win. The final states map
to the message states of sms.md: `delivered`, `undeliverable`, `expired`, `deleted`.

Pure: no I/O, no threads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from conso.sms.smpp import pdu

# message_state TLV value -> the stat word of the receipt text (SMPP 3.4 5.2.28, App. B)
MESSAGE_STATES: dict[int, str] = {
    1: "ENROUTE", 2: "DELIVRD", 3: "EXPIRED", 4: "DELETED",
    5: "UNDELIV", 6: "ACCEPTD", 7: "UNKNOWN", 8: "REJECTD",
}

# stat word -> conso's message state; words not here (ENROUTE, ACCEPTD, UNKNOWN...) are
# not final. The full words some SMSCs write are read too.
FINAL_STATES: dict[str, str] = {
    "DELIVRD": "delivered", "DELIVERED": "delivered",
    "UNDELIV": "undeliverable", "UNDELIVERABLE": "undeliverable",
    "REJECTD": "undeliverable", "REJECTED": "undeliverable",
    "EXPIRED": "expired",
    "DELETED": "deleted",
}

# A key of the receipt text: at the start or after white space, then a colon.
_KEY = re.compile(r"(?<!\S)(id|sub|dlvrd|submit\s+date|done\s+date|stat|err|text)\s*:",
                  re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Receipt:
    """`message_id` as the SMSC gave it in submit_sm_resp; `state` the final state
    ("delivered", "undeliverable", "expired", "deleted") or None for a receipt of a
    non-final state; `stat` the state word as received (DELIVRD, ENROUTE...; for a
    message_state TLV its Appendix B word), "" when the receipt gives none."""

    message_id: str
    state: str | None
    stat: str


def receipt_fields(text: str) -> dict[str, str]:
    """The fields of an Appendix B receipt text, keys lower case with one space
    ("submit date"), values stripped; `text` is the rest of the line, the others their
    first word. Missing fields are absent; extra spaces and any letter case are fine."""
    fields: dict[str, str] = {}
    matches = list(_KEY.finditer(text))
    for index, match in enumerate(matches):
        key = " ".join(match.group(1).lower().split())
        if key in fields:
            continue
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        if key == "text":
            fields[key] = text[match.end():].strip()
            break
        words = text[match.end():end].split()
        fields[key] = words[0] if words else ""
    return fields


def _body_text(body: pdu.ShortMessage) -> str:
    payload = pdu.tlv_value(body.tlvs, pdu.TAG_MESSAGE_PAYLOAD)
    octets = payload if payload is not None else body.short_message
    if body.data_coding == pdu.DC_UCS2:
        return octets.decode("utf-16-be", errors="replace")
    return octets.decode("latin-1")     # the receipt text is ASCII in every coding


def _tlv_id(body: pdu.ShortMessage) -> str:
    value = pdu.tlv_value(body.tlvs, pdu.TAG_RECEIPTED_MESSAGE_ID)
    if value is None:
        return ""
    return value.split(b"\0", 1)[0].decode("latin-1").strip()


def _tlv_stat(body: pdu.ShortMessage) -> str:
    value = pdu.tlv_value(body.tlvs, pdu.TAG_MESSAGE_STATE)
    if value is None or len(value) != 1:
        return ""
    return MESSAGE_STATES.get(value[0], "")


def read_receipt(body: pdu.ShortMessage) -> Receipt:
    """The receipt a deliver_sm with esm_class 0x04 carries. The receipted_message_id
    and message_state TLVs are preferred, each on its own; what they lack comes from
    the receipt text. ValueError when neither gives a message id."""
    message_id, stat = _tlv_id(body), _tlv_stat(body)
    if not message_id or not stat:
        fields = receipt_fields(_body_text(body))
        message_id = message_id or fields.get("id", "")
        stat = stat or fields.get("stat", "")
    if not message_id:
        raise ValueError("delivery receipt without a message id (no receipted_message_id "
                         "TLV and no id: in its text)")
    return Receipt(message_id, FINAL_STATES.get(stat.upper()), stat)
