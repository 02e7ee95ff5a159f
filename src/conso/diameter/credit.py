"""Credit-Control (RFC 8506, 3GPP TS 32.299 Gy/Ro) over the charging core: CCR in, CCA out.

A thin adapter (diameter.md): it maps the subscriber to a line, each
Multiple-Services-Credit-Control's Rating-Group to a service (the catalogue's
`[network.rating_groups]`), units and the roaming country to the core's words, calls
the core, and encodes its answer. No rule, price or grant is computed here. The core's
calls block (they commit to the store), so they run on worker threads; session updates,
the bulk of the traffic, are committed in groups per loop turn (runtime/batch.py).

Result codes: the command's is 2001 when at least one MSCC was granted (or it carried
none), else the first MSCC's; an MSCC's is 2001, 4012 (the money left buys nothing),
4010 (barred, or roaming refused under a limit) or 5031 (a rating group the catalogue
does not map, or a service the plan lacks); 5030 an unknown subscriber, 5002 a session
conso does not hold, 5004 a value conso cannot use (a Session-Id or Subscription-Id-Data
with a control character, codec.Avp.text), 3004 the store unavailable (nothing done).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from conso.charging.ports import (
    MAX_UNITS,
    ChargingCore,
    Event,
    SessionAnswer,
    SessionEnd,
    SessionStart,
    SessionUpdate,
    Units,
    UseRequest,
)
from conso.diameter import codec
from conso.diameter.codec import Group, Message, ProtocolError
from conso.diameter.dictionary import (
    CREDIT_CONTROL,
    FLAG_ERROR,
    FLAG_PROXIABLE,
    VENDOR_3GPP,
    Avp,
    RequestedAction,
    RequestType,
    Result,
)
from conso.diameter.peer import Connection
from conso.diameter.server import DiameterServer
from conso.domain.control import Grant, Reason
from conso.domain.e212 import country_of_mcc_mnc
from conso.domain.sessions import SESSION_SERVICES
from conso.domain.units import Direction, Service
from conso.errors import Conflict, InvalidInput, NotFound, is_unavailable
from conso.runtime.batch import LoopBatch

log = logging.getLogger("conso.diameter")
_T = TypeVar("_T")

EURO = 978                  # ISO 4217 numeric
FAILOVER_SUPPORTED = 1
TERMINATE = 0               # Final-Unit-Action
ENOUGH_CREDIT, NO_CREDIT = 0, 1
SUBSCRIPTION_E164, SUBSCRIPTION_IMSI = 0, 1
TERMINATING_ROLE = 1
# A price enquiry or balance check refused for these (the others still have a price).
UNRATED = frozenset({Reason.SERVICE_NOT_IN_PLAN.value, Reason.UNKNOWN_LINE.value})


@dataclass(slots=True)
class Asked:
    """One MSCC of a request, in the core's words."""

    group: int
    service: Service | None       # None: the catalogue does not map this rating group
    used: int
    requested: int
    money_micros: int | None      # CC-Money of the Requested-Service-Unit


