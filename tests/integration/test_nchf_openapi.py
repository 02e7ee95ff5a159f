"""Conformance of conso's Nchf_ConvergedCharging v3 with 3GPP TS 32.291 (issue 13, "Tests").

1. `STANDARD` / `OPERATIONS`: what TS 32.291 V17.9.0 (API 3.1.6) and TS 29.571 fix for
   every schema, member, status code and content type conso reads or writes, as conso's
   own table written from the standard; the document conso serves at
   /nchf-convergedcharging/v3/openapi.json is checked against it, so a renamed member, a
   dropped `required`, a changed bound or a lost status code breaks the test.
2. Valid and invalid requests, written by hand (a create of each kind, an update, a
   release, an event, each error status), sent to a real conso server and checked by
   schemathesis's response checks against the served document.
3. schemathesis (its CLI, `st run`) over the served document against the same real
   server: schema-valid and schema-breaking requests from the document, bounded in
   examples, derandomized; no 5xx, no status, content type, header or body outside the
   document, and every schema-breaking request refused.

3GPP's own OpenAPI files are not in the project (3GPP: all rights reserved); conso's
answers were validated against them outside it (docs/nchf.md).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from conso.bootstrap import Services, Settings, build
from conso.nchf.openapi import document

API_ROOT = "/nchf-convergedcharging/v3"
KEY = "nchf-openapi-test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
IMSI, MSISDN = "206019000000001", "32479000001"          # the line the requests reach
BARRED_IMSI, BARRED_MSISDN = "206019000000002", "32479000002"   # data and sms_out barred
NOW = "2025-03-01T10:00:00Z"

# -- 1. what the standard fixes, as conso's own table --------------------------------------------

U32 = {"type": "integer", "minimum": 0, "maximum": 2**32 - 1}        # TS 29.571 Uint32
U64 = {"type": "integer", "minimum": 0, "maximum": 2**64 - 1}        # TS 29.571 Uint64
INTEGER = {"type": "integer"}                                        # e.g. DurationSec
STRING = {"type": "string"}                                          # e.g. Uri
BOOLEAN = {"type": "boolean"}
DATE_TIME = {"type": "string", "format": "date-time"}               # TS 29.571 DateTime
UUID = {"type": "string", "format": "uuid"}                         # NfInstanceId


def ref(schema: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{schema}"}


def array(schema: str, **bounds: int) -> dict[str, Any]:
    return {"type": "array", "items": ref(schema), **bounds}


def pattern(regex: str) -> dict[str, Any]:
    return {"type": "string", "pattern": regex}


def open_enum(*known: str) -> dict[str, Any]:
    """3GPP's extensible enumeration: these values, or any other string."""
    return {"anyOf": [{"type": "string", "enum": list(known)}, {"type": "string"}]}


SUPI = pattern(r"^(imsi-[0-9]{5,15}|nai-.+|gci-.+|gli-.+|.+)$")
GPSI = pattern(r"^(msisdn-[0-9]{5,15}|extid-[^@]+@[^@]+|.+)$")
PEI = pattern(r"^(imei-[0-9]{15}|imeisv-[0-9]{16}|mac((-[0-9a-fA-F]{2}){6})(-untrusted)?"
              r"|eui((-[0-9a-fA-F]{2}){8})|.+)$")


@dataclass(frozen=True)
class Schema:
    required: frozenset[str]
    members: dict[str, dict[str, Any]]


def schema(required: set[str], **members: dict[str, Any]) -> Schema:
    return Schema(frozenset(required), members)


