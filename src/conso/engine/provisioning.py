"""Provisioning commands: accounts, users, lines and their notification settings.

Each is one unit of work; validation happens before the engine's lock is taken
(a password is hashed outside it: scrypt is slow on purpose). Errors name the
field and where the operator's HTTP API carries it. A user's new password or role
revokes their login tokens in the same transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Generic, TypeVar

from conso.auth import revoke_user_tokens
from conso.domain.alerts import AlertError, AlertsChoice, AlertSettings, parse_settings
from conso.domain.catalog import Plan, PlanKind
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
from conso.errors import Conflict, InvalidInput
from conso.security import hash_password, verify_password
from conso.store.base import Account, User

if TYPE_CHECKING:
    from conso.engine.engine import Engine

log = logging.getLogger("conso.engine")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Put(Generic[T]):
    """The result of an idempotent PUT: the thing, and whether it was created."""

    value: T
    created: bool


def put_account(engine: Engine, account_id: str, *, name: str, kind: str) -> Put[Account]:
    if not ACCOUNT_ID.match(account_id):
        raise InvalidInput(("path", "account_id"),
                           "letters, digits, '.', '_' and '-', at most 64")
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput(("body", "name"), "must be 1 to 200 characters")
    if kind not in ("business", "residential"):
        raise InvalidInput(("body", "kind"), "must be 'business' or 'residential'")
    account = Account(account_id, name, kind)
    with engine.unit_of_work() as uow:
        created = engine.store.accounts.get(account_id) is None
        uow.tx.accounts.put(account, uow.now)
    log.info("account %s %s (%s)", account_id, "created" if created else "updated", kind)
    return Put(account, created)


def put_user(
    engine: Engine, account_id: str, login: str, *, password: str | None, role: str,
    email: str | None, language: str | None,
) -> Put[User]:
    if not LOGIN.match(login):
        raise InvalidInput(("path", "login"),
                           "lower-case letters, digits and . _ @ + -, at most 64")
    if role not in ("admin", "user"):
        raise InvalidInput(("body", "role"), "must be 'admin' or 'user'")
    if email is not None and (len(email) > 254 or not EMAIL.match(email)):
        raise InvalidInput(("body", "email"), "is not an e-mail address")
    if language is not None and language not in LANGUAGES:
        raise InvalidInput(("body", "language"), "must be 'en', 'fr' or 'nl'")
    if password is not None and not (
        MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH
    ):
        raise InvalidInput(("body", "password"),
                           f"must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters")
    if password is not None and "\x00" in password:
        # scrypt's HMAC pads a key with NULs: "secret\x00" would be "secret".
        raise InvalidInput(("body", "password"), "must not contain NUL (U+0000)")
    # The same password again is no change (a provisioning run repeats its PUTs): it
    # keeps the stored hash, and the user's sessions.
    before = None if password is None else engine.store.users.get(login)
    same = before is not None and verify_password(password or "", before.password_hash)
    new_hash = None if password is None or same else hash_password(password)
    with engine.unit_of_work() as uow:
        if engine.store.accounts.get(account_id) is None:
            raise InvalidInput(("path", "account_id"), f"unknown account {account_id!r}")
        existing = engine.store.users.get(login)
        if existing is not None and existing.account_id != account_id:
            raise Conflict(f"login {login!r} is taken")
        if same and password is not None and (
                existing is None or before is None
                or existing.password_hash != before.password_hash):
            new_hash = hash_password(password)    # changed meanwhile (rare): hash it now
        if existing is None and new_hash is None:
            raise InvalidInput(("body", "password"), "is required for a new user")
        user = User(
            login=login, account_id=account_id,
            password_hash=new_hash or (existing.password_hash if existing else ""),
            role=role, email=email,
            language=language or (existing.language if existing else "en"),
        )
        uow.tx.users.put(user, uow.now)
        if existing is not None and (new_hash is not None or existing.role != role):
            revoke_user_tokens(uow.tx, login)
        uow.forget_recipient(login)
    log.info("user %s of account %s %s as %s", login, account_id,
             "created" if existing is None else "updated", role)
    return Put(user, existing is None)


def put_line(
    engine: Engine, line_id: str, *, account_id: str, plan_id: str, user_login: str | None,
    cycle_day: int | None, keep_user: bool = False, imsi: str | None = None,
    keep_imsi: bool = True,
) -> Put[Line]:
    """Create a line or change it. `keep_user` / `keep_imsi`: an existing line keeps
    its user / IMSI whatever `user_login` / `imsi` say (a PUT that leaves them out)."""
    catalog = engine.catalog
    plan = catalog.plans.get(plan_id)
    if plan is None:
        known = ", ".join(sorted(catalog.plans))
        raise InvalidInput(("body", "plan"), f"unknown plan {plan_id!r} (known: {known})")
    if plan.kind is PlanKind.INTERNET:
        if not (INTERNET_LINE_ID.match(line_id) or E164.match(line_id)):
            raise InvalidInput(("path", "line_id"),
                               "an internet line id is letters, digits and . _ : -")
    elif not E164.match(line_id):
        raise InvalidInput(("path", "line_id"),
                           "a mobile line id is an E.164 number such as +32470000001")
    if cycle_day is not None and not MIN_CYCLE_DAY <= cycle_day <= MAX_CYCLE_DAY:
        raise InvalidInput(("body", "cycle_day"),
                           f"must be {MIN_CYCLE_DAY} to {MAX_CYCLE_DAY}")
    if not keep_imsi and imsi is not None and not IMSI.match(imsi):
        raise InvalidInput(("body", "imsi"), "an IMSI is 6 to 15 digits")
    with engine.unit_of_work([line_id]) as uow:
        now = uow.now
        if engine.store.accounts.get(account_id) is None:
            raise InvalidInput(("body", "account_id"), f"unknown account {account_id!r}")
        if user_login is not None:
            user = engine.store.users.get(user_login)
            if user is None or user.account_id != account_id:
                raise InvalidInput(("body", "user"),
                                   f"no user {user_login!r} in account {account_id!r}")
        existing = uow.line(line_id)
        if keep_user and existing is not None:
            user_login = existing.user_login
        if keep_imsi:
            imsi = None if existing is None else existing.imsi
        elif imsi is not None:
            holder = engine.store.lines.by_imsi(imsi)
            if holder is not None and holder != line_id:
                raise Conflict(f"IMSI {imsi} is line {holder}'s")
        if existing is None:
            line = Line(line_id, account_id, user_login, cycle_day or MIN_CYCLE_DAY,
                        (PlanPeriod(now, plan_id),), imsi=imsi)
        else:
            line = replace(_changed_line(engine, existing, account_id=account_id, plan=plan,
                                         user_login=user_login, cycle_day=cycle_day, now=now),
                           imsi=imsi)
        kind_changed = existing is not None and (
            catalog.plans[existing.plan_id].kind is not plan.kind)
        uow.save_line(line)
        if kind_changed:
            # Rules chosen for another kind of plan may not apply any more.
            uow.remember_alerts(line_id, None, None)
        # Defaults depend on the plan and the user's e-mail: recompute them.
        uow.forget_alerts(line_id)
    if existing is None:
        log.info("line %s created on plan %s in account %s", line_id, plan_id, account_id)
    elif existing.plan_id != line.plan_id:
        log.info("line %s changed plan %s -> %s", line_id, existing.plan_id, line.plan_id)
    return Put(line, existing is None)


def _changed_line(
    engine: Engine, existing: Line, *, account_id: str, plan: Plan, user_login: str | None,
    cycle_day: int | None, now: datetime,
) -> Line:
    if existing.account_id != account_id:
        raise Conflict(f"line {existing.id} belongs to another account")
    old_plan = engine.catalog.plans.get(existing.plan_id)
    if old_plan is not None and (
        (old_plan.kind is PlanKind.INTERNET) != (plan.kind is PlanKind.INTERNET)
    ):
        raise Conflict("a mobile line cannot become an internet line, nor the reverse")
    if (cycle_day is not None and cycle_day != existing.cycle_day
            and engine.store.usage.line_has_usage(existing.id)):
        raise Conflict("the cycle day of a line with usage cannot change")
    plans = existing.plans
    if plan.id != existing.plan_id:
        plans = (*plans, PlanPeriod(max(now, plans[-1].effective_from), plan.id))
    # Changing the plan removes the spending limit: it must be set again.
    limit = existing.spending_limit_micros if plan.id == existing.plan_id else None
    return replace(existing, user_login=user_login,
                   cycle_day=cycle_day or existing.cycle_day, plans=plans,
                   spending_limit_micros=limit)


def put_alerts(engine: Engine, line: Line, choice: AlertsChoice, by: str | None) -> AlertSettings:
    """Choose a line's notification rules and channels (validated against its plan)."""
    try:
        settings = parse_settings(choice, engine.catalog.plans[line.plan_id])
    except AlertError as exc:
        raise InvalidInput(exc.loc, exc.msg) from None
    with engine.unit_of_work([line.id]) as uow:
        uow.remember_alerts(line.id, settings, by)
    log.info("alerts of line %s set by %s: %s", line.id, by,
             ", ".join(f"{r.kind.value} {r.value}" for r in settings.rules) or "none")
    return settings