class CreditControl:
    """The Credit-Control application of a `DiameterServer`."""

    def __init__(self, core: ChargingCore, server: DiameterServer, *,
                 workers: int = 4) -> None:
        self.core = core
        self.server = server
        self.config = server.config
        self.network = core.network()
        # Session updates of one loop turn, committed together (runtime/batch.py says why
        # on the loop's thread).
        self.updates: LoopBatch[SessionUpdate, SessionAnswer] = LoopBatch(core.update_many)
        identity = b"".join(server.identity())
        self._fixed = {kind: identity + codec.u32(Avp.AUTH_APPLICATION_ID, CREDIT_CONTROL)
                       + codec.u32(Avp.CC_REQUEST_TYPE, kind)
                       + (codec.u32(Avp.CC_SESSION_FAILOVER, FAILOVER_SUPPORTED)
                          if kind is not RequestType.EVENT else b"")
                       for kind in RequestType}
        self.executor = concurrent.futures.ThreadPoolExecutor(
            workers, thread_name_prefix="conso-diameter-core")
        # The peer that last spoke for each session: RARs go there (failover moves it).
        self.session_peers: OrderedDict[str, str] = OrderedDict()
        server.handler = self.handle

    def close(self) -> None:
        self.executor.shutdown(wait=True)

    def peer_of(self, session_id: str) -> str | None:
        return self.session_peers.get(session_id)

    # -- a request ----------------------------------------------------------------------------

    async def handle(self, message: Message, connection: Connection) -> bytes:
        try:
            return await self._handle(message, connection)
        except ProtocolError as exc:
            self.server.refusals.warn(connection.name, "diameter CCR from %s refused (%d): %s",
                                      connection.name, exc.result, exc.reason)
            return self._refusal(message, exc)
        except Exception as exc:
            if not is_unavailable(exc):
                raise   # conso's own failure: 5012, logged (peer.py)
            # Nothing was done; the peer may send it again, here or elsewhere (RFC 6733
            # §7.1.3): the answer is not kept for retransmissions.
            self.server.refusals.warn(connection.name, "diameter CCR from %s answered 3004: "
                                      "the store is unavailable: %s", connection.name, exc)
            self.server.duplicates.drop((connection.peer_host, message.end_to_end))
            return self._refusal(message, ProtocolError(
                Result.TOO_BUSY, "the store is unavailable; retry later"))

    async def _handle(self, message: Message, connection: Connection) -> bytes:
        avps = message.avps
        codec.check(avps)
        session_id = avps.need(Avp.SESSION_ID).text()
        avps.need(Avp.ORIGIN_HOST)
        avps.need(Avp.ORIGIN_REALM)
        avps.need(Avp.DESTINATION_REALM)
        avps.need(Avp.SERVICE_CONTEXT_ID)
        application = avps.need(Avp.AUTH_APPLICATION_ID)
        if application.u32() != CREDIT_CONTROL:
            raise ProtocolError(Result.INVALID_AVP_VALUE, "Auth-Application-Id is not 4",
                                application.raw)
        kind_avp = avps.need(Avp.CC_REQUEST_TYPE)
        number = avps.need(Avp.CC_REQUEST_NUMBER).u32()
        try:
            kind = RequestType(kind_avp.u32())
        except ValueError:
            raise ProtocolError(Result.INVALID_AVP_VALUE, "unknown CC-Request-Type",
                                kind_avp.raw) from None
        asked = self._asked(avps)
        if kind is RequestType.INITIAL:
            return await self._initial(message, session_id, number, asked, connection)
        if kind is RequestType.UPDATE:
            return await self._update(message, session_id, number, asked, connection)
        if kind is RequestType.TERMINATION:
            return await self._termination(message, session_id, number, asked)
        return await self._event(message, session_id, number, asked)

    async def _run(self, call: Callable[[], _T]) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, call)

    async def _initial(self, message: Message, session_id: str, number: int,
                       asked: list[Asked], connection: Connection) -> bytes:
        avps = message.avps
        line = await self._subscriber(avps)
        units = self._units(asked, avps)
        if asked and not units:
            # Nothing a session meters (only unmapped rating groups): refused, no session.
            return self._granted(message, RequestType.INITIAL, number, asked,
                                 SessionAnswer(()))[0]
        start = SessionStart(session_id, line, units, country=self._country(avps),
                             request_number=number, origin="diameter",
                             push_to=connection.peer_host)
        try:
            answer = await self._run(partial(self.core.start, start))
        except Conflict as exc:
            raise ProtocolError(Result.UNABLE_TO_COMPLY, str(exc)) from None
        except InvalidInput as exc:
            raise ProtocolError(Result.INVALID_AVP_VALUE, str(exc)) from None
        assert isinstance(answer, SessionAnswer)
        reply, result = self._granted(message, RequestType.INITIAL, number, asked, answer)
        if result == Result.SUCCESS:     # the session is open: its RARs go to this peer
            self._remember(session_id, connection.peer_host)
        return reply

    async def _update(self, message: Message, session_id: str, number: int,
                      asked: list[Asked], connection: Connection) -> bytes:
        update = SessionUpdate(session_id, self._units(asked, message.avps),
                               request_number=number)
        try:
            answer = await self.updates.submit(update)
        except (NotFound, Conflict) as exc:
            self.session_peers.pop(session_id, None)
            raise ProtocolError(Result.UNKNOWN_SESSION_ID, str(exc)) from None
        except InvalidInput as exc:
            raise ProtocolError(Result.INVALID_AVP_VALUE, str(exc)) from None
        # The peer that last spoke for the session gets its RARs (failover moves it).
        self._remember(session_id, connection.peer_host)
        return self._granted(message, RequestType.UPDATE, number, asked, answer)[0]

    async def _termination(self, message: Message, session_id: str, number: int,
                           asked: list[Asked]) -> bytes:
        units = [Units(str(a.group), a.service, used=a.used) for a in asked
                 if a.service in SESSION_SERVICES]
        try:
            await self._run(partial(self.core.end, SessionEnd(session_id, units, number)))
        except (NotFound, Conflict) as exc:
            raise ProtocolError(Result.UNKNOWN_SESSION_ID, str(exc)) from None
        except InvalidInput as exc:
            raise ProtocolError(Result.INVALID_AVP_VALUE, str(exc)) from None
        finally:
            self.session_peers.pop(session_id, None)
        return self._answer(message, Result.SUCCESS, RequestType.TERMINATION, number, [])

    async def _event(self, message: Message, session_id: str, number: int,
                     asked: list[Asked]) -> bytes:
        avps = message.avps
        action_avp = avps.one(Avp.REQUESTED_ACTION)
        try:
            action = RequestedAction(action_avp.u32()) if action_avp is not None \
                else RequestedAction.DIRECT_DEBITING
        except ValueError:
            assert action_avp is not None
            raise ProtocolError(Result.INVALID_AVP_VALUE, "unknown Requested-Action",
                                action_avp.raw) from None
        if action is RequestedAction.REFUND_ACCOUNT:
            return self._answer(message, Result.RATING_FAILED, RequestType.EVENT, number, [],
                                error="REFUND_ACCOUNT is not offered")
        if not asked:
            raise ProtocolError(Result.MISSING_AVP, "an event names its rating group in an MSCC",
                                codec.missing_avp(Avp.MULTIPLE_SERVICES_CREDIT_CONTROL))
        line = await self._subscriber(avps)
        country, direction = self._country(avps), _direction(avps)
        if action is RequestedAction.DIRECT_DEBITING:
            return await self._debit(message, session_id, number, asked, line=line,
                                     country=country, direction=direction)
        priced: list[tuple[Asked, int, bool, str | None]] = []
        for one in asked:
            if one.service is None:
                priced.append((one, 0, False, Reason.SERVICE_NOT_IN_PLAN.value))
                continue
            use = UseRequest(line, one.service, direction, country, one.money_micros)
            price = await self._run(partial(self.core.price, use, one.requested))
            priced.append((one, price.micros, price.enough, price.reason))
        # What cannot be rated has no price and no balance to check (RFC 8506 §8:
        # DIAMETER_RATING_FAILED): an unmapped rating group, a service the plan lacks. A
        # barred function or the limit still has a price; its balance is NO_CREDIT.
        unrated = next((reason for _, _, _, reason in priced if reason in UNRATED), None)
        if unrated is not None:
            return self._answer(message, result_of(unrated), RequestType.EVENT, number, [],
                                error=f"cannot rate the request: {unrated}")
        extra: list[bytes]
        if action is RequestedAction.CHECK_BALANCE:
            enough = all(ok for _, _, ok, _ in priced)
            extra = [codec.u32(Avp.CHECK_BALANCE_RESULT, ENOUGH_CREDIT if enough else NO_CREDIT)]
        else:
            extra = [cost_information(sum(micros for _, micros, _, _ in priced))]
        return self._answer(message, Result.SUCCESS, RequestType.EVENT, number, [], extra=extra)

    async def _debit(self, message: Message, session_id: str, number: int, asked: list[Asked],
                     *, line: str, country: str | None, direction: Direction) -> bytes:
        mscc: list[bytes] = []
        results: list[int] = []
        for one in asked:
            if one.service is None:
                results.append(Result.RATING_FAILED)
                mscc.append(_mscc(one, Result.RATING_FAILED))
                continue
            use = UseRequest(line, one.service, direction, country, one.money_micros)
            event = Event(f"diameter:{session_id}:{number}:{one.group}", use, one.requested)
            try:
                answer = await self._run(partial(self.core.event, event))
            except InvalidInput as exc:
                raise ProtocolError(Result.INVALID_AVP_VALUE, str(exc)) from None
            result = result_of(answer.reason)
            results.append(result)
            mscc.append(_mscc(one, result,
                              Grant(answer.granted, False) if result == Result.SUCCESS else None))
        return self._answer(message, _command_result(results), RequestType.EVENT, number, mscc)

    # -- mapping the request ---------------------------------------------------------------------

    async def _subscriber(self, avps: Group) -> str:
        ids = avps.all(Avp.SUBSCRIPTION_ID)
        if not ids:
            raise ProtocolError(Result.MISSING_AVP, "no Subscription-Id",
                                codec.missing_avp(Avp.SUBSCRIPTION_ID))
        named: dict[int, str] = {}
        for one in ids:
            inner = one.group()
            kind = inner.need(Avp.SUBSCRIPTION_ID_TYPE).u32()
            named.setdefault(kind, inner.need(Avp.SUBSCRIPTION_ID_DATA).text())
        line: str | None = None
        if SUBSCRIPTION_E164 in named:
            line = await self._run(partial(self.core.subscriber, msisdn=named[SUBSCRIPTION_E164]))
        if line is None and SUBSCRIPTION_IMSI in named:
            line = await self._run(partial(self.core.subscriber, imsi=named[SUBSCRIPTION_IMSI]))
        if line is None:
            raise ProtocolError(Result.USER_UNKNOWN,
                                f"no line for subscriber {sorted(named.items())}")
        return line

    def _asked(self, avps: Group) -> list[Asked]:
        asked: list[Asked] = []
        seen: set[int] = set()
        for mscc in avps.all(Avp.MULTIPLE_SERVICES_CREDIT_CONTROL):
            inner = mscc.group()
            group = inner.need(Avp.RATING_GROUP).u32()
            if group in seen:
                raise ProtocolError(Result.AVP_OCCURS_TOO_MANY_TIMES,
                                    f"rating group {group} twice", mscc.raw)
            seen.add(group)
            service = self.network.service_of(group)
            used = sum(_amount(u.group(), service) or 0
                       for u in inner.all(Avp.USED_SERVICE_UNIT))
            rsu = inner.one(Avp.REQUESTED_SERVICE_UNIT)
            requested = _amount(rsu.group(), service) if rsu is not None else None
            if requested is None and service is not None:
                requested = self.network.default_quota.get(service, 1)
            money = _money(rsu.group()) if rsu is not None else None
            asked.append(Asked(group, service, used, requested or 0, money))
        return asked

    def _units(self, asked: Sequence[Asked], avps: Group) -> list[Units]:
        direction = _direction(avps)
        return [Units(str(a.group), a.service, direction, a.used, a.requested)
                for a in asked if a.service in SESSION_SERVICES]

    def _country(self, avps: Group) -> str | None:
        info = avps.find(Avp.SERVICE_INFORMATION, VENDOR_3GPP)
        ps = info.group().find(Avp.PS_INFORMATION, VENDOR_3GPP) if info is not None else None
        where = ps.group().find(Avp.SGSN_MCC_MNC, VENDOR_3GPP) if ps is not None else None
        if where is None:
            return None
        country = country_of_mcc_mnc(where.text())
        if country is None:
            raise ProtocolError(Result.INVALID_AVP_VALUE,
                                f"3GPP-SGSN-MCC-MNC {where.text()!r} names no country",
                                where.raw)
        return country

    def _remember(self, session_id: str, host: str) -> None:
        peers = self.session_peers
        peers[session_id] = host
        peers.move_to_end(session_id)
        if len(peers) > 1_000_000:
            peers.popitem(last=False)

    # -- the answer -------------------------------------------------------------------------------

    def _granted(self, message: Message, kind: RequestType, number: int, asked: list[Asked],
                 answer: SessionAnswer) -> tuple[bytes, int]:
        """The CCA of a session request, and its command-level Result-Code."""
        grants = dict(answer.grants)
        mscc: list[bytes] = []
        results: list[int] = []
        for one in asked:
            result: int
            granted: Grant | None
            if one.service not in SESSION_SERVICES:
                result, granted = Result.RATING_FAILED, None
            else:
                granted = grants.get(str(one.group))
                result = Result.SUCCESS if granted is None else result_of(granted.reason)
            results.append(result)
            mscc.append(_mscc(one, result, granted, self.config.validity_seconds))
        command = _command_result(results)
        return self._answer(message, command, kind, number, mscc), command

    def _answer(self, message: Message, result: int, kind: RequestType, number: int,
                mscc: Sequence[bytes], *, extra: Sequence[bytes] = (),
                error: str | None = None) -> bytes:
        # Origin-Host/Realm, Auth-Application-Id and the request type are the same in
        # every answer of a kind: encoded once (see __init__).
        avps = [codec.avp(Avp.SESSION_ID, message.avps.need(Avp.SESSION_ID).data),
                codec.u32(Avp.RESULT_CODE, result), self._fixed[kind],
                codec.u32(Avp.CC_REQUEST_NUMBER, number)]
        avps += mscc
        avps += extra
        if error is not None:
            avps.append(codec.utf8(Avp.ERROR_MESSAGE, error, mandatory=False))
        return codec.message(message.command, message.application, avps,
                             flags=message.flags & FLAG_PROXIABLE,
                             hop_by_hop=message.hop_by_hop, end_to_end=message.end_to_end)

    def _refusal(self, message: Message, exc: ProtocolError) -> bytes:
        """A CCA refusing the request, echoing what of it could be read."""
        avps: list[bytes] = []
        found = {a.code: a for a in message.avps if a.vendor == 0}
        if Avp.SESSION_ID in found:
            avps.append(codec.avp(Avp.SESSION_ID, found[Avp.SESSION_ID].data))
        avps += [codec.u32(Avp.RESULT_CODE, exc.result), *self.server.identity()]
        for code in (Avp.AUTH_APPLICATION_ID, Avp.CC_REQUEST_TYPE, Avp.CC_REQUEST_NUMBER):
            echoed = found.get(code)
            if echoed is not None and len(echoed.data) == 4:
                avps.append(codec.avp(code, echoed.data))
        avps.append(codec.utf8(Avp.ERROR_MESSAGE, exc.reason[:200], mandatory=False))
        if exc.failed is not None:
            avps.append(codec.grouped(Avp.FAILED_AVP, [exc.failed]))
        flags = message.flags & FLAG_PROXIABLE
        if 3000 <= exc.result < 4000:
            flags |= FLAG_ERROR
        return codec.message(message.command, message.application, avps, flags=flags,
                             hop_by_hop=message.hop_by_hop, end_to_end=message.end_to_end)


