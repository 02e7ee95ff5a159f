"""conso's models of the Nchf_ConvergedCharging v3 messages it reads and writes
(3GPP TS 32.291, with TS 29.571's common types), written from the standard.

Only what conso uses is modelled; every object stays open (3GPP's schemas allow
members they do not list), so an SMF's other members pass through unread. JSON names
are 3GPP's, casing quirks included (`userLocationinfo`, `pDUSessionChargingInformation`);
Python names are snake_case with the JSON name as alias. 3GPP's enumerations are open
("anyOf: enum, string"), so they are strings here, with the known values documented.
Integers are strict (a quoted number is refused, not read), bounded like TS 29.571's
Uint32 / Uint64.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

UINT32_MAX = 4_294_967_295
UINT64_MAX = 18_446_744_073_709_551_615

Uint32 = Annotated[int, Field(ge=0, le=UINT32_MAX)]
Uint64 = Annotated[int, Field(ge=0, le=UINT64_MAX)]
# TS 29.571 DateTime: an RFC 3339 string (read as such also in strict mode).
DateTime = Annotated[datetime, Field(strict=False)]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, strict=True,
                              serialize_by_alias=True)


class PlmnId(_Open):
    mcc: str = Field(pattern=r"^\d{3}$")
    mnc: str = Field(pattern=r"^\d{2,3}$")


class Tai(_Open):
    plmn_id: PlmnId = Field(alias="plmnId")
    tac: str = Field(pattern=r"(^[A-Fa-f0-9]{4}$)|(^[A-Fa-f0-9]{6}$)")


class Ecgi(_Open):
    plmn_id: PlmnId = Field(alias="plmnId")
    eutra_cell_id: str = Field(alias="eutraCellId", pattern=r"^[A-Fa-f0-9]{7}$")


class Ncgi(_Open):
    plmn_id: PlmnId = Field(alias="plmnId")
    nr_cell_id: str = Field(alias="nrCellId", pattern=r"^[A-Fa-f0-9]{9}$")


class EutraLocation(_Open):
    tai: Tai
    ecgi: Ecgi


class NrLocation(_Open):
    tai: Tai
    ncgi: Ncgi


class UserLocation(_Open):
    """Where the subscriber is: the serving cell's PLMN gives the country (its MCC)."""

    eutra_location: EutraLocation | None = Field(None, alias="eutraLocation")
    nr_location: NrLocation | None = Field(None, alias="nrLocation")


class UserInformation(_Open):
    served_gpsi: str | None = Field(None, alias="servedGPSI", min_length=1,
                                    description="Gpsi: msisdn-<digits> names the line")
    served_pei: str | None = Field(None, alias="servedPEI", min_length=1)
    unauthenticated_flag: bool | None = Field(None, alias="unauthenticatedFlag")
    roamer_in_out: str | None = Field(None, alias="roamerInOut",
                                      description="RoamerInOut: IN_BOUND, OUT_BOUND")


class PDUSessionChargingInformation(_Open):
    user_information: UserInformation | None = Field(None, alias="userInformation")
    user_locationinfo: UserLocation | None = Field(None, alias="userLocationinfo")


class SMSChargingInformation(_Open):
    user_locationinfo: UserLocation | None = Field(None, alias="userLocationinfo")


class NFIdentification(_Open):
    node_functionality: str = Field(
        alias="nodeFunctionality",
        description="NodeFunctionality: AMF, SMF, SMSF, PGW_C_SMF, ... (open)")
    nf_name: str | None = Field(None, alias="nFName", json_schema_extra={"format": "uuid"})
    nf_fqdn: str | None = Field(None, alias="nFFqdn")


class Trigger(_Open):
    trigger_type: str | None = Field(None, alias="triggerType")
    trigger_category: str = Field(alias="triggerCategory",
                                  description="TriggerCategory: IMMEDIATE_REPORT, "
                                              "DEFERRED_REPORT")


class RequestedUnit(_Open):
    time: Uint32 | None = None
    total_volume: Uint64 | None = Field(None, alias="totalVolume")
    uplink_volume: Uint64 | None = Field(None, alias="uplinkVolume")
    downlink_volume: Uint64 | None = Field(None, alias="downlinkVolume")
    service_specific_units: Uint64 | None = Field(None, alias="serviceSpecificUnits")