# Every schema of conso's document: its `required` exactly as the standard's, and each
# member conso reads or writes with the standard's JSON name, type, format, bounds,
# pattern and known values. Members the standard has and conso does not model are not
# listed (the objects are open: they pass through unread).
STANDARD: dict[str, Schema] = {
    # TS 32.291
    "ChargingDataRequest": schema(
        {"nfConsumerIdentification", "invocationTimeStamp", "invocationSequenceNumber"},
        subscriberIdentifier=SUPI,
        nfConsumerIdentification=ref("NFIdentification"),
        invocationTimeStamp=DATE_TIME,
        invocationSequenceNumber=U32,
        retransmissionIndicator=BOOLEAN,
        oneTimeEvent=BOOLEAN,
        oneTimeEventType=open_enum("IEC", "PEC"),
        notifyUri=STRING,
        supportedFeatures=pattern(r"^[A-Fa-f0-9]*$"),
        multipleUnitUsage=array("MultipleUnitUsage"),
        triggers=array("Trigger"),
        pDUSessionChargingInformation=ref("PDUSessionChargingInformation"),
        sMSChargingInformation=ref("SMSChargingInformation"),
        roamingQBCInformation=ref("RoamingQBCInformation")),
    "RoamingQBCInformation": schema(
        set(), multipleQFIcontainer=array("MultipleQFIcontainer")),
    "MultipleQFIcontainer": schema(
        {"localSequenceNumber"}, localSequenceNumber=INTEGER,
        qFIContainerInformation=ref("QFIContainerInformation")),
    "QFIContainerInformation": schema(
        {"reportTime"}, reportTime=DATE_TIME, userLocationInformation=ref("UserLocation")),
    "NFIdentification": schema(
        {"nodeFunctionality"},
        nodeFunctionality=open_enum(
            "AMF", "SMF", "SMS", "SMSF", "PGW_C_SMF", "NEFF", "SGW", "I_SMF", "ePDG", "CEF",
            "NEF", "MnS_Producer", "SGSN", "V_SMF", "5G_DDNMF", "IMS_Node", "EES", "PCF",
            "UDM", "UPF"),
        nFName=UUID,
        nFFqdn=STRING),
    "MultipleUnitUsage": schema(
        {"ratingGroup"},
        ratingGroup=U32,
        requestedUnit=ref("RequestedUnit"),
        usedUnitContainer=array("UsedUnitContainer")),
    "RequestedUnit": schema(
        set(), time=U32, totalVolume=U64, uplinkVolume=U64, downlinkVolume=U64,
        serviceSpecificUnits=U64),
    "UsedUnitContainer": schema(
        {"localSequenceNumber"},
        localSequenceNumber=INTEGER, serviceId=U32, time=U32, totalVolume=U64,
        uplinkVolume=U64, downlinkVolume=U64, serviceSpecificUnits=U64,
        triggers=array("Trigger")),
    "Trigger": schema(
        {"triggerCategory"},
        triggerType=STRING,        # TriggerType: open, its values unread by conso
        triggerCategory=open_enum("IMMEDIATE_REPORT", "DEFERRED_REPORT")),
    "PDUSessionChargingInformation": schema(
        set(), userInformation=ref("UserInformation"), userLocationinfo=ref("UserLocation")),
    "UserInformation": schema(
        set(), servedGPSI=GPSI, servedPEI=PEI, unauthenticatedFlag=BOOLEAN,
        roamerInOut=open_enum("IN_BOUND", "OUT_BOUND")),
    "SMSChargingInformation": schema(set(), userLocationinfo=ref("UserLocation")),
    "ChargingDataResponse": schema(
        {"invocationTimeStamp", "invocationSequenceNumber"},
        invocationTimeStamp=DATE_TIME,
        invocationSequenceNumber=U32,
        sessionFailover=open_enum("FAILOVER_NOT_SUPPORTED", "FAILOVER_SUPPORTED"),
        multipleUnitInformation=array("MultipleUnitInformation")),
    "MultipleUnitInformation": schema(
        {"ratingGroup"},
        resultCode=open_enum(
            "SUCCESS", "END_USER_SERVICE_DENIED", "QUOTA_MANAGEMENT_NOT_APPLICABLE",
            "QUOTA_LIMIT_REACHED", "END_USER_SERVICE_REJECTED", "USER_UNKNOWN",
            "RATING_FAILED", "QUOTA_MANAGEMENT"),
        ratingGroup=U32,
        grantedUnit=ref("GrantedUnit"),
        validityTime=INTEGER,
        finalUnitIndication=ref("FinalUnitIndication")),
    "GrantedUnit": schema(set(), time=U32, totalVolume=U64, serviceSpecificUnits=U64),
    "FinalUnitIndication": schema(
        {"finalUnitAction"},
        finalUnitAction=open_enum("TERMINATE", "REDIRECT", "RESTRICT_ACCESS")),
    "ChargingNotifyRequest": schema(
        {"notificationType"},
        notificationType=open_enum("REAUTHORIZATION", "ABORT_CHARGING"),
        reauthorizationDetails=array("ReauthorizationDetails")),
    "ReauthorizationDetails": schema(set(), ratingGroup=U32),
    "ChargingNotifyResponse": schema(set(), invocationResult=ref("InvocationResult")),
    "InvocationResult": schema(
        set(), error=ref("ProblemDetails"),
        failureHandling=open_enum("TERMINATE", "CONTINUE", "RETRY_AND_TERMINATE")),
    # TS 29.571
    "ProblemDetails": schema(
        set(), type=STRING, title=STRING, status=INTEGER, detail=STRING, instance=STRING,
        cause=STRING, invalidParams=array("InvalidParam", minItems=1)),
    "InvalidParam": schema({"param"}, param=STRING, reason=STRING),
    "UserLocation": schema(set(), eutraLocation=ref("EutraLocation"),
                           nrLocation=ref("NrLocation")),
    "EutraLocation": schema({"tai", "ecgi"}, tai=ref("Tai"), ecgi=ref("Ecgi")),
    "NrLocation": schema({"tai", "ncgi"}, tai=ref("Tai"), ncgi=ref("Ncgi")),
    "Tai": schema({"plmnId", "tac"}, plmnId=ref("PlmnId"),
                  tac=pattern(r"(^[A-Fa-f0-9]{4}$)|(^[A-Fa-f0-9]{6}$)")),
    "Ecgi": schema({"plmnId", "eutraCellId"}, plmnId=ref("PlmnId"),
                   eutraCellId=pattern(r"^[A-Fa-f0-9]{7}$")),
    "Ncgi": schema({"plmnId", "nrCellId"}, plmnId=ref("PlmnId"),
                   nrCellId=pattern(r"^[A-Fa-f0-9]{9}$")),
    "PlmnId": schema({"mcc", "mnc"}, mcc=pattern(r"^\d{3}$"), mnc=pattern(r"^\d{2,3}$")),
}

