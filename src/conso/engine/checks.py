"""The rules of a provisioned account, user and line, field by field: one place that a
single PUT (provisioning.py) and a batch (bulk.py) both check against.

Each check raises `FieldError(field, message)`, naming the field as the item of a batch
names it ("line_id", "plan"); a front end says where its protocol carried it. It reads
nothing and writes nothing (what exists already is the caller's to look up; whether a
line has usage is asked through a callable, only when it matters).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from conso.domain.catalog import Catalog, Plan, PlanKind
from conso.domain.cycle import MAX_CYCLE_DAY, MIN_CYCLE_DAY
from conso.domain.ids import (
    ACCOUNT_ID,
    E164,
    EMAIL,
    IMSI,
    INTERNET_LINE_ID,
    LANGUAGES,
    LOGIN,
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
)
from conso.domain.line import Line, PlanPeriod

ACCOUNT_KINDS = ("business", "residential")
ROLES = ("admin", "user")


class FieldError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def account_id(value: str) -> str:
    if not ACCOUNT_ID.match(value):
        raise FieldError("account_id", "letters, digits, '.', '_' and '-', at most 64")
    return value


def account_name(value: str) -> str:
    name = value.strip()
    if not name or len(name) > 200:
        raise FieldError("name", "must be 1 to 200 characters")
    return name


def account_kind(value: str) -> str:
    if value not in ACCOUNT_KINDS:
        raise FieldError("kind", "must be 'business' or 'residential'")
    return value


def login(value: str) -> str:
    if not LOGIN.match(value):
        raise FieldError("login", "lower-case letters, digits and . _ @ + -, at most 64")
    return value


def role(value: str) -> str:
    if value not in ROLES:
        raise FieldError("role", "must be 'admin' or 'user'")
    return value


def email(value: str | None) -> str | None:
    if value is not None and (len(value) > 254 or not EMAIL.match(value)):
        raise FieldError("email", "is not an e-mail address")
    return value


def language(value: str | None) -> str | None:
    if value is not None and value not in LANGUAGES:
        raise FieldError("language", "must be 'en', 'fr' or 'nl'")
    return value


def password(value: str, field: str = "password") -> str:
    """8 to 256 characters, no NUL."""
    if not MIN_PASSWORD_LENGTH <= len(value) <= MAX_PASSWORD_LENGTH:
        raise FieldError(field, f"must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} "
                                "characters")
    if "\x00" in value:
        # scrypt's HMAC pads a key with NULs: "secret\x00" would be "secret".
        raise FieldError(field, "must not contain NUL (U+0000)")
    return value


def plan(catalog: Catalog, plan_id: str) -> Plan:
    found = catalog.plans.get(plan_id)
    if found is None:
        known = ", ".join(sorted(catalog.plans))
        raise FieldError("plan", f"unknown plan {plan_id!r} (known: {known})")
    return found


def line_id(value: str, on_plan: Plan) -> str:
    if on_plan.kind is PlanKind.INTERNET:
        if not (INTERNET_LINE_ID.match(value) or E164.match(value)):
            raise FieldError("line_id", "an internet line id is letters, digits and . _ : -")
    elif not E164.match(value):
        raise FieldError("line_id", "a mobile line id is an E.164 number such as +32470000001")
    return value


def cycle_day(value: int | None) -> int | None:
    if value is not None and not MIN_CYCLE_DAY <= value <= MAX_CYCLE_DAY:
        raise FieldError("cycle_day", f"must be {MIN_CYCLE_DAY} to {MAX_CYCLE_DAY}")
    return value


def imsi(value: str | None) -> str | None:
    if value is not None and not IMSI.match(value):
        raise FieldError("imsi", "an IMSI is 6 to 15 digits")
    return value


def changed_line(existing: Line, catalog: Catalog, *, account_id: str, plan: Plan,
                 user_login: str | None, cycle_day: int | None, imsi: str | None,
                 now: datetime, has_usage: Callable[[], bool]) -> Line:
    """An existing line as a PUT changes it. A new plan is a plan change (from now, never
    before the last one) and removes the spending limit (it must be set again). What
    cannot change is a FieldError: the account, mobile to internet or back, the cycle
    day of a line with usage."""
    if existing.account_id != account_id:
        raise FieldError("account_id", f"line {existing.id} belongs to another account")
    old_plan = catalog.plans.get(existing.plan_id)
    if old_plan is not None and (
            (old_plan.kind is PlanKind.INTERNET) != (plan.kind is PlanKind.INTERNET)):
        raise FieldError("plan", "a mobile line cannot become an internet line, nor the reverse")
    if cycle_day is not None and cycle_day != existing.cycle_day and has_usage():
        raise FieldError("cycle_day", "the cycle day of a line with usage cannot change")
    plans = existing.plans
    if plan.id != existing.plan_id:
        plans = (*plans, PlanPeriod(max(now, plans[-1].effective_from), plan.id))
    limit = existing.spending_limit_micros if plan.id == existing.plan_id else None
    return replace(existing, user_login=user_login, cycle_day=cycle_day or existing.cycle_day,
                   plans=plans, spending_limit_micros=limit, imsi=imsi)