# -- pure helpers -----------------------------------------------------------------------------

def result_of(reason: str | None) -> int:
    """The MSCC Result-Code of a core's refusal reason (charging.md, "How a front end plugs in")."""
    if reason is None:
        return Result.SUCCESS
    # The roaming data cap is money too: what is left under it buys nothing.
    if reason in (Reason.SPENDING_LIMIT, Reason.ROAMING_CAP):
        return Result.CREDIT_LIMIT_REACHED
    if reason.startswith("barred:") or reason == Reason.ROAMING_BLOCKED_WITH_LIMIT:
        return Result.END_USER_SERVICE_DENIED
    if reason == Reason.UNKNOWN_LINE:
        return Result.USER_UNKNOWN
    return Result.RATING_FAILED


def _command_result(results: Sequence[int]) -> int:
    if not results or Result.SUCCESS in results:
        return Result.SUCCESS
    return results[0]


def _direction(avps: Group) -> Direction:
    """Role-Of-Node (3GPP AVP 829, in IMS-Information or at the top): TERMINATING is a
    call received; absent or ORIGINATING, a call made."""
    role = avps.find(Avp.ROLE_OF_NODE, VENDOR_3GPP)
    if role is None:
        info = avps.find(Avp.SERVICE_INFORMATION, VENDOR_3GPP)
        ims = info.group().find(Avp.IMS_INFORMATION, VENDOR_3GPP) if info is not None else None
        role = ims.group().find(Avp.ROLE_OF_NODE, VENDOR_3GPP) if ims is not None else None
    if role is not None and role.u32() == TERMINATING_ROLE:
        return Direction.IN
    return Direction.OUT