PROBLEM = ("application/problem+json", "ProblemDetails")


@dataclass(frozen=True)
class Operation:
    summary: str
    success: tuple[str, tuple[str, str] | None]      # status, (content type, schema)
    listed: frozenset[str]                           # the error codes TS 32.291 lists
    added: frozenset[str]                            # codes conso adds (see below)
    ref: bool                                        # has the ChargingDataRef parameter


# The codes 3GPP lists (each operation also has a content-less `default`) and conso's
# choices: it leaves out what it never answers (307/308: it does not redirect; 405,
# 408, 410) and adds 415 (a body that is not application/json, TS 29.500) and, for a
# release, 400 (3GPP's `default`): a document listing only real answers lets
# schemathesis flag any other status.
NOT_SENT = frozenset({"307", "308", "405", "408", "410"})
OPERATIONS: dict[str, Operation] = {
    "/chargingdata": Operation(
        "Nchf_ConvergedCharging_Create", ("201", ("application/json", "ChargingDataResponse")),
        frozenset({"307", "308", "400", "401", "403", "404", "405", "408", "410", "411",
                   "413", "500", "503"}), frozenset({"415"}), ref=False),
    "/chargingdata/{ChargingDataRef}/update": Operation(
        "Nchf_ConvergedCharging_Update", ("200", ("application/json", "ChargingDataResponse")),
        frozenset({"307", "308", "400", "401", "403", "404", "405", "408", "410", "411",
                   "413", "500", "503"}), frozenset({"415"}), ref=True),
    "/chargingdata/{ChargingDataRef}/release": Operation(
        "Nchf_ConvergedCharging_Release", ("204", None),
        frozenset({"307", "308", "401", "404", "410", "411", "413", "500", "503"}),
        frozenset({"400", "415"}), ref=True),
}


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _content(response: dict[str, Any]) -> tuple[str, str] | None:
    content = response.get("content")
    if content is None:
        return None
    assert len(content) == 1, content
    (media, body), = content.items()
    return media, body["schema"]["$ref"].rsplit("/", 1)[1]


