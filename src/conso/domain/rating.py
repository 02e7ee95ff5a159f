"""Rating: what one usage record draws from the bundle and what it costs.

A line's usage in a cycle is a set of meters (quantities per service and zone)
and its extra spend. Charges are priced on the *cumulative* chargeable quantity
of each rate class in the cycle:

    charge(record) = price(chargeable after) - price(chargeable before)

where `price` applies the catalogue's billing unit (per second for voice, per
started kB for data) and rounds up to the micro-euro. Each charge is a whole
number of micro-euros, the charges of a cycle add up to exactly the price of
its total, and the total does not depend on the order records arrive in (per-
event rounding would make it order-dependent at the bundle boundary, and
would charge a customer more for the same usage split into more records).

EU/EEA usage counts like at home; elsewhere it is charged at the roaming rates
and never draws on the bundle. Incoming calls at home are free, `callme`
messages are never charged, premium events cost the amount the provider set.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from conso.domain.catalog import Catalog, Plan, PlanKind, Rates
from conso.domain.cycle import Cycle
from conso.domain.records import RecordError, UsageRecord
from conso.domain.units import (
    BYTES_PER_KB,
    SECONDS_PER_MINUTE,
    Direction,
    Service,
    ceil_div,
)

# Meter names: what a cycle counts.
VOICE = "voice"                 # outgoing calls at home / EU, draws on the bundle
VOICE_IN = "voice_in"           # incoming calls at home / EU, free
SMS = "sms"
DATA = "data"
PREMIUM = "premium"             # events
CALLME = "callme"
ROAMING_VOICE_OUT = "roaming_voice_out"
ROAMING_VOICE_IN = "roaming_voice_in"
ROAMING_SMS = "roaming_sms"
ROAMING_DATA = "roaming_data"
METERS = (VOICE, VOICE_IN, SMS, DATA, PREMIUM, CALLME,
          ROAMING_VOICE_OUT, ROAMING_VOICE_IN, ROAMING_SMS, ROAMING_DATA)
ROAMING_METER_OF = {Service.VOICE: ROAMING_VOICE_OUT, Service.SMS: ROAMING_SMS,
                    Service.DATA: ROAMING_DATA}


@dataclass(frozen=True, slots=True)
class NetworkOvershoot:
    """What the network used in a cycle beyond what online charging granted it (credit-
    control reports of more than the grant): the units by service, and what they cost.
    Charged all the same (it happened); kept apart so the line can be shown that the
    network, not the line's own offline usage, took it there. Immutable: copies share it."""

    units: tuple[tuple[str, int], ...] = ()   # (service, units), sorted by service
    micros: int = 0

    def of(self, service: str) -> int:
        return dict(self.units).get(service, 0)

    def plus(self, service: str, units: int, micros: int) -> NetworkOvershoot:
        by_service = dict(self.units)
        by_service[service] = by_service.get(service, 0) + units
        return NetworkOvershoot(tuple(sorted(by_service.items())), self.micros + micros)

    def __bool__(self) -> bool:
        return bool(self.units) or self.micros != 0


NO_OVERSHOOT = NetworkOvershoot()


@dataclass(slots=True)
class CycleUsage:
    """What a line used and spent in one cycle. Mutated only through `add` (and
    `add_overshoot`, which marks part of what was added as the network's overshoot)."""

    cycle: Cycle
    meters: dict[str, int] = field(default_factory=dict)
    spend_micros: int = 0
    records: int = 0
    # Notification thresholds already fired (or passed) this cycle; see alerts.py.
    # Immutable, so copies share it and an untouched line keeps the one empty set.
    fired: frozenset[str] = frozenset()
    # Of what was counted above, what the network used beyond its grants (not in the
    # records: kept with the cycle, like `fired`).
    overshoot: NetworkOvershoot = NO_OVERSHOOT

    def meter(self, name: str) -> int:
        return self.meters.get(name, 0)

    def copy(self) -> CycleUsage:
        return CycleUsage(self.cycle, dict(self.meters), self.spend_micros, self.records,
                          self.fired, self.overshoot)

    def add(self, rating: Rating) -> None:
        self.meters[rating.meter] = self.meters.get(rating.meter, 0) + rating.quantity
        self.spend_micros += rating.charge_micros
        self.records += 1

    def add_overshoot(self, service: Service, units: int, micros: int) -> None:
        """Of units already added, `units` of `service` were past the network's grant
        and cost `micros`."""
        self.overshoot = self.overshoot.plus(service.value, units, micros)


# Not frozen: one is built per record on the hot path, and frozen dataclasses cost
# several times more to build. Treated as immutable all the same. No slots: compiled
# (rating.pxd), an extension type, which Cython's dataclasses cannot give slots to.
@dataclass
class Rating:
    """The effect of one record: the meter it counts on, bundle use and charge."""

    meter: str
    quantity: int
    from_bundle: int
    charge_micros: int


