"""Who may see and do what: the operator, an account admin, a line user.

One place decides visibility, so every route asks the same questions. A caller
who may not see a line or an account is told it does not exist (404), never
that it is someone else's.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from conso.domain.line import Line
from conso.errors import Forbidden, NotFound


class Role(StrEnum):
    OPERATOR = "operator"
    ADMIN = "admin"
    USER = "user"


@dataclass(frozen=True, slots=True)
class Principal:
    role: Role
    login: str | None = None
    account_id: str | None = None

    @property
    def is_operator(self) -> bool:
        return self.role is Role.OPERATOR


OPERATOR = Principal(Role.OPERATOR, login="operator")


def require_operator(who: Principal) -> None:
    if not who.is_operator:
        raise Forbidden("this needs the operator key")


def can_see_line(who: Principal, line: Line) -> bool:
    if who.role is Role.OPERATOR:
        return True
    if who.role is Role.ADMIN:
        return line.account_id == who.account_id
    return line.user_login is not None and line.user_login == who.login


def require_line(who: Principal, line: Line | None, line_id: str) -> Line:
    if line is None or not can_see_line(who, line):
        raise NotFound(f"no line {line_id}")
    return line


def require_account(who: Principal, account_id: str, exists: bool) -> None:
    """An admin sees their own account only; a line user sees no account listing."""
    visible = who.is_operator or (who.role is Role.ADMIN and who.account_id == account_id)
    if not exists or not visible:
        raise NotFound(f"no account {account_id}")


def require_admin_of(who: Principal, line: Line) -> None:
    """Settings that only an admin (or the operator) may change."""
    if who.is_operator:
        return
    if who.role is not Role.ADMIN or who.account_id != line.account_id:
        raise Forbidden("only an admin of the account may change this")
