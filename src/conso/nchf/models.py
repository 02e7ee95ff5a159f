"""conso's models of the Nchf_ConvergedCharging v3 messages it reads and writes
(3GPP TS 32.291 V17.9.0, API version 3.1.6, with TS 29.571's common types), written
from the standard.

Only what conso uses is modelled; every object stays open (3GPP's schemas allow
members they do not list), so an SMF's other members pass through unread. JSON names
are 3GPP's, casing quirks included (`userLocationinfo`, `pDUSessionChargingInformation`,
`nFName`); Python names are snake_case with the JSON name as alias.

What a request may hold is 3GPP's schema, so that what conso's document (openapi.py)
says, what it accepts and what the standard says agree, all checked by pydantic's core
(no Python code runs per member: every SMF request passes here):
- no member is nullable (TS 29.501 marks the few that are; none here): a JSON `null`
  for a member conso reads is refused, as a wrong type; a member left out is absent
  (`Opt[...]`: None in Python);
- integers are strict (a quoted number or 1.0 is refused), bounded like TS 29.571's
  Uint32 / Uint64; booleans are strict;
- DateTime is an RFC 3339 date-time (seconds and an offset, `T` or `t`); a leap second
  (:60) and year 0000, which Python's datetime cannot hold, are refused;
- NfInstanceId is a UUID in its 8-4-4-4-12 hexadecimal form;
- patterns are TS 29.571's, with ECMA 262's meaning (`\\d` is an ASCII digit);
- 3GPP's enumerations are open (`anyOf: [enum, string]`): any string is read, the
  known values are documented;
- a string that reaches the charging core or the store (the SUPI, the GPSI, notifyUri) is
  text (domain/text.py): a control character is refused at its member (`Text`, the one
  check written in Python; the document keeps 3GPP's pattern).
The answers conso writes are built in Python (None: left out when serialized with
exclude_none) and never hold a null.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from conso.domain.text import is_clean_text, text_problem

UINT32_MAX = 4_294_967_295
UINT64_MAX = 18_446_744_073_709_551_615

# TS 29.571 simple types.
Uint32 = Annotated[int, Field(ge=0, le=UINT32_MAX)]
Uint64 = Annotated[int, Field(ge=0, le=UINT64_MAX)]


class _NotNull:
    """`X | None` read as "X, or left out": the null branch of the core schema goes,
    so a JSON null is refused like any other wrong type while an absent member still
    takes its default (None), which pydantic does not validate."""

    def __get_pydantic_core_schema__(self, source: Any,
                                     handler: GetCoreSchemaHandler) -> CoreSchema:
        schema = handler(source)
        return schema["schema"] if schema["type"] == "nullable" else schema


_T = TypeVar("_T")
# An optional member of a request: absent (None), never null.
Opt = Annotated[_T | None, _NotNull()]

RFC3339 = (r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt]"
           r"([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?"
           r"([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$")


class _Rfc3339:
    """A string of RFC 3339's date-time form, then read as a datetime (which checks the
    day of the month)."""

    def __get_pydantic_core_schema__(self, source: Any,
                                     handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.chain_schema([core_schema.str_schema(pattern=RFC3339),
                                         core_schema.datetime_schema(strict=False)])


DATE_TIME = {"type": "string", "format": "date-time"}
# TS 29.571 DateTime in a request, and in an answer (built in Python).
DateTime = Annotated[datetime, _Rfc3339(), WithJsonSchema(DATE_TIME)]
AnswerDateTime = Annotated[datetime, WithJsonSchema(DATE_TIME)]

NfInstanceId = Annotated[str, StringConstraints(
    pattern=r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"),
    WithJsonSchema({"type": "string", "format": "uuid"})]


def _ecma(pattern: str) -> WithJsonSchema:
    """3GPP's pattern as the document shows it (ECMA 262, where `\\d` is [0-9]); the
    check is written with [0-9], as pydantic reads `\\d` as any Unicode digit."""
    return WithJsonSchema({"type": "string", "pattern": pattern})


def _text(value: str) -> str:
    if not is_clean_text(value):
        raise PydanticCustomError("control_character", text_problem(value) or "not text")
    return value


# A string conso hands to the charging core or keeps: no control character, no lone
# surrogate (domain/text.py). The JSON schema is unchanged.
Text = AfterValidator(_text)

Mcc = Annotated[str, StringConstraints(pattern=r"^[0-9]{3}$"), _ecma(r"^\d{3}$")]
Mnc = Annotated[str, StringConstraints(pattern=r"^[0-9]{2,3}$"), _ecma(r"^\d{2,3}$")]
Tac = Annotated[str, StringConstraints(pattern=r"(^[A-Fa-f0-9]{4}$)|(^[A-Fa-f0-9]{6}$)")]
EutraCellId = Annotated[str, StringConstraints(pattern=r"^[A-Fa-f0-9]{7}$")]
NrCellId = Annotated[str, StringConstraints(pattern=r"^[A-Fa-f0-9]{9}$")]
SupportedFeatures = Annotated[str, StringConstraints(pattern=r"^[A-Fa-f0-9]*$")]
# SUPI, GPSI, PEI: 3GPP's alternatives end in `.+`, so any one-line string is valid;
# which forms name a line (imsi-…, msisdn-…) is conso's rule, not the schema's.
Supi = Annotated[str, StringConstraints(
    pattern=r"^(imsi-[0-9]{5,15}|nai-.+|gci-.+|gli-.+|.+)$"), Text]
Gpsi = Annotated[str, StringConstraints(pattern=r"^(msisdn-[0-9]{5,15}|extid-[^@]+@[^@]+|.+)$"),
                 Text]
# TS 29.571 Uri: any string; conso keeps it (where notifications go).
Uri = Annotated[str, Text]
Pei = Annotated[str, StringConstraints(
    pattern=r"^(imei-[0-9]{15}|imeisv-[0-9]{16}|mac((-[0-9a-fA-F]{2}){6})(-untrusted)?"
            r"|eui((-[0-9a-fA-F]{2}){8})|.+)$")]


def _open_enum(*known: str) -> WithJsonSchema:
    """3GPP's extensible enumeration: any string, these values known."""
    return WithJsonSchema({"anyOf": [{"type": "string", "enum": list(known)},
                                     {"type": "string"}]})


