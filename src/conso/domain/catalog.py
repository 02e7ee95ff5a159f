"""The plan catalogue: plans, their allowances and rates, and the roaming zones.

`parse_catalog` turns already-decoded TOML data into frozen dataclasses and
rejects anything it does not understand with a `CatalogError` that names the
source, the plan and the key, so that a typo stops start-up instead of rating
usage wrongly. Reading the file is the caller's business.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from conso.domain.units import (
    BYTES_PER_GB,
    SECONDS_PER_MINUTE,
    Service,
    euros_to_micros,
)

# rules.md's reference: EUR 50.00 excluding VAT, when a catalogue does not say.
DEFAULT_ROAMING_DATA_CAP_MICROS = 50_000_000


class CatalogError(ValueError):
    """A catalogue that cannot be used; the message names file, plan and key."""


class PlanKind(StrEnum):
    BUNDLE = "bundle"
    PAYG = "payg"
    INTERNET = "internet"


@dataclass(frozen=True, slots=True)
class Rates:
    """Out-of-bundle (or pay-per-use) prices in micro-euros per named unit."""

    voice_per_minute: int | None = None
    voice_in_per_minute: int | None = None
    sms_per_sms: int | None = None
    data_per_mb: int | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    id: str
    name: str
    kind: PlanKind
    monthly_fee_micros: int
    business: bool
    # Included allowance per service in the service's unit. A service absent
    # here has no allowance; one in `unlimited` has no cap at all.
    included: Mapping[Service, int]
    unlimited: frozenset[Service]
    rates: Rates
    spending_limits_micros: tuple[int, ...]
    heavy_user_bytes: int | None
    services: frozenset[Service]

    def allowance(self, service: Service) -> int | None:
        """The included quantity, or None when the service is unlimited or not included."""
        if service in self.unlimited:
            return None
        return self.included.get(service)

    @property
    def has_allowances(self) -> bool:
        return self.kind is not PlanKind.PAYG


@dataclass(frozen=True, slots=True)
class Network:
    """How the network names services, and what an online request that names no
    amount is granted (spec diameter.md and nchf.md): a Rating-Group (Diameter) or
    ratingGroup (Nchf) maps to a service; `default_quota` is in the service's unit."""

    rating_groups: Mapping[int, Service] = field(default_factory=dict)
    default_quota: Mapping[Service, int] = field(default_factory=dict)

    def service_of(self, rating_group: int) -> Service | None:
        return self.rating_groups.get(rating_group)


@dataclass(frozen=True, slots=True)
class Catalog:
    home_country: str
    eu_eea: frozenset[str]
    limit_roaming_blocked: frozenset[str]
    roaming_rates: Rates
    plans: Mapping[str, Plan] = field(default_factory=dict)
    network: Network = field(default_factory=Network)
    # The EU bill-shock rule: what data outside the EU/EEA may cost a line in a cycle
    # before it stops (rules.md, "Roaming data cap"); None: the catalogue sets none.
    roaming_data_cap_micros: int | None = DEFAULT_ROAMING_DATA_CAP_MICROS

    def is_home_zone(self, country: str) -> bool:
        """EU/EEA roaming is rated like at home."""
        return country == self.home_country or country in self.eu_eea


_COUNTRY = re.compile(r"^[A-Z]{2}\Z")
_PLAN_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}\Z")
_TOP_KEYS = {"home_country", "eu_eea", "limit_roaming_blocked", "roaming_rates", "plans",
             "network", "roaming_data_cap_eur"}
_NETWORK_KEYS = {"rating_groups", "default_quota"}
_QUOTA_KEYS = {"data_bytes": Service.DATA, "voice_seconds": Service.VOICE, "sms": Service.SMS}
_MAX_RATING_GROUP = 2**32 - 1   # Rating-Group is an Unsigned32
_PLAN_KEYS = {
    "name", "kind", "monthly_fee", "business", "included", "rates",
    "spending_limits", "heavy_user_gb",
}
_INCLUDED_KEYS = {"voice_minutes": Service.VOICE, "sms": Service.SMS, "data_gb": Service.DATA}
_RATE_KEYS = {"voice_per_minute", "sms_per_sms", "data_per_mb"}
_ROAMING_KEYS = {"voice_out_per_minute", "voice_in_per_minute", "sms_per_sms", "data_per_mb"}