# -- the server ----------------------------------------------------------------------------------


@dataclass
class Nchf:
    base: str              # http://127.0.0.1:<port>/nchf-convergedcharging/v3
    services: Services
    client: httpx.Client

    def create(self, body: dict[str, Any]) -> httpx.Response:
        return self.client.post("/chargingdata", json=body)


def request(sequence: int = 0, *, imsi: str | None = IMSI, **members: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "nfConsumerIdentification": {"nodeFunctionality": "SMF",
                                     "nFName": "0f4c6d2e-5b1a-4e8f-9c3d-7a6b5c4d3e2f"},
        "invocationTimeStamp": NOW, "invocationSequenceNumber": sequence}
    if imsi is not None:
        body["subscriberIdentifier"] = f"imsi-{imsi}"
    body.update(members)
    return body


def usage(group: int, **requested: int) -> dict[str, Any]:
    return {"ratingGroup": group, "requestedUnit": requested} if requested \
        else {"ratingGroup": group}


@pytest.fixture(scope="module")
def nchf(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nchf]:
    workdir = tmp_path_factory.mktemp("nchf-openapi")
    services = build(Settings(db=f"sqlite:///{workdir}/conso.db", operator_key=KEY,
                              nchf="127.0.0.1:0"))
    try:
        engine = services.engine
        engine.put_account("st", name="schemathesis", kind="business")
        for imsi, msisdn in ((IMSI, MSISDN), (BARRED_IMSI, BARRED_MSISDN)):
            engine.put_line(f"+{msisdn}", account_id="st", plan_id="payg", user_login=None,
                            cycle_day=None, imsi=imsi, keep_imsi=False)
        barred = engine.line(f"+{BARRED_MSISDN}")
        assert barred is not None
        services.control.set_barring(barred, {"data": True, "sms_out": True}, "test")
        services.start()
        base = f"http://127.0.0.1:{services.nchf.port}{API_ROOT}"
        with httpx.Client(base_url=base, headers=AUTH, timeout=30) as client:
            yield Nchf(base, services, client)
    finally:
        services.close()


@pytest.fixture(scope="module")
def served(nchf: Nchf) -> dict[str, Any]:
    answer = nchf.client.get("/openapi.json")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    document: dict[str, Any] = answer.json()
    return document


# -- 1. the served document against the table ------------------------------------------------


def test_the_served_document_is_valid_openapi_3_0(served: dict[str, Any]) -> None:
    assert served == json.loads(json.dumps(document()))
    assert served["openapi"] == "3.0.0"
    assert served["info"]["title"] == "Nchf_ConvergedCharging"
    assert served["info"]["version"] == "3.1.6"
    assert served["servers"][0]["url"].endswith(API_ROOT)
    schemathesis.openapi.from_dict(served).validate()      # the OpenAPI 3.0 meta-schema
    # 3.0's dialect (no `null` type), and nothing nullable: 3GPP marks no member of these
    # schemas `nullable`, so a JSON null is as wrong as a wrong type.
    for node in _walk(served):
        assert node.get("type") != "null" and "nullable" not in node, node
        assert node.get("additionalProperties") is not False, node   # objects stay open
    flows = served["components"]["securitySchemes"]["oAuth2ClientCredentials"]
    assert flows["type"] == "oauth2"
    assert "nchf-convergedcharging" in flows["flows"]["clientCredentials"]["scopes"]


def test_every_schema_follows_ts_32_291(served: dict[str, Any]) -> None:
    schemas = served["components"]["schemas"]
    assert sorted(schemas) == sorted(STANDARD)
    for name, expected in STANDARD.items():
        found = schemas[name]
        assert found.get("type") == "object", name
        assert frozenset(found.get("required", ())) == expected.required, name
        members = found.get("properties", {})
        assert sorted(members) == sorted(expected.members), name
        for member, spec in expected.members.items():
            got = {k: v for k, v in members[member].items() if k != "description"}
            assert got == spec, f"{name}.{member}: {got} is not {spec}"