NodeFunctionality = Annotated[str, _open_enum(
    "AMF", "SMF", "SMS", "SMSF", "PGW_C_SMF", "NEFF", "SGW", "I_SMF", "ePDG", "CEF", "NEF",
    "MnS_Producer", "SGSN", "V_SMF", "5G_DDNMF", "IMS_Node", "EES", "PCF", "UDM", "UPF")]
OneTimeEventType = Annotated[str, _open_enum("IEC", "PEC")]
TriggerCategory = Annotated[str, _open_enum("IMMEDIATE_REPORT", "DEFERRED_REPORT")]
# TriggerType: conso reads none of its (many) values; any string.
TriggerType = Annotated[str, WithJsonSchema({"type": "string"})]
RoamerInOut = Annotated[str, _open_enum("IN_BOUND", "OUT_BOUND")]
ResultCode = Annotated[str, _open_enum(
    "SUCCESS", "END_USER_SERVICE_DENIED", "QUOTA_MANAGEMENT_NOT_APPLICABLE",
    "QUOTA_LIMIT_REACHED", "END_USER_SERVICE_REJECTED", "USER_UNKNOWN", "RATING_FAILED",
    "QUOTA_MANAGEMENT")]
FinalUnitAction = Annotated[str, _open_enum("TERMINATE", "REDIRECT", "RESTRICT_ACCESS")]
SessionFailover = Annotated[str, _open_enum("FAILOVER_NOT_SUPPORTED", "FAILOVER_SUPPORTED")]
NotificationType = Annotated[str, _open_enum("REAUTHORIZATION", "ABORT_CHARGING")]
FailureHandling = Annotated[str, _open_enum("TERMINATE", "CONTINUE", "RETRY_AND_TERMINATE")]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, strict=True,
                              serialize_by_alias=True)