class UsedUnitContainer(_Open):
    local_sequence_number: int = Field(alias="localSequenceNumber")
    service_id: Uint32 | None = Field(None, alias="serviceId")
    time: Uint32 | None = None
    total_volume: Uint64 | None = Field(None, alias="totalVolume")
    uplink_volume: Uint64 | None = Field(None, alias="uplinkVolume")
    downlink_volume: Uint64 | None = Field(None, alias="downlinkVolume")
    service_specific_units: Uint64 | None = Field(None, alias="serviceSpecificUnits")
    triggers: list[Trigger] | None = None


class MultipleUnitUsage(_Open):
    rating_group: Uint32 = Field(alias="ratingGroup")
    requested_unit: RequestedUnit | None = Field(None, alias="requestedUnit")
    used_unit_container: list[UsedUnitContainer] | None = Field(None,
                                                                 alias="usedUnitContainer")


class ChargingDataRequest(_Open):
    subscriber_identifier: str | None = Field(
        None, alias="subscriberIdentifier", min_length=1,
        description="Supi: imsi-<digits> names the line whose imsi it is")
    nf_consumer_identification: NFIdentification = Field(alias="nfConsumerIdentification")
    invocation_time_stamp: DateTime = Field(alias="invocationTimeStamp")
    invocation_sequence_number: Uint32 = Field(alias="invocationSequenceNumber")
    retransmission_indicator: bool | None = Field(None, alias="retransmissionIndicator")
    one_time_event: bool | None = Field(None, alias="oneTimeEvent")
    one_time_event_type: str | None = Field(None, alias="oneTimeEventType",
                                            description="oneTimeEventType: IEC, PEC")
    notify_uri: str | None = Field(None, alias="notifyUri")
    supported_features: str | None = Field(None, alias="supportedFeatures",
                                           pattern=r"^[A-Fa-f0-9]*$")
    multiple_unit_usage: list[MultipleUnitUsage] | None = Field(None,
                                                                alias="multipleUnitUsage")
    triggers: list[Trigger] | None = None
    pdu_session_charging_information: PDUSessionChargingInformation | None = Field(
        None, alias="pDUSessionChargingInformation")
    sms_charging_information: SMSChargingInformation | None = Field(
        None, alias="sMSChargingInformation")


class GrantedUnit(_Open):
    time: Uint32 | None = None
    total_volume: Uint64 | None = Field(None, alias="totalVolume")
    service_specific_units: Uint64 | None = Field(None, alias="serviceSpecificUnits")


class FinalUnitIndication(_Open):
    final_unit_action: str = Field(alias="finalUnitAction",
                                   description="FinalUnitAction: TERMINATE, REDIRECT, "
                                               "RESTRICT_ACCESS")


class MultipleUnitInformation(_Open):
    result_code: str | None = Field(
        None, alias="resultCode",
        description="ResultCode: SUCCESS, END_USER_SERVICE_DENIED, QUOTA_LIMIT_REACHED, "
                    "RATING_FAILED, ... (open)")
    rating_group: Uint32 = Field(alias="ratingGroup")
    granted_unit: GrantedUnit | None = Field(None, alias="grantedUnit")
    validity_time: int | None = Field(None, alias="validityTime")
    final_unit_indication: FinalUnitIndication | None = Field(None,
                                                              alias="finalUnitIndication")


class ChargingDataResponse(_Open):
    invocation_time_stamp: DateTime = Field(alias="invocationTimeStamp")
    invocation_sequence_number: Uint32 = Field(alias="invocationSequenceNumber")
    session_failover: str | None = Field(None, alias="sessionFailover",
                                         description="SessionFailover: FAILOVER_SUPPORTED, "
                                                     "FAILOVER_NOT_SUPPORTED")
    multiple_unit_information: list[MultipleUnitInformation] | None = Field(
        None, alias="multipleUnitInformation")


class ReauthorizationDetails(_Open):
    rating_group: Uint32 | None = Field(None, alias="ratingGroup")


class ChargingNotifyRequest(_Open):
    notification_type: str = Field(alias="notificationType",
                                   description="NotificationType: REAUTHORIZATION, "
                                               "ABORT_CHARGING")
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