class _Where:
    """Builds error messages that say exactly where the problem is."""

    def __init__(self, source: str, plan: str | None = None) -> None:
        self.source = source
        self.plan = plan

    def error(self, key: str, problem: str) -> CatalogError:
        where = f"{self.source}: "
        if self.plan is not None:
            where += f"plan {self.plan!r}: "
        return CatalogError(f"{where}key {key!r}: {problem}")


def _money(where: _Where, key: str, value: Any) -> int:
    if not isinstance(value, str):
        raise where.error(key, f"expected a decimal string such as \"0.20\", got {value!r}")
    try:
        return euros_to_micros(value)
    except ValueError as exc:
        raise where.error(key, str(exc)) from None


def _whole(where: _Where, key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise where.error(key, f"expected a non-negative whole number, got {value!r}")
    return value


def _table(where: _Where, key: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise where.error(key, "expected a table")
    return value


def _unknown(where: _Where, prefix: str, table: Mapping[str, Any], known: set[str]) -> None:
    for key in table:
        if key not in known:
            raise where.error(f"{prefix}{key}", f"unknown key (known: {', '.join(sorted(known))})")


def _countries(where: _Where, key: str, value: Any) -> frozenset[str]:
    if not isinstance(value, list):
        raise where.error(key, "expected a list of ISO 3166 alpha-2 codes")
    for code in value:
        if not isinstance(code, str) or not _COUNTRY.match(code):
            raise where.error(key, f"not an ISO 3166 alpha-2 code: {code!r}")
    return frozenset(value)


def _services_of(
    where: _Where, kind: PlanKind, included: Mapping[Service, int], rates: Rates,
    heavy_bytes: int | None,
) -> tuple[frozenset[Service], frozenset[Service]]:
    """Check a plan's allowances and rates fit its kind; return (services, unlimited)."""
    mobile_rates = (("voice_per_minute", rates.voice_per_minute),
                    ("sms_per_sms", rates.sms_per_sms),
                    ("data_per_mb", rates.data_per_mb))
    if kind is PlanKind.BUNDLE:
        for key, value in mobile_rates:
            if value is None:
                raise where.error(f"rates.{key}", "a bundle plan needs its out-of-bundle rate")
        return frozenset(Service), frozenset()
    if kind is PlanKind.PAYG:
        if included:
            raise where.error("included", "a pay-per-use plan has no allowance")
        for key, value in mobile_rates:
            if value is None:
                raise where.error(f"rates.{key}", "a pay-per-use plan needs every rate")
        return frozenset(Service), frozenset()
    if set(included) - {Service.DATA}:
        raise where.error("included", "an internet plan includes data only")
    if Service.DATA in included:
        return frozenset({Service.DATA}), frozenset()
    if heavy_bytes is None:
        raise where.error(
            "heavy_user_gb",
            "an internet plan needs included.data_gb or, when unlimited, heavy_user_gb",
        )
    return frozenset({Service.DATA}), frozenset({Service.DATA})


def _parse_plan(source: str, plan_id: str, data: Any) -> Plan:
    where = _Where(source, plan_id)
    if not _PLAN_ID.match(plan_id):
        raise where.error("id", "plan ids are lower-case letters, digits and dashes")
    table = _table(where, plan_id, data)
    _unknown(where, "", table, _PLAN_KEYS)
    name = table.get("name")
    if not isinstance(name, str) or not name.strip():
        raise where.error("name", "expected a non-empty string")
    try:
        kind = PlanKind(str(table.get("kind")))
    except ValueError:
        raise where.error("kind", "expected one of bundle, payg, internet") from None
    fee = _money(where, "monthly_fee", table.get("monthly_fee", "0"))
    business = table.get("business", False)
    if not isinstance(business, bool):
        raise where.error("business", "expected true or false")

    included: dict[Service, int] = {}
    inc_table = _table(where, "included", table.get("included", {}))
    _unknown(where, "included.", inc_table, set(_INCLUDED_KEYS))
    for key, service in _INCLUDED_KEYS.items():
        if key in inc_table:
            amount = _whole(where, f"included.{key}", inc_table[key])
            if service is Service.VOICE:
                amount *= SECONDS_PER_MINUTE
            elif service is Service.DATA:
                amount *= BYTES_PER_GB
            included[service] = amount

    rate_table = _table(where, "rates", table.get("rates", {}))
    _unknown(where, "rates.", rate_table, _RATE_KEYS)
    rates = Rates(**{
        key: _money(where, f"rates.{key}", value) for key, value in rate_table.items()
    })

    limits_raw = table.get("spending_limits", [])
    if not isinstance(limits_raw, list):
        raise where.error("spending_limits", "expected a list of decimal strings")
    limits = tuple(_money(where, "spending_limits", v) for v in limits_raw)

    heavy = table.get("heavy_user_gb")
    heavy_bytes = None if heavy is None else _whole(where, "heavy_user_gb", heavy) * BYTES_PER_GB

    services, unlimited = _services_of(where, kind, included, rates, heavy_bytes)
    if limits and kind is not PlanKind.PAYG:
        raise where.error("spending_limits", "only pay-per-use plans have spending limits")

    return Plan(
        id=plan_id, name=name, kind=kind, monthly_fee_micros=fee, business=business,
        included=included, unlimited=unlimited, rates=rates,
        spending_limits_micros=limits, heavy_user_bytes=heavy_bytes, services=services,
    )


def _parse_network(where: _Where, data: Any) -> Network:
    table = _table(where, "network", data)
    _unknown(where, "network.", table, _NETWORK_KEYS)
    groups_table = _table(where, "network.rating_groups", table.get("rating_groups", {}))
    services = {service.value: service for service in Service}
    groups: dict[int, Service] = {}
    for key, value in groups_table.items():
        name = f"network.rating_groups.{key}"
        if not key.isdigit() or int(key) > _MAX_RATING_GROUP:
            raise where.error(name, f"a rating group is a number from 0 to {_MAX_RATING_GROUP}")
        if value not in services:
            raise where.error(name, f"expected one of {', '.join(sorted(services))}")
        groups[int(key)] = services[value]
    quota_table = _table(where, "network.default_quota", table.get("default_quota", {}))
    _unknown(where, "network.default_quota.", quota_table, set(_QUOTA_KEYS))
    quota = {service: _whole(where, f"network.default_quota.{key}", quota_table[key])
             for key, service in _QUOTA_KEYS.items() if key in quota_table}
    return Network(rating_groups=groups, default_quota=quota)


def parse_catalog(data: Mapping[str, Any], source: str) -> Catalog:
    """Validate decoded catalogue data; `source` names the file in error messages."""
    where = _Where(source)
    _unknown(where, "", data, _TOP_KEYS)
    home = data.get("home_country")
    if not isinstance(home, str) or not _COUNTRY.match(home):
        raise where.error("home_country", "expected an ISO 3166 alpha-2 code such as \"BE\"")
    eu_eea = _countries(where, "eu_eea", data.get("eu_eea", []))
    blocked = _countries(where, "limit_roaming_blocked", data.get("limit_roaming_blocked", []))
    roaming_table = _table(where, "roaming_rates", data.get("roaming_rates"))
    _unknown(where, "roaming_rates.", roaming_table, _ROAMING_KEYS)
    for key in sorted(_ROAMING_KEYS):
        if key not in roaming_table:
            raise where.error(f"roaming_rates.{key}", "missing")
    roaming = Rates(
        voice_per_minute=_money(where, "roaming_rates.voice_out_per_minute",
                                roaming_table["voice_out_per_minute"]),
        voice_in_per_minute=_money(where, "roaming_rates.voice_in_per_minute",
                                   roaming_table["voice_in_per_minute"]),
        sms_per_sms=_money(where, "roaming_rates.sms_per_sms", roaming_table["sms_per_sms"]),
        data_per_mb=_money(where, "roaming_rates.data_per_mb", roaming_table["data_per_mb"]),
    )
    plans_table = _table(where, "plans", data.get("plans"))
    if not plans_table:
        raise where.error("plans", "the catalogue defines no plan")
    plans = {pid: _parse_plan(source, pid, pdata) for pid, pdata in plans_table.items()}
    network = _parse_network(where, data.get("network", {}))
    cap = data.get("roaming_data_cap_eur")
    cap_micros = DEFAULT_ROAMING_DATA_CAP_MICROS if cap is None else _money(
        where, "roaming_data_cap_eur", cap)
    if cap_micros <= 0:
        raise where.error("roaming_data_cap_eur", "must be more than 0")
    return Catalog(
        home_country=home, eu_eea=eu_eea, limit_roaming_blocked=blocked,
        roaming_rates=roaming, plans=plans, network=network,
        roaming_data_cap_micros=cap_micros,
    )