class PlmnId(_Open):
    mcc: Mcc
    mnc: Mnc


class Tai(_Open):
    plmn_id: PlmnId = Field(alias="plmnId")
    tac: Tac


class Ecgi(_Open):
    plmn_id: PlmnId = Field(alias="plmnId")
    eutra_cell_id: EutraCellId = Field(alias="eutraCellId")


class Ncgi(_Open):
    plmn_id: PlmnId = Field(alias="plmnId")
    nr_cell_id: NrCellId = Field(alias="nrCellId")


class EutraLocation(_Open):
    tai: Tai
    ecgi: Ecgi


class NrLocation(_Open):
    tai: Tai
    ncgi: Ncgi


class UserLocation(_Open):
    """Where the subscriber is: the serving cell's PLMN gives the country (its MCC)."""

    eutra_location: Opt[EutraLocation] = Field(None, alias="eutraLocation")
    nr_location: Opt[NrLocation] = Field(None, alias="nrLocation")


class UserInformation(_Open):
    served_gpsi: Opt[Gpsi] = Field(None, alias="servedGPSI",
                                   description="msisdn-<digits> names the line")
    served_pei: Opt[Pei] = Field(None, alias="servedPEI")
    unauthenticated_flag: Opt[bool] = Field(None, alias="unauthenticatedFlag")
    roamer_in_out: Opt[RoamerInOut] = Field(None, alias="roamerInOut")


class PDUSessionChargingInformation(_Open):
    user_information: Opt[UserInformation] = Field(None, alias="userInformation")
    user_locationinfo: Opt[UserLocation] = Field(None, alias="userLocationinfo")


class SMSChargingInformation(_Open):
    user_locationinfo: Opt[UserLocation] = Field(None, alias="userLocationinfo")


class QFIContainerInformation(_Open):
    report_time: DateTime = Field(alias="reportTime")
    user_location_information: Opt[UserLocation] = Field(None,
                                                         alias="userLocationInformation")


class MultipleQFIcontainer(_Open):
    local_sequence_number: int = Field(alias="localSequenceNumber")
    qfi_container_information: Opt[QFIContainerInformation] = Field(
        None, alias="qFIContainerInformation")


class RoamingQBCInformation(_Open):
    """Charging of a roaming PDU session (the visited SMF's QoS-based containers): the
    location of its containers tells the country when the request has no
    userLocationinfo."""

    multiple_qfi_container: Opt[list[MultipleQFIcontainer]] = Field(
        None, alias="multipleQFIcontainer")


class NFIdentification(_Open):
    node_functionality: NodeFunctionality = Field(alias="nodeFunctionality")
    nf_name: Opt[NfInstanceId] = Field(None, alias="nFName")
    nf_fqdn: Opt[str] = Field(None, alias="nFFqdn")


class Trigger(_Open):
    trigger_type: Opt[TriggerType] = Field(None, alias="triggerType")
    trigger_category: TriggerCategory = Field(alias="triggerCategory")


class RequestedUnit(_Open):
    time: Opt[Uint32] = None
    total_volume: Opt[Uint64] = Field(None, alias="totalVolume")
    uplink_volume: Opt[Uint64] = Field(None, alias="uplinkVolume")
    downlink_volume: Opt[Uint64] = Field(None, alias="downlinkVolume")
    service_specific_units: Opt[Uint64] = Field(None, alias="serviceSpecificUnits")


class UsedUnitContainer(_Open):
    local_sequence_number: int = Field(alias="localSequenceNumber")
    service_id: Opt[Uint32] = Field(None, alias="serviceId")
    time: Opt[Uint32] = None
    total_volume: Opt[Uint64] = Field(None, alias="totalVolume")
    uplink_volume: Opt[Uint64] = Field(None, alias="uplinkVolume")
    downlink_volume: Opt[Uint64] = Field(None, alias="downlinkVolume")
    service_specific_units: Opt[Uint64] = Field(None, alias="serviceSpecificUnits")
    triggers: Opt[list[Trigger]] = None


