"""Nchf_ConvergedCharging over the charging core: a thin adapter (nchf.md).

It maps the subscriber (SUPI `imsi-…`, else GPSI `msisdn-…`) to a line, each
`multipleUnitUsage` item's rating group to a service (the catalogue's
`[network.rating_groups]`), units and the serving PLMN's country to the core's words,
calls the core, and builds the ChargingDataResponse. No rule, price or grant is
computed here. The core's calls block (they commit), so they run on worker threads;
updates go through the group commit handed in by the composition root.

A charging data resource is a core session named `nchf:<ChargingDataRef>`. The ref of
a create is derived from its body (all but `retransmissionIndicator`), so a create sent
again gets the same ref and the first answer, like (ref, invocationSequenceNumber) on
updates and releases.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import TypeVar

import orjson

from conso.charging.ports import (
    ChargingCore,
    Event,
    SessionAnswer,
    SessionEnd,
    SessionStart,
    SessionUpdate,
    Units,
    UseRequest,
)
from conso.domain.control import Grant, Reason
from conso.domain.e212 import country_of_mcc
from conso.domain.sessions import SESSION_SERVICES
from conso.domain.text import is_clean_text, text_problem
from conso.domain.units import Direction, Service
from conso.errors import Conflict, InvalidInput, NotFound
from conso.nchf.config import API_ROOT, NchfConfig
from conso.nchf.models import (
    ChargingDataRequest,
    ChargingDataResponse,
    FinalUnitIndication,
    GrantedUnit,
    InvalidParam,
    MultipleUnitInformation,
    MultipleUnitUsage,
    UserLocation,
)

SubmitUpdate = Callable[[SessionUpdate], "concurrent.futures.Future[SessionAnswer]"]
_T = TypeVar("_T")

SUCCESS = "SUCCESS"
RATING_FAILED = "RATING_FAILED"


class Problem(Exception):
    """A refusal as a ProblemDetails: status, cause (TS 32.291 table 6.1.7.3-1 or TS
    29.500's common causes), what is wrong, and the fields at fault."""

    def __init__(self, status: int, cause: str | None, detail: str,
                 invalid: Sequence[InvalidParam] = ()) -> None:
        super().__init__(detail)
        self.status = status
        self.cause = cause
        self.detail = detail
        self.invalid = list(invalid)


@dataclass(slots=True)
class Outcome:
    status: int
    body: ChargingDataResponse | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Asked:
    group: int
    service: Service | None      # None: the catalogue does not map the rating group
    used: int
    requested: int
    requested_given: bool = True  # False: no requestedUnit, `requested` is the default quota


def result_code(reason: str | None) -> str:
    """The ResultCode of a rating group for a core's refusal reason."""
    if reason is None:
        return SUCCESS
    # The roaming data cap is money too: what is left under it buys nothing.
    if reason in (Reason.SPENDING_LIMIT, Reason.ROAMING_CAP):
        return "QUOTA_LIMIT_REACHED"
    if reason.startswith("barred:") or reason == Reason.ROAMING_BLOCKED_WITH_LIMIT:
        return "END_USER_SERVICE_DENIED"
    if reason == Reason.UNKNOWN_LINE:
        return "USER_UNKNOWN"
    return RATING_FAILED


def refusal(code: str, detail: str) -> Problem:
    """The error of a request of which nothing was granted (TS 32.291 table 6.1.7.3-1)."""
    if code == "QUOTA_LIMIT_REACHED":
        return Problem(403, "QUOTA_LIMIT_REACHED", detail)
    if code == "END_USER_SERVICE_DENIED":
        return Problem(403, "END_USER_REQUEST_DENIED", detail)
    if code == "USER_UNKNOWN":
        return Problem(404, "USER_UNKNOWN", detail)
    return Problem(400, "CHARGING_FAILED", detail)


class ConvergedCharging:
    def __init__(self, core: ChargingCore, config: NchfConfig, *,
                 submit_update: SubmitUpdate | None = None, workers: int = 4) -> None:
        self.core = core
        self.config = config
        self.network = core.network()
        self.submit_update = submit_update
        self.executor = concurrent.futures.ThreadPoolExecutor(
            workers, thread_name_prefix="conso-nchf-core")

    def close(self) -> None:
        self.executor.shutdown(wait=True)

    async def _run(self, call: Callable[[], _T]) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, call)

    # -- operations ---------------------------------------------------------------------------

    async def create(self, request: ChargingDataRequest) -> Outcome:
        ref = reference(request)
        line = await self._subscriber(request)
        asked = self._asked(request.multiple_unit_usage)
        country = self._country(request)
        location = {"Location": f"{API_ROOT}/chargingdata/{ref}"}
        if request.one_time_event:
            return Outcome(201, await self._event(request, ref, line, asked, country), location)
        units = [Units(str(a.group), a.service, Direction.OUT, a.used, a.requested)
                 for a in asked if a.service in SESSION_SERVICES]
        if asked and not units:
            raise refusal(RATING_FAILED, "no rating group of the request can be rated")
        start = SessionStart(session_of(ref), line, units, country=country,
                             request_number=request.invocation_sequence_number,
                             origin="nchf", push_to=request.notify_uri)
        try:
            answer = await self._run(partial(self.core.start, start))
        except Conflict as exc:
            raise Problem(400, "CHARGING_FAILED", str(exc)) from None
        except InvalidInput as exc:
            raise Problem(400, "CHARGING_FAILED", str(exc)) from None
        response = self._response(request, asked, answer)
        items = response.multiple_unit_information or []
        if items and all(i.result_code != SUCCESS for i in items):
            first = items[0].result_code or RATING_FAILED
            raise refusal(first, f"rating group {items[0].rating_group}: {first}")
        return Outcome(201, response, location)

    async def update(self, ref: str, request: ChargingDataRequest) -> Outcome:
        session = held_session(ref)
        asked = self._asked(request.multiple_unit_usage)
        units = [Units(str(a.group), a.service, Direction.OUT, a.used, a.requested)
                 for a in asked if a.service in SESSION_SERVICES]
        update = SessionUpdate(session, units,
                               request_number=request.invocation_sequence_number)
        try:
            if self.submit_update is not None:
                answer = await asyncio.wrap_future(self.submit_update(update))
            else:
                answer = await self._run(partial(self.core.update, update))
        except (NotFound, Conflict):
            raise Problem(404, None, f"no charging data {ref}") from None
        except InvalidInput as exc:
            raise Problem(400, "CHARGING_FAILED", str(exc)) from None
        return Outcome(200, self._response(request, asked, answer))

    async def release(self, ref: str, request: ChargingDataRequest) -> Outcome:
        session = held_session(ref)
        asked = self._asked(request.multiple_unit_usage)
        units = [Units(str(a.group), a.service, used=a.used) for a in asked
                 if a.service in SESSION_SERVICES]
        end = SessionEnd(session, units, request.invocation_sequence_number)
        try:
            await self._run(partial(self.core.end, end))
        except (NotFound, Conflict):
            raise Problem(404, None, f"no charging data {ref}") from None
        except InvalidInput as exc:
            raise Problem(400, "CHARGING_FAILED", str(exc)) from None
        return Outcome(204)

    async def _event(self, request: ChargingDataRequest, ref: str, line: str,
                     asked: list[Asked], country: str | None) -> ChargingDataResponse:
        items: list[MultipleUnitInformation] = []
        for one in asked:
            if one.service is None or one.service is Service.PREMIUM:
                # Premium is sold at the provider's price, and TS 32.291's units carry no
                # money: conso cannot rate it here, and never grants it for free.
                items.append(MultipleUnitInformation(result_code=RATING_FAILED,
                                                     rating_group=one.group))
                continue
            # Immediate event charging debits what is asked; post event charging (PEC)
            # what the usedUnitContainer reports was used; neither: the default quota.
            units = one.used if one.used and not one.requested_given else one.requested
            event = Event(f"nchf:{ref}:{one.group}",
                          UseRequest(line, one.service, Direction.OUT, country), units)
            try:
                answer = await self._run(partial(self.core.event, event))
            except InvalidInput as exc:
                raise Problem(400, "CHARGING_FAILED", str(exc)) from None
            code = result_code(answer.reason)
            items.append(_item(one, code, Grant(answer.granted, False)
                               if code == SUCCESS else None, None))
        if items and all(i.result_code != SUCCESS for i in items):
            first = items[0].result_code or RATING_FAILED
            raise refusal(first, f"rating group {items[0].rating_group}: {first}")
        return ChargingDataResponse(
            invocation_time_stamp=datetime.now(UTC),
            invocation_sequence_number=request.invocation_sequence_number,
            multiple_unit_information=items or None)

    # -- mapping ---------------------------------------------------------------------------------

    async def _subscriber(self, request: ChargingDataRequest) -> str:
        supi = request.subscriber_identifier
        info = request.pdu_session_charging_information
        gpsi = info.user_information.served_gpsi \
            if info is not None and info.user_information is not None else None
        if supi is None and gpsi is None:
            raise Problem(400, "MANDATORY_IE_MISSING", "no subscriber: subscriberIdentifier "
                          "or userInformation.servedGPSI", [InvalidParam(
                              param="/subscriberIdentifier", reason="missing")])
        line: str | None = None
        if supi is not None and supi.startswith("imsi-"):
            line = await self._run(partial(self.core.subscriber, imsi=supi[5:]))
        if line is None and gpsi is not None and gpsi.startswith("msisdn-"):
            line = await self._run(partial(self.core.subscriber, msisdn=gpsi[7:]))
        if line is None:
            raise Problem(404, "USER_UNKNOWN", "no line for this subscriber")
        return line

    def _asked(self, usage: Sequence[MultipleUnitUsage] | None) -> list[Asked]:
        asked: list[Asked] = []
        seen: set[int] = set()
        for n, item in enumerate(usage or ()):
            group = item.rating_group
            if group in seen:
                raise Problem(400, "MANDATORY_IE_INCORRECT", f"rating group {group} twice", [
                    InvalidParam(param=f"/multipleUnitUsage/{n}/ratingGroup",
                                 reason="repeated")])
            seen.add(group)
            service = self.network.service_of(group)
            used = sum(_units(c, service) or 0 for c in item.used_unit_container or ())
            requested = _units(item.requested_unit, service) \
                if item.requested_unit is not None else None
            if requested is None and service is not None:
                requested = self.network.default_quota.get(service, 1)
            asked.append(Asked(group, service, used, requested or 0,
                               item.requested_unit is not None))
        return asked

    def _country(self, request: ChargingDataRequest) -> str | None:
        located: tuple[str, UserLocation] | None = None
        pdu, sms = request.pdu_session_charging_information, request.sms_charging_information
        if pdu is not None and pdu.user_locationinfo is not None:
            located = ("/pDUSessionChargingInformation/userLocationinfo", pdu.user_locationinfo)
        elif sms is not None and sms.user_locationinfo is not None:
            located = ("/sMSChargingInformation/userLocationinfo", sms.user_locationinfo)
        elif request.roaming_qbc_information is not None:
            # A roaming session's QoS-based containers: the first one that is located.
            containers = request.roaming_qbc_information.multiple_qfi_container or ()
            for n, container in enumerate(containers):
                info = container.qfi_container_information
                if info is not None and info.user_location_information is not None:
                    located = (f"/roamingQBCInformation/multipleQFIcontainer/{n}"
                               "/qFIContainerInformation/userLocationInformation",
                               info.user_location_information)
                    break
        if located is None:
            return None
        where, location = located
        if location.nr_location is not None:
            mcc, path = location.nr_location.tai.plmn_id.mcc, "/nrLocation/tai/plmnId/mcc"
        elif location.eutra_location is not None:
            mcc, path = location.eutra_location.tai.plmn_id.mcc, "/eutraLocation/tai/plmnId/mcc"
        else:
            return None
        country = country_of_mcc(mcc)
        if country is None:
            raise Problem(400, "CHARGING_FAILED", f"MCC {mcc} names no country",
                          [InvalidParam(param=where + path, reason="unknown MCC")])
        return country

    def _response(self, request: ChargingDataRequest, asked: list[Asked],
                  answer: SessionAnswer) -> ChargingDataResponse:
        grants = dict(answer.grants)
        items: list[MultipleUnitInformation] = []
        for one in asked:
            if one.service not in SESSION_SERVICES:
                items.append(MultipleUnitInformation(result_code=RATING_FAILED,
                                                     rating_group=one.group))
                continue
            granted = grants.get(str(one.group))
            code = SUCCESS if granted is None else result_code(granted.reason)
            items.append(_item(one, code, granted, self.config.validity_seconds))
        return ChargingDataResponse(
            invocation_time_stamp=datetime.now(UTC),
            invocation_sequence_number=request.invocation_sequence_number,
            session_failover="FAILOVER_SUPPORTED",
            multiple_unit_information=items or None)