def price_voice(seconds: int, per_minute: int) -> int:
    """Per-minute rate billed per second, rounded up to the micro-euro."""
    return ceil_div(seconds * per_minute, SECONDS_PER_MINUTE)


def price_sms(messages: int, per_sms: int) -> int:
    return messages * per_sms


def price_data(size: int, per_mb: int) -> int:
    """Per-MB rate billed per started kB, rounded up to the micro-euro."""
    started_kb = ceil_div(size, BYTES_PER_KB)
    return ceil_div(started_kb * per_mb, 1000)


def _tariff(service: Service, direction: Direction, rates: Rates) -> Callable[[int], int] | None:
    """The price function of a rate class, or None when the plan charges nothing."""
    if service is Service.VOICE:
        rate = rates.voice_in_per_minute if direction is Direction.IN else rates.voice_per_minute
        return None if rate is None else (lambda q: price_voice(q, rate))
    if service is Service.SMS:
        sms_rate = rates.sms_per_sms
        return None if sms_rate is None else (lambda q: price_sms(q, sms_rate))
    if service is Service.DATA:
        data_rate = rates.data_per_mb
        return None if data_rate is None else (lambda q: price_data(q, data_rate))
    return None


@dataclass(frozen=True, slots=True)
class RateClass:
    """How one kind of usage is counted and priced on a plan.

    `meter` is what it counts on; `tariff` prices a cumulative chargeable quantity
    (None: free); `allowance` is what the bundle includes before charging starts.
    """

    meter: str
    tariff: Callable[[int], int] | None
    allowance: int | None = None
    unlimited: bool = False

    def chargeable(self, metered: int) -> int:
        if self.allowance is None:
            return metered
        return max(0, metered - self.allowance)

    def cost(self, metered_before: int, quantity: int) -> int:
        """What `quantity` more units cost when `metered_before` were counted already."""
        if self.tariff is None or quantity == 0:
            return 0
        return (self.tariff(self.chargeable(metered_before + quantity))
                - self.tariff(self.chargeable(metered_before)))

    def from_bundle(self, metered_before: int, quantity: int) -> int:
        if self.unlimited:
            return quantity
        if self.allowance is None:
            return 0
        return (min(metered_before + quantity, self.allowance)
                - min(metered_before, self.allowance))


# Rate classes depend only on (plan, catalogue, service, direction, zone): built once.
# Keyed by identity, with the objects kept in the value so that no id is ever reused.
_CLASSES: dict[tuple[int, int, Service, Direction, bool],
               tuple[Plan, Catalog, RateClass | None]] = {}


def rate_class(plan: Plan, catalog: Catalog, service: Service, direction: Direction,
               country: str) -> RateClass | None:
    """The rate class of metered usage; None for premium and callme (not metered)."""
    home = plan.kind is PlanKind.INTERNET or catalog.is_home_zone(country)
    key = (id(plan), id(catalog), service, direction, home)
    found = _CLASSES.get(key)
    if found is None:
        found = (plan, catalog, _build_rate_class(plan, catalog, service, direction, home))
        _CLASSES[key] = found
    return found[2]


def _build_rate_class(plan: Plan, catalog: Catalog, service: Service, direction: Direction,
                      home: bool) -> RateClass | None:
    if service in (Service.PREMIUM, Service.CALLME):
        return None
    incoming = service is Service.VOICE and direction is Direction.IN
    if not home:
        meter = ROAMING_VOICE_IN if incoming else ROAMING_METER_OF[service]
        return RateClass(meter, _tariff(service, direction, catalog.roaming_rates))
    if incoming:
        return RateClass(VOICE_IN, None)
    tariff = _tariff(service, Direction.OUT, plan.rates)
    if plan.kind is PlanKind.PAYG:
        return RateClass(service.value, tariff)
    if service in plan.unlimited:
        return RateClass(service.value, None, unlimited=True)
    return RateClass(service.value, tariff, plan.included.get(service, 0))


def rate(record: UsageRecord, plan: Plan, catalog: Catalog, usage: CycleUsage) -> Rating:
    """Rate one record against the cycle's usage so far (which it does not change)."""
    service = record.service
    quantity = record.quantity
    if service not in plan.services:
        raise RecordError("service", f"{service.value} is not part of plan {plan.id}")
    if service is Service.CALLME:
        return Rating(CALLME, quantity, 0, 0)
    if service is Service.PREMIUM:
        return Rating(PREMIUM, quantity, 0, record.amount_micros)
    rc = rate_class(plan, catalog, service, record.direction, record.country)
    assert rc is not None  # metered services always have one
    before = usage.meter(rc.meter)
    return Rating(rc.meter, quantity, rc.from_bundle(before, quantity), rc.cost(before, quantity))