def _amount(units: Group, service: Service | None) -> int | None:
    """The units of a Requested/Used-Service-Unit in the service's own measure; None when
    it names none (an empty RSU asks for the default quota). More than the core takes
    (`MAX_UNITS`) is 5004 naming the AVP (RFC 6733 §7.1.5: Failed-AVP is a MUST)."""
    if service is Service.DATA:
        total = units.find(Avp.CC_TOTAL_OCTETS)
        parts = [total] if total is not None else [
            a for a in (units.find(Avp.CC_INPUT_OCTETS), units.find(Avp.CC_OUTPUT_OCTETS))
            if a is not None]
    elif service is Service.VOICE:
        seconds = units.find(Avp.CC_TIME)
        parts = [seconds] if seconds is not None else []
    else:
        count = units.find(Avp.CC_SERVICE_SPECIFIC_UNITS)
        parts = [count] if count is not None else []
    if not parts:
        return None
    amount = sum(a.u32() if a.code == Avp.CC_TIME else a.u64() for a in parts)
    if amount > MAX_UNITS:
        raise ProtocolError(Result.INVALID_AVP_VALUE,
                            f"{amount} units is more than {MAX_UNITS}",
                            b"".join(a.raw for a in parts))
    return amount


def _money(units: Group) -> int | None:
    """CC-Money in micro-euros: Unit-Value x 10^Exponent, Currency-Code 978."""
    money = units.find(Avp.CC_MONEY)
    if money is None:
        return None
    inner = money.group()
    currency = inner.find(Avp.CURRENCY_CODE)
    if currency is not None and currency.u32() != EURO:
        raise ProtocolError(Result.INVALID_AVP_VALUE, "only euros (Currency-Code 978)",
                            currency.raw)
    value = inner.need(Avp.UNIT_VALUE).group()
    digits = value.need(Avp.VALUE_DIGITS).i64()
    exponent_avp = value.find(Avp.EXPONENT)
    exponent = exponent_avp.i32() if exponent_avp is not None else 0
    scale = exponent + 6
    if digits < 0 or not -18 <= scale <= 18:
        raise ProtocolError(Result.INVALID_AVP_VALUE, "CC-Money out of range", money.raw)
    if scale >= 0:
        return digits * _POWERS[scale]
    micros, rest = divmod(digits, _POWERS[-scale])
    if rest:
        raise ProtocolError(Result.INVALID_AVP_VALUE, "CC-Money finer than a micro-euro",
                            money.raw)
    return micros