def reference(request: ChargingDataRequest) -> str:
    """The ChargingDataRef of a create: the same body (but the retransmission flag) gives
    the same ref."""
    body = request.model_dump(mode="json", by_alias=True, exclude_none=True,
                              exclude={"retransmission_indicator"})
    try:
        canonical = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        # A member conso does not read holds an integer past 64 bits (3GPP's objects are
        # open, JSON numbers unbounded): the standard library writes any integer.
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(canonical).hexdigest()[:32]


def session_of(ref: str) -> str:
    return f"nchf:{ref}"


def held_session(ref: str) -> str:
    """The core session of the ref of an update or release path. A ref that is not
    text (domain/text.py) names no resource conso could hold: 404, before the core."""
    if not is_clean_text(ref):
        raise Problem(404, None, f"no charging data: the ref {text_problem(ref)}")
    return session_of(ref)


def _units(container: object, service: Service | None) -> int | None:
    """The units of a requestedUnit / usedUnitContainer in the service's own measure."""
    if service is Service.DATA:
        total = getattr(container, "total_volume", None)
        if total is not None:
            return int(total)
        parts = [getattr(container, name, None) for name in ("uplink_volume", "downlink_volume")]
        known = [int(p) for p in parts if p is not None]
        return sum(known) if known else None
    if service is Service.VOICE:
        seconds = getattr(container, "time", None)
        return int(seconds) if seconds is not None else None
    count = getattr(container, "service_specific_units", None)
    return int(count) if count is not None else None


def _item(asked: Asked, code: str, granted: Grant | None,
          validity: int | None) -> MultipleUnitInformation:
    if granted is None or code != SUCCESS:
        return MultipleUnitInformation(result_code=code, rating_group=asked.group)
    if asked.service is Service.DATA:
        unit = GrantedUnit(total_volume=granted.granted)
    elif asked.service is Service.VOICE:
        unit = GrantedUnit(time=min(granted.granted, 4_294_967_295))
    else:
        unit = GrantedUnit(service_specific_units=granted.granted)
    return MultipleUnitInformation(
        result_code=SUCCESS, rating_group=asked.group, granted_unit=unit,
        validity_time=validity,
        final_unit_indication=FinalUnitIndication(final_unit_action="TERMINATE")
        if granted.final else None)