def test_every_operation_follows_ts_32_291(served: dict[str, Any]) -> None:
    paths = served["paths"]
    assert sorted(paths) == sorted(OPERATIONS)
    for path, expected in OPERATIONS.items():
        assert list(paths[path]) == ["post"], path
        operation = paths[path]["post"]
        assert operation["summary"] == expected.summary
        body = operation["requestBody"]
        assert body["required"] is True
        assert _content(body) == ("application/json", "ChargingDataRequest")
        parameters = operation.get("parameters", [])
        if expected.ref:
            assert parameters == [{
                "name": "ChargingDataRef", "in": "path", "required": True,
                "schema": {"type": "string"},
                "description": parameters[0].get("description")}]
        else:
            assert parameters == []
        responses = operation["responses"]
        status, content = expected.success
        errors = (expected.listed - NOT_SENT) | expected.added
        assert sorted(responses) == sorted({status} | errors), path
        assert _content(responses[status]) == content, path
        for code in errors:
            assert _content(responses[code]) == PROBLEM, (path, code)
    created = paths["/chargingdata"]["post"]["responses"]["201"]
    # TS 32.291 6.1.3.1: the ChargingDataRef comes back in the Location header.
    assert created["headers"]["Location"]["required"] is True
    assert created["headers"]["Location"]["schema"] == STRING
    notify = paths["/chargingdata"]["post"]["callbacks"]["chargingNotification"]
    notify = notify["{$request.body#/notifyUri}"]["post"]
    assert _content(notify["requestBody"]) == ("application/json", "ChargingNotifyRequest")
    assert sorted(notify["responses"]) == ["200", "204", "400"]


# -- 2. hand-written requests, answers checked against the served document -------------------

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]


@dataclass(frozen=True)
class Example:
    name: str
    path: str                          # the path template
    body: Any                          # JSON body, or bytes sent as they are
    status: int
    cause: str | None = None
    ref: str | None = None             # "open": a ChargingDataRef the example opens first
    headers: tuple[tuple[str, str], ...] = ()


