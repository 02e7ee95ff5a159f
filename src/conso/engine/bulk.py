"""Bulk provisioning: accounts, users and lines in batches (`POST /api/v1/provision`,
`conso provision FILE`), applied in order in ONE transaction a batch.

Each item is checked by the rules of its single PUT (checks.py) and applied as that PUT
would be (a plan change is one, a user whose password or role changes loses their
tokens, a plan change that drops a spending limit tells the user); a bad item is
rejected alone, by its index, and the rest commit together. An item equal to what is
stored is `unchanged`, so sending a batch again changes nothing. The speed comes from
reading what the items name in a few queries and writing in a few statements, not one
round trip per item. Passwords are hashed (scrypt, slow on purpose) on all cores before
the engine's lock is taken.

It must not parse a request body or a file (front ends hand it decoded items).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from conso.auth import revoke_user_tokens
from conso.domain.cycle import MIN_CYCLE_DAY
from conso.domain.line import Line, PlanPeriod
from conso.domain.text import text_problem
from conso.engine import checks
from conso.engine.checks import FieldError
from conso.notify.compose import change_message
from conso.notify.templates import limit_dropped_text
from conso.security import hash_password, verify_password
from conso.store.base import Account, User

if TYPE_CHECKING:
    from conso.engine.engine import Engine
    from conso.engine.uow import UnitOfWork

log = logging.getLogger("conso.engine")

MAX_ITEMS = 10_000
_FIELDS = {
    "account": ({"type", "account_id", "name", "kind"}, {"account_id", "name", "kind"}),
    "user": ({"type", "account_id", "login", "password", "role", "email", "language"},
             {"account_id", "login", "role"}),
    "line": ({"type", "line_id", "account_id", "plan", "user", "cycle_day", "imsi"},
             {"line_id", "account_id", "plan"}),
}


@dataclass(slots=True)
class ProvisionResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Account:
    index: int
    account: Account


@dataclass(frozen=True, slots=True)
class _User:
    index: int
    account_id: str
    login: str
    password: str | None
    role: str
    email: str | None
    language: str | None


@dataclass(frozen=True, slots=True)
class _Line:
    index: int
    line_id: str
    account_id: str
    plan_id: str
    user: str | None
    keep_user: bool          # "user" left out: an existing line keeps its user
    cycle_day: int | None
    imsi: str | None
    keep_imsi: bool


_Item = _Account | _User | _Line


def provision(engine: Engine, raw_items: Sequence[Any]) -> ProvisionResult:
    """Check and apply a batch of items (at most MAX_ITEMS), in order, in one
    transaction; answers what was created, updated, unchanged and rejected."""
    if len(raw_items) > MAX_ITEMS:
        raise ValueError(f"{len(raw_items)} items; at most {MAX_ITEMS} a batch")
    result = ProvisionResult()
    items: list[_Item] = []
    for index, raw in enumerate(raw_items):
        try:
            items.append(_decode(engine, index, raw))
        except FieldError as exc:
            result.rejected.append((index, str(exc)))
    hashes = _hash_passwords(engine, [i for i in items if isinstance(i, _User)])
    line_ids = sorted({i.line_id for i in items if isinstance(i, _Line)})
    with engine.unit_of_work(line_ids) as uow:
        _Batch(engine, uow, result, hashes).apply(items)
    result.rejected.sort()
    log.info("provisioning batch of %d item(s): %d created, %d updated, %d unchanged, "
             "%d rejected", len(raw_items), result.created, result.updated, result.unchanged,
             len(result.rejected))
    return result


# -- decoding an item: its fields, checked alone ------------------------------------------

def _decode(engine: Engine, index: int, raw: Any) -> _Item:
    if not isinstance(raw, Mapping):
        raise FieldError("item", "must be a JSON object")
    kind = raw.get("type")
    if kind not in _FIELDS:
        raise FieldError("type", "must be 'account', 'user' or 'line'")
    known, required = _FIELDS[kind]
    unknown = sorted(str(name) for name in set(raw) - known)
    if unknown:   # the first, by name, as the PUTs name one field at a time
        raise FieldError(unknown[0], f"unknown field for a {kind}")
    missing = sorted(required - set(raw))
    if missing:
        raise FieldError(missing[0], "is required")
    for name, value in raw.items():
        if isinstance(value, str) and (problem := text_problem(value)) is not None:
            raise FieldError(name, problem)
    if kind == "account":
        return _Account(index, Account(
            checks.account_id(_text(raw, "account_id")),
            checks.account_name(_text(raw, "name")), checks.account_kind(_text(raw, "kind"))))
    if kind == "user":
        password = _optional_text(raw, "password")
        return _User(index, checks.account_id(_text(raw, "account_id")),
                     checks.login(_text(raw, "login")),
                     None if password is None else checks.password(password),
                     checks.role(_text(raw, "role")),
                     checks.email(_optional_text(raw, "email")),
                     checks.language(_optional_text(raw, "language")))
    plan = checks.plan(engine.catalog, _text(raw, "plan"))
    cycle_day = raw.get("cycle_day")
    if cycle_day is not None and (isinstance(cycle_day, bool) or not isinstance(cycle_day, int)):
        raise FieldError("cycle_day", "must be a whole number")
    return _Line(index, checks.line_id(_text(raw, "line_id"), plan),
                 checks.account_id(_text(raw, "account_id")), plan.id,
                 _optional_text(raw, "user"), "user" not in raw, checks.cycle_day(cycle_day),
                 checks.imsi(_optional_text(raw, "imsi")), "imsi" not in raw)


def _text(raw: Mapping[str, Any], name: str) -> str:
    value = raw.get(name)
    if not isinstance(value, str):
        raise FieldError(name, "must be a string")
    return value


def _optional_text(raw: Mapping[str, Any], name: str) -> str | None:
    return None if raw.get(name) is None else _text(raw, name)


def _hash_passwords(engine: Engine, users: Sequence[_User]) -> dict[int, tuple[str, str | None]]:
    """For each user item with a password: (its hash, the stored hash it was checked
    against). The same password as stored keeps the stored hash (a provisioning run
    repeats itself: no new hash, no revoked sessions). scrypt releases the GIL, so the
    hashing runs on every core."""
    asked = [u for u in users if u.password is not None]
    if not asked:
        return {}
    stored = engine.store.users.get_many(sorted({u.login for u in asked}))

    def one(user: _User) -> tuple[int, tuple[str, str | None]]:
        assert user.password is not None
        before = stored.get(user.login)
        if before is not None and verify_password(user.password, before.password_hash):
            return user.index, (before.password_hash, before.password_hash)
        return user.index, (hash_password(user.password),
                            None if before is None else before.password_hash)

    with ThreadPoolExecutor(max_workers=min(len(asked), os.cpu_count() or 2)) as pool:
        return dict(pool.map(one, asked))


# -- applying the batch under the engine's lock ----------------------------------------------

class _Batch:
    """One batch's unit of work: what the items name, read once; the items applied in
    order against it; then written in a few statements."""

    def __init__(self, engine: Engine, uow: UnitOfWork, result: ProvisionResult,
                 hashes: dict[int, tuple[str, str | None]]) -> None:
        self.engine = engine
        self.uow = uow
        self.result = result
        self.hashes = hashes
        self.accounts: dict[str, Account | None] = {}
        self.users: dict[str, User | None] = {}
        self.lines: dict[str, Line | None] = {}
        self.imsi_of_line: dict[str, str] = {}      # the batch's view of IMSIs
        self.line_of_imsi: dict[str, str] = {}
        self.changed_accounts: dict[str, Account] = {}
        self.changed_users: dict[str, User] = {}
        self.changed_lines: dict[str, Line] = {}
        self.revoke: set[str] = set()

    def apply(self, items: Sequence[_Item]) -> None:
        self._read(items)
        for item in items:
            try:
                outcome = self._one(item)
            except FieldError as exc:
                self.result.rejected.append((item.index, str(exc)))
                continue
            if outcome == "created":
                self.result.created += 1
            elif outcome == "updated":
                self.result.updated += 1
            else:
                self.result.unchanged += 1
        self._write()

    def _read(self, items: Sequence[_Item]) -> None:
        store = self.engine.store
        account_ids = {i.account.id if isinstance(i, _Account) else i.account_id
                       for i in items}
        logins = {i.login for i in items if isinstance(i, _User)}
        logins |= {i.user for i in items if isinstance(i, _Line) and i.user is not None}
        found_accounts = store.accounts.get_many(sorted(account_ids))
        self.accounts = {a: found_accounts.get(a) for a in account_ids}
        found_users = store.users.get_many(sorted(logins))
        self.users = {login: found_users.get(login) for login in logins}
        line_ids = sorted({i.line_id for i in items if isinstance(i, _Line)})
        found_lines = store.lines.get_many(line_ids)
        self.lines = {line_id: found_lines.get(line_id) for line_id in line_ids}
        # The users that lines keep (an item that leaves "user" out).
        kept = sorted({line.user_login for line in found_lines.values()
                       if line.user_login is not None} - logins)
        self.users.update(store.users.get_many(kept))
        imsis = sorted({i.imsi for i in items
                        if isinstance(i, _Line) and not i.keep_imsi and i.imsi is not None})
        for imsi, holder in store.lines.imsi_holders(imsis).items():
            self.line_of_imsi[imsi] = holder
            self.imsi_of_line[holder] = imsi
        for line in found_lines.values():
            if line.imsi is not None:
                self.imsi_of_line[line.id] = line.imsi
                self.line_of_imsi[line.imsi] = line.id

    def _one(self, item: _Item) -> str:
        if isinstance(item, _Account):
            return self._account(item)
        if isinstance(item, _User):
            return self._user(item)
        return self._line(item)

    def _account(self, item: _Account) -> str:
        account = item.account
        before = self.accounts.get(account.id)
        if before == account:
            return "unchanged"
        self.accounts[account.id] = self.changed_accounts[account.id] = account
        return "created" if before is None else "updated"

    def _user(self, item: _User) -> str:
        if self.accounts.get(item.account_id) is None:
            raise FieldError("account_id", f"unknown account {item.account_id!r}")
        before = self.users.get(item.login)
        if before is not None and before.account_id != item.account_id:
            raise FieldError("login", f"login {item.login!r} is taken")
        if item.password is None:
            if before is None:
                raise FieldError("password", "is required for a new user")
            password_hash = before.password_hash
        else:
            password_hash, checked_against = self.hashes[item.index]
            if before is not None and checked_against != before.password_hash \
                    and password_hash == checked_against:
                # Changed since it was checked (another request, or an earlier item of
                # this batch): hash it again rather than keep a hash of another password.
                password_hash = hash_password(item.password)
        user = User(login=item.login, account_id=item.account_id,
                    password_hash=password_hash, role=item.role, email=item.email,
                    language=item.language or (before.language if before else "en"))
        if before == user:
            return "unchanged"
        if before is not None and (before.password_hash != user.password_hash
                                   or before.role != user.role):
            self.revoke.add(user.login)
        self.users[user.login] = self.changed_users[user.login] = user
        return "created" if before is None else "updated"

    def _line(self, item: _Line) -> str:
        if self.accounts.get(item.account_id) is None:
            raise FieldError("account_id", f"unknown account {item.account_id!r}")
        before = self.lines.get(item.line_id)
        user_login = before.user_login if item.keep_user and before is not None else item.user
        if user_login is not None:
            user = self.users.get(user_login)
            if user is None or user.account_id != item.account_id:
                raise FieldError("user",
                                 f"no user {user_login!r} in account {item.account_id!r}")
        imsi = self.imsi_of_line.get(item.line_id) if item.keep_imsi else item.imsi
        if not item.keep_imsi and imsi is not None:
            holder = self.line_of_imsi.get(imsi)
            if holder is not None and holder != item.line_id:
                raise FieldError("imsi", f"IMSI {imsi} is line {holder}'s")
        plan = self.engine.catalog.plans[item.plan_id]
        now = self.uow.now
        if before is None:
            line = Line(item.line_id, item.account_id, user_login,
                        item.cycle_day or MIN_CYCLE_DAY, (PlanPeriod(now, plan.id),), imsi=imsi)
        else:
            line = checks.changed_line(
                before, self.engine.catalog, account_id=item.account_id, plan=plan,
                user_login=user_login, cycle_day=item.cycle_day, imsi=imsi, now=now,
                has_usage=lambda: self.engine.store.usage.line_has_usage(before.id))
        if before == line:
            return "unchanged"
        old_imsi = self.imsi_of_line.pop(item.line_id, None)
        if old_imsi is not None:
            self.line_of_imsi.pop(old_imsi, None)
        if imsi is not None:
            self.imsi_of_line[item.line_id] = imsi
            self.line_of_imsi[imsi] = item.line_id
        self.lines[line.id] = self.changed_lines[line.id] = line
        if before is not None and before.spending_limit_micros is not None \
                and line.spending_limit_micros is None:
            text = limit_dropped_text(before.spending_limit_micros, plan.name,
                                      self._language(line))
            self.uow.queue([change_message(line.id, text, what="spending_limit",
                                           before=before.spending_limit_micros, after=None,
                                           now=now)])
        if before is not None and self.engine.catalog.plans[before.plan_id].kind \
                is not plan.kind:
            self.uow.remember_alerts(line.id, None, None)
        return "created" if before is None else "updated"

    def _language(self, line: Line) -> str:
        user = None if line.user_login is None else self.users.get(line.user_login)
        return user.language if user is not None else "en"

    def _write(self) -> None:
        uow, tx, now = self.uow, self.uow.tx, self.uow.now
        if self.changed_accounts:
            tx.accounts.put_many(list(self.changed_accounts.values()), now)
        if self.changed_users:
            tx.users.put_many(list(self.changed_users.values()), now)
            for login in self.changed_users:
                uow.forget_recipient(login)
        for login in sorted(self.revoke):
            revoke_user_tokens(tx, login)
        if self.changed_lines:
            uow.save_lines(list(self.changed_lines.values()))
            for line_id in self.changed_lines:
                uow.forget_alerts(line_id)
