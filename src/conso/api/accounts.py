"""Account administration by an admin of the account (or the operator): a user's password.

Thin: who may act is access.py's (an admin sees their own account only; a line user
may not administer: 403), the password rules, the token revocation and the audit entry
are the engine's (engine/provisioning.set_password).
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from conso.access import Role, require_account
from conso.api.answers import API, problems
from conso.api.deps import TEXT_PARAMETERS, CallerDep, ServicesDep
from conso.api.schemas import AccountIdPath, LoginPath, PasswordResetIn
from conso.errors import Forbidden, NotFound

router = APIRouter(prefix="/api/v1", tags=["self-care"], dependencies=TEXT_PARAMETERS,
                   responses=API)


@router.put("/accounts/{account_id}/users/{login}/password", status_code=204,
            summary="Reset a user's password (an admin of the account)",
            responses=problems(401, 403, 404))
def reset_password(account_id: AccountIdPath, login: LoginPath, body: PasswordResetIn,
                   svc: ServicesDep, who: CallerDep) -> Response:
    """Every token of the user is revoked (the caller's too, when it is theirs); the
    reset is in the audit trail."""
    if who.role is Role.USER:
        raise Forbidden("only an admin of the account may reset a password")
    require_account(who, account_id, svc.store.accounts.get(account_id) is not None)
    user = svc.store.users.get(login)
    if user is None or user.account_id != account_id:
        raise NotFound(f"no user {login} in account {account_id}")
    svc.engine.set_password(login, body.new, by=who.login or "operator")
    return Response(status_code=204)