CREATE, UPDATE, RELEASE = list(OPERATIONS)
DATA = [usage(10, totalVolume=1_000_000)]
EXAMPLES = [
    Example("create, data by SUPI", CREATE, request(1, multipleUnitUsage=DATA), 201),
    Example("create, data and voice by GPSI", CREATE, request(
        2, imsi=None, multipleUnitUsage=[usage(10, uplinkVolume=1, downlinkVolume=2),
                                         usage(20, time=60), usage(99)],
        pDUSessionChargingInformation={
            "userInformation": {"servedGPSI": f"msisdn-{MSISDN}"},
            "userLocationinfo": {"nrLocation": {
                "tai": {"plmnId": {"mcc": "206", "mnc": "01"}, "tac": "00a1b2"},
                "ncgi": {"plmnId": {"mcc": "206", "mnc": "01"}, "nrCellId": "00000a0b1"}}}}),
        201),
    Example("create, default quota", CREATE, request(3, multipleUnitUsage=[usage(10)]), 201),
    Example("event, SMS", CREATE, request(
        0, oneTimeEvent=True, oneTimeEventType="IEC",
        nfConsumerIdentification={"nodeFunctionality": "SMSF"},
        multipleUnitUsage=[usage(30, serviceSpecificUnits=1)]), 201),
    # premium has no price in TS 32.291's units: refused, never granted for free
    Example("event, premium", CREATE, request(
        0, oneTimeEvent=True, oneTimeEventType="IEC",
        multipleUnitUsage=[usage(40, serviceSpecificUnits=1)]), 400, cause="CHARGING_FAILED"),
    Example("update", UPDATE, request(1, multipleUnitUsage=[{
        **usage(10, totalVolume=500_000),
        "usedUnitContainer": [{"localSequenceNumber": 1, "totalVolume": 400_000,
                               "triggers": [{"triggerCategory": "IMMEDIATE_REPORT",
                                             "triggerType": "QUOTA_EXHAUSTED"}]}]}]),
        200, ref="open"),
    Example("release", RELEASE, request(1, multipleUnitUsage=[{
        "ratingGroup": 10, "usedUnitContainer": [{"localSequenceNumber": 1,
                                                  "totalVolume": 1000}]}]), 204, ref="open"),
    Example("400, members missing", CREATE, {"invocationSequenceNumber": "1"}, 400,
            "MANDATORY_IE_MISSING"),
    Example("400, null member", CREATE, request(4, notifyUri=None), 400,
            "MANDATORY_IE_INCORRECT"),
    Example("400, not RFC 3339", CREATE, request(5, invocationTimeStamp="2025-03-01"), 400,
            "MANDATORY_IE_INCORRECT"),
    Example("400, not JSON", CREATE, b'{"invocationSequenceNumber": ', 400,
            "INVALID_MSG_FORMAT"),
    Example("400, no rating group rated", CREATE, request(6, multipleUnitUsage=[usage(99)]),
            400, "CHARGING_FAILED"),
    Example("400, release body breaks the schema", RELEASE, request(-1), 400,
            "MANDATORY_IE_INCORRECT", ref="open"),
    Example("401", CREATE, request(7, multipleUnitUsage=DATA), 401,
            headers=(("Authorization", "Bearer wrong"),)),
    Example("403, barred", CREATE, request(8, imsi=BARRED_IMSI, multipleUnitUsage=DATA), 403,
            "END_USER_REQUEST_DENIED"),
    Example("403, barred event", CREATE, request(
        0, imsi=BARRED_IMSI, oneTimeEvent=True, multipleUnitUsage=[usage(30)]), 403,
        "END_USER_REQUEST_DENIED"),
    Example("404, unknown subscriber", CREATE, request(9, imsi="999999999999999"), 404,
            "USER_UNKNOWN"),
    Example("404, unknown ref (update)", UPDATE, request(2), 404),
    Example("404, unknown ref (release)", RELEASE, request(2), 404),
    Example("413", CREATE, b'{"pad": "' + b"x" * (2 << 20) + b'"}', 413),
    Example("415", CREATE, json.dumps(request(10)).encode(), 415,
            headers=(("Content-Type", "text/plain"),)),
]


_OPENED = itertools.count(100)      # a fresh body, so a fresh ChargingDataRef, each time


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_answers_follow_the_served_document(nchf: Nchf, served: dict[str, Any],
                                            example: Example) -> None:
    operation = schemathesis.openapi.from_dict(served)[example.path]["POST"]
    ref = "no-such-ref"
    if example.ref == "open":
        opened = nchf.create(request(next(_OPENED), multipleUnitUsage=DATA))
        assert opened.status_code == 201, opened.text
        ref = opened.headers["location"].rsplit("/", 1)[1]
    path = example.path.replace("{ChargingDataRef}", ref)
    headers = {"Content-Type": "application/json", **dict(example.headers)}
    content = example.body if isinstance(example.body, bytes) else json.dumps(example.body)
    answer = nchf.client.post(path, content=content, headers=headers)
    case = operation.Case(body=example.body if isinstance(example.body, dict) else {},
                          path_parameters={"ChargingDataRef": ref} if "{" in example.path
                          else None)
    case.validate_response(answer, checks=CHECKS)      # raises on any check that fails
    assert answer.status_code == example.status, answer.text
    if answer.status_code >= 400:
        problem = answer.json()
        assert problem["status"] == example.status
        assert problem.get("cause") == example.cause, problem
        if example.cause in ("MANDATORY_IE_MISSING", "MANDATORY_IE_INCORRECT"):
            assert problem["invalidParams"], problem
    if answer.status_code == 201:
        location = answer.headers["location"]
        assert f"{API_ROOT}/chargingdata/" in location
    if example.name == "400, members missing":
        named = {p["param"] for p in answer.json()["invalidParams"]}
        assert named == {"/nfConsumerIdentification", "/invocationTimeStamp",
                         "/invocationSequenceNumber"}


