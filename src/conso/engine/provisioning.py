"""Provisioning commands: accounts, users, lines and their notification settings.

Each is one unit of work; validation happens before the engine's lock is taken
(a password is hashed outside it: scrypt is slow on purpose). Errors name the
field and where the operator's HTTP API carries it. A user's new password or role
revokes their login tokens in the same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Generic, TypeVar

from conso.auth import revoke_user_tokens
from conso.domain.alerts import AlertError, AlertsChoice, AlertSettings, parse_settings
from conso.domain.cycle import MIN_CYCLE_DAY
from conso.domain.line import Line, PlanPeriod
from conso.engine import checks
from conso.engine.checks import FieldError
from conso.errors import Conflict, InvalidInput, NotFound
from conso.notify.compose import change_message
from conso.notify.templates import limit_dropped_text
from conso.security import hash_password, verify_password
from conso.store.base import Account, AuditEntry, User

if TYPE_CHECKING:
    from conso.engine.engine import Engine

log = logging.getLogger("conso.engine")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Put(Generic[T]):
    """The result of an idempotent PUT: the thing, and whether it was created."""

    value: T
    created: bool


@contextmanager
def _located(where: str, *, path: tuple[str, ...] = ()) -> Iterator[None]:
    """A field's error (checks.py) as the PUT's InvalidInput: the fields in `path` are
    in the URL, the others in the body."""
    try:
        yield
    except FieldError as exc:
        place = "path" if exc.field in path else where
        raise InvalidInput((place, exc.field), exc.message) from None


def put_account(engine: Engine, account_id: str, *, name: str, kind: str) -> Put[Account]:
    with _located("body", path=("account_id",)):
        account = Account(checks.account_id(account_id), checks.account_name(name),
                          checks.account_kind(kind))
    with engine.unit_of_work() as uow:
        created = engine.store.accounts.get(account_id) is None
        uow.tx.accounts.put(account, uow.now)
    log.info("account %s %s (%s)", account_id, "created" if created else "updated", kind)
    return Put(account, created)


def check_password(password: str, where: tuple[str, ...]) -> None:
    """The rules of a new password (checks.password), as InvalidInput at `where`."""
    try:
        checks.password(password)
    except FieldError as exc:
        raise InvalidInput(where, exc.message) from None


def set_password(engine: Engine, login: str, new: str, *, by: str,
                 keep_token: str | None = None,
                 where: tuple[str, ...] = ("body", "new")) -> int:
    """Give `login` the password `new`, and revoke every token of theirs but
    `keep_token` (the caller's own, when a user changes their password; None: all of
    them, when an admin resets it). Audited (`by`: who). Whoever may do it is the
    caller's to check (the current password, or access.py); the rules of a password
    are checked here (InvalidInput at `where`). NotFound for an unknown login. Answers
    how many tokens were revoked."""
    check_password(new, where)
    new_hash = hash_password(new)        # outside the engine's lock: scrypt is slow
    with engine.unit_of_work() as uow:
        user = engine.store.users.get(login)
        if user is None:
            raise NotFound(f"no user {login}")
        uow.tx.users.put(replace(user, password_hash=new_hash), uow.now)
        revoked = revoke_user_tokens(uow.tx, login, keep=keep_token)
        action = "password_change" if by == login else "password_reset"
        uow.tx.lines.audit(AuditEntry(uow.now, by, None, action, None,
                                      {"login": login, "account_id": user.account_id,
                                       "tokens_revoked": revoked}))
    log.info("password of %s %s by %s; %d token(s) revoked", login,
             "changed" if by == login else "reset", by, revoked)
    return revoked


def put_user(
    engine: Engine, account_id: str, login: str, *, password: str | None, role: str,
    email: str | None, language: str | None,
) -> Put[User]:
    with _located("body", path=("login",)):
        checks.login(login)
        checks.role(role)
        checks.email(email)
        checks.language(language)
    if password is not None:
        check_password(password, ("body", "password"))
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
    with _located("body", path=("line_id",)):
        plan = checks.plan(catalog, plan_id)
        checks.line_id(line_id, plan)
        checks.cycle_day(cycle_day)
        if not keep_imsi:
            checks.imsi(imsi)
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
            try:
                line = checks.changed_line(
                    existing, catalog, account_id=account_id, plan=plan,
                    user_login=user_login, cycle_day=cycle_day, imsi=imsi, now=now,
                    has_usage=lambda: engine.store.usage.line_has_usage(existing.id))
            except FieldError as exc:
                raise Conflict(exc.message) from None
        kind_changed = existing is not None and (
            catalog.plans[existing.plan_id].kind is not plan.kind)
        uow.save_line(line)
        if existing is not None and existing.spending_limit_micros is not None and (
                line.spending_limit_micros is None):
            # The plan change dropped the spending limit (rules.md): tell the user.
            text = limit_dropped_text(existing.spending_limit_micros, plan.name,
                                      engine.recipient(line).language)
            uow.queue([change_message(line_id, text, what="spending_limit",
                                      before=existing.spending_limit_micros, after=None,
                                      now=now)])
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


def put_alerts(engine: Engine, line: Line, choice: AlertsChoice, by: str | None) -> AlertSettings:
    """Choose a line's notification rules and channels (validated against its plan)."""
    try:
        settings = parse_settings(choice, engine.catalog.plans[line.plan_id])
    except AlertError as exc:
        raise InvalidInput(exc.loc, exc.msg) from None
    with engine.unit_of_work([line.id]) as uow:
        before = _alerts_view(uow.alert_settings(line))
        after = _alerts_view(settings)
        uow.remember_alerts(line.id, settings, by)
        if before != after:   # audited like barring: an admin's action is on the trail
            uow.tx.lines.audit(AuditEntry(uow.now, by or "operator", line.id, "alerts",
                                          before, after))
    log.info("alerts of line %s set by %s: %s", line.id, by,
             ", ".join(f"{r.kind.value} {r.value}" for r in settings.rules) or "none")
    return settings


def _alerts_view(settings: AlertSettings) -> dict[str, object]:
    """A line's notification settings as the audit trail keeps them."""
    channels = settings.channels
    return {"rules": [f"{rule.kind.value}:{rule.value}" for rule in settings.rules],
            "channels": {"sms": channels.sms, "second_number": channels.second_number,
                         "email": channels.email}}