class MultipleUnitUsage(_Open):
    rating_group: Uint32 = Field(alias="ratingGroup")
    requested_unit: Opt[RequestedUnit] = Field(None, alias="requestedUnit")
    used_unit_container: Opt[list[UsedUnitContainer]] = Field(None,
                                                              alias="usedUnitContainer")


class ChargingDataRequest(_Open):
    subscriber_identifier: Opt[Supi] = Field(
        None, alias="subscriberIdentifier",
        description="imsi-<digits> names the line whose imsi it is")
    nf_consumer_identification: NFIdentification = Field(alias="nfConsumerIdentification")
    invocation_time_stamp: DateTime = Field(alias="invocationTimeStamp")
    invocation_sequence_number: Uint32 = Field(alias="invocationSequenceNumber")
    retransmission_indicator: Opt[bool] = Field(None, alias="retransmissionIndicator")
    one_time_event: Opt[bool] = Field(None, alias="oneTimeEvent")
    one_time_event_type: Opt[OneTimeEventType] = Field(None, alias="oneTimeEventType")
    notify_uri: Opt[Uri] = Field(None, alias="notifyUri")
    supported_features: Opt[SupportedFeatures] = Field(None, alias="supportedFeatures")
    multiple_unit_usage: Opt[list[MultipleUnitUsage]] = Field(None,
                                                              alias="multipleUnitUsage")
    triggers: Opt[list[Trigger]] = None
    pdu_session_charging_information: Opt[PDUSessionChargingInformation] = Field(
        None, alias="pDUSessionChargingInformation")
    sms_charging_information: Opt[SMSChargingInformation] = Field(
        None, alias="sMSChargingInformation")
    roaming_qbc_information: Opt[RoamingQBCInformation] = Field(
        None, alias="roamingQBCInformation")


class GrantedUnit(_Open):
    time: Uint32 | None = None
    total_volume: Uint64 | None = Field(None, alias="totalVolume")
    service_specific_units: Uint64 | None = Field(None, alias="serviceSpecificUnits")


class FinalUnitIndication(_Open):
    final_unit_action: FinalUnitAction = Field(alias="finalUnitAction")


class MultipleUnitInformation(_Open):
    result_code: ResultCode | None = Field(None, alias="resultCode")
    rating_group: Uint32 = Field(alias="ratingGroup")
    granted_unit: GrantedUnit | None = Field(None, alias="grantedUnit")
    validity_time: int | None = Field(None, alias="validityTime")
    final_unit_indication: FinalUnitIndication | None = Field(None,
                                                              alias="finalUnitIndication")


class ChargingDataResponse(_Open):
    invocation_time_stamp: AnswerDateTime = Field(alias="invocationTimeStamp")
    invocation_sequence_number: Uint32 = Field(alias="invocationSequenceNumber")
    session_failover: SessionFailover | None = Field(None, alias="sessionFailover")
    multiple_unit_information: list[MultipleUnitInformation] | None = Field(
        None, alias="multipleUnitInformation")


class ReauthorizationDetails(_Open):
    rating_group: Uint32 | None = Field(None, alias="ratingGroup")


class ChargingNotifyRequest(_Open):
    notification_type: NotificationType = Field(alias="notificationType")
    reauthorization_details: list[ReauthorizationDetails] | None = Field(
        None, alias="reauthorizationDetails")


class InvalidParam(_Open):
    param: str
    reason: str | None = None


class ProblemDetails(_Open):
    type: str | None = None
    title: str | None = None
    status: int | None = None
    detail: str | None = None
    instance: str | None = None
    cause: str | None = None
    invalid_params: list[InvalidParam] | None = Field(None, alias="invalidParams",
                                                      min_length=1)


class InvocationResult(_Open):
    error: ProblemDetails | None = None
    failure_handling: FailureHandling | None = Field(None, alias="failureHandling")


class ChargingNotifyResponse(_Open):
    """The SMF's answer to a notification (conso reads only its status code)."""

    invocation_result: InvocationResult | None = Field(None, alias="invocationResult")