# -- 3. schemathesis over the served document ---------------------------------------------------

MAX_EXAMPLES = 150         # per operation (fuzzing); with coverage, about 30 s in all
SEED = 32291
ST_CHECKS = ["not_a_server_error", "status_code_conformance", "content_type_conformance",
             "response_headers_conformance", "response_schema_conformance",
             "negative_data_rejection"]


def test_schemathesis_finds_nothing(nchf: Nchf, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Generated requests, schema-valid and schema-breaking, over conso's document.

    negative_data_rejection is on: conso's objects are open, but every member the
    document names is checked by the same models that produced it, so a request that
    breaks the document (a wrong type, a bound, a pattern, a format, a missing required
    member, a null) must be refused with a 4xx, never charged."""
    update_refs, release_refs = [], []
    for n in range(6):
        opened = nchf.create(request(1000 + n, multipleUnitUsage=DATA))
        assert opened.status_code == 201, opened.text
        ref = opened.headers["location"].rsplit("/", 1)[1]
        (update_refs if n < 3 else release_refs).append(ref)
    report, events = tmp_path / "schemathesis.json", tmp_path / "schemathesis.ndjson"
    env = {**os.environ,
           "SCHEMATHESIS_HOOKS": str(Path(__file__).with_name("nchf_schemathesis_hooks.py")),
           "NCHF_ST_IMSI": IMSI, "NCHF_ST_MSISDN": MSISDN,
           "NCHF_ST_UPDATE_REFS": ",".join(update_refs),
           "NCHF_ST_RELEASE_REFS": ",".join(release_refs)}
    command = [
        sys.executable, "-m", "schemathesis.cli", "run", f"{nchf.base}/openapi.json",
        "--url", nchf.base, "--header", f"Authorization: Bearer {KEY}",
        "--checks", ",".join(ST_CHECKS),
        "--phases", "examples,coverage,fuzzing", "--mode", "all",
        "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED),
        "--generation-deterministic",
        "--workers", "1", "--request-timeout", "10", "--suppress-health-check", "all",
        "--no-color", "--report", "json,ndjson", "--report-json-path", str(report),
        "--report-ndjson-path", str(events),
    ]
    started = time.monotonic()
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300,
                         check=False, cwd=tmp_path)
    elapsed = time.monotonic() - started
    summary = _summary(report, events, elapsed)
    with capsys.disabled():
        print(f"\n{summary}")
    assert run.returncode == 0, f"{summary}\n{run.stdout[-20000:]}\n{run.stderr[-5000:]}"


def _summary(report: Path, events: Path, elapsed: float) -> str:
    """The counts of a run, for the CI log: operations, cases by mode and answer,
    failures, time."""
    try:
        data = json.loads(report.read_text())
    except (OSError, ValueError):
        return f"schemathesis: no report ({elapsed:.1f} s)"
    answers: Counter[tuple[str, int | None]] = Counter()
    with contextlib.suppress(OSError, ValueError):
        for line in events.read_text().splitlines():
            event = json.loads(line)
            recorder = event.get("ScenarioFinished", {}).get("recorder") or {}
            for case_id, case in recorder.get("cases", {}).items():
                mode = case["value"]["meta"]["generation"]["mode"]
                exchange = recorder.get("interactions", {}).get(case_id) or {}
                answers[mode, (exchange.get("response") or {}).get("status_code")] += 1
    cases, operations = data["test_cases"], data["operations"]
    by_mode = "; ".join(
        f"{mode} {sum(n for (m, _), n in answers.items() if m == mode)} ("
        + ", ".join(f"{status}: {n}" for (m, status), n in sorted(answers.items(), key=str)
                    if m == mode) + ")"
        for mode in ("positive", "negative"))
    return (f"schemathesis {data['schemathesis_version']}: {operations['tested']} operations, "
            f"{cases['generated']} cases ({by_mode}), {cases['with_failures']} failing, "
            f"{cases['unique_failures']} unique failures, {cases['errored']} errors; "
            f"{data['running_time']:.1f} s in schemathesis, {elapsed:.1f} s in all")