_POWERS: list[int] = [10 ** n for n in range(19)]


def cost_information(micros: int) -> bytes:
    """Cost-Information: micro-euros as Value-Digits and the smallest Exponent needed."""
    digits, exponent = micros, -6
    while digits and digits % 10 == 0 and exponent < 0:
        digits //= 10
        exponent += 1
    if digits == 0:
        exponent = 0
    return codec.grouped(Avp.COST_INFORMATION, [
        codec.grouped(Avp.UNIT_VALUE, [codec.i64(Avp.VALUE_DIGITS, digits),
                                       codec.i32(Avp.EXPONENT, exponent)]),
        codec.u32(Avp.CURRENCY_CODE, EURO),
    ])


def _service_units(service: Service | None, units: int) -> bytes:
    if service is Service.DATA:
        return codec.u64(Avp.CC_TOTAL_OCTETS, units)
    if service is Service.VOICE:
        return codec.u32(Avp.CC_TIME, min(units, 0xFFFFFFFF))
    return codec.u64(Avp.CC_SERVICE_SPECIFIC_UNITS, units)


def _mscc(asked: Asked, result: int, granted: Grant | None = None,
          validity: int | None = None) -> bytes:
    members: list[bytes] = []
    if granted is not None and result == Result.SUCCESS:
        members.append(codec.grouped(Avp.GRANTED_SERVICE_UNIT,
                                     [_service_units(asked.service, granted.granted)]))
    members.append(codec.u32(Avp.RATING_GROUP, asked.group))
    if granted is not None and result == Result.SUCCESS and validity is not None:
        members.append(codec.u32(Avp.VALIDITY_TIME, validity))
    members.append(codec.u32(Avp.RESULT_CODE, result))
    if granted is not None and granted.final and result == Result.SUCCESS:
        members.append(codec.grouped(Avp.FINAL_UNIT_INDICATION,
                                     [codec.u32(Avp.FINAL_UNIT_ACTION, TERMINATE)]))
    return codec.grouped(Avp.MULTIPLE_SERVICES_CREDIT_CONTROL, members)

