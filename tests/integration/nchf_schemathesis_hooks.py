"""schemathesis hooks for test_nchf_openapi.py (loaded by the `st` process through
SCHEMATHESIS_HOOKS): steer some schema-valid requests to what the test provisioned, so
they reach the charging core instead of stopping at 404 USER_UNKNOWN.

Only positive (schema-valid) cases are touched, and only with values the schema allows
(a SUPI, a GPSI, mapped rating groups, known MCCs, a ChargingDataRef string): a
schema-breaking case is sent as generated, so negative_data_rejection still judges it.
Which cases are steered depends on the case's own content (its
invocationSequenceNumber), never on a random draw: the run stays reproducible.

Environment: NCHF_ST_IMSI, NCHF_ST_MSISDN (the line), NCHF_ST_UPDATE_REFS and
NCHF_ST_RELEASE_REFS (comma-separated ChargingDataRefs opened by the test).
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis

IMSI = os.environ.get("NCHF_ST_IMSI", "")
MSISDN = os.environ.get("NCHF_ST_MSISDN", "")
UPDATE_REFS = [r for r in os.environ.get("NCHF_ST_UPDATE_REFS", "").split(",") if r]
RELEASE_REFS = [r for r in os.environ.get("NCHF_ST_RELEASE_REFS", "").split(",") if r]
MAPPED_GROUPS = (10, 20, 30, 40)       # data, voice, sms, premium in catalog.toml
KNOWN_MCCS = ("206", "208", "310")     # Belgium (home), France, the United States


def _positive(case: Any) -> bool:
    meta = getattr(case, "meta", None)
    if meta is None:
        return False
    return not meta.generation.mode.is_negative


def _with_mcc(node: Any, mcc: str) -> Any:
    """The same location with every PLMN's MCC a known one (a random one names no
    country: 400 CHARGING_FAILED, before the core)."""
    if isinstance(node, list):
        return [_with_mcc(item, mcc) for item in node]
    if not isinstance(node, dict):
        return node
    return {key: mcc if key == "mcc" and isinstance(value, str) else _with_mcc(value, mcc)
            for key, value in node.items()}


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    body = case.body
    if not _positive(case) or not isinstance(body, dict):
        return case
    sequence = body.get("invocationSequenceNumber")
    if not isinstance(sequence, int) or sequence % 4 == 3:
        return case                                  # one in four left as generated
    path = context.operation.path if context.operation is not None else ""
    steered = dict(body)
    if sequence % 2 == 0:
        steered["subscriberIdentifier"] = f"imsi-{IMSI}"
    else:
        steered.pop("subscriberIdentifier", None)
        pdu = steered.get("pDUSessionChargingInformation")
        pdu = dict(pdu) if isinstance(pdu, dict) else {}
        info = pdu.get("userInformation")
        info = dict(info) if isinstance(info, dict) else {}
        info["servedGPSI"] = f"msisdn-{MSISDN}"
        pdu["userInformation"] = info
        steered["pDUSessionChargingInformation"] = pdu
    usage = steered.get("multipleUnitUsage")
    if isinstance(usage, list):
        steered["multipleUnitUsage"] = [
            {**item, "ratingGroup": MAPPED_GROUPS[(n + sequence) % 4]}
            if isinstance(item, dict) and n < len(MAPPED_GROUPS) else item
            for n, item in enumerate(usage)]
    for member in ("pDUSessionChargingInformation", "sMSChargingInformation"):
        where = steered.get(member)
        if isinstance(where, dict) and "userLocationinfo" in where:
            located = _with_mcc(where["userLocationinfo"], KNOWN_MCCS[sequence % 3])
            steered[member] = {**where, "userLocationinfo": located}
    case.body = steered
    refs = UPDATE_REFS if path.endswith("/update") else RELEASE_REFS \
        if path.endswith("/release") else []
    if refs:
        case.path_parameters = {**(case.path_parameters or {}),
                                "ChargingDataRef": refs[sequence % len(refs)]}
    return case
