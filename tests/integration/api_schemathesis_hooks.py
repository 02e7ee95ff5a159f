"""schemathesis hooks for test_api_openapi.py (loaded by the `st` process through
SCHEMATHESIS_HOOKS): steer schema-valid requests to what the test provisioned.

The OpenAPI document says what a well-formed request is; some rules are about the state
of the store, which no schema can say, and conso answers them with a 422 naming the
field (api.md): a PUT of a user or a line names an account that must exist, a line's
`user` must be a user of that account, a new user needs a password, a mobile plan
needs an E.164 line id, and which alert rules a line takes depends on its plan. So a
schema-valid request would be refused for the state it met, and `positive_data_acceptance`
would call that a rejected valid request. This hook makes those requests consistent with
the provisioned state, with values the schema allows:

- PUT /accounts/{account_id}/users/{login}: the provisioned account; a password when the
  request has none; never a provisioned login (their roles and tokens stay as they are).
- PUT /lines/{line_id}: the provisioned account and, when a user is named, a provisioned
  user; an E.164 id for a mobile plan; never a provisioned line (their plans stay).
- PUT /lines/{line_id}/alerts: one of the provisioned lines (bundle, pay-per-use, internet
  volume, internet unlimited) and rules of the kinds its plan takes, each once.
- `?cycle=` of a line's records, usage and messages: the first day of one of the line's
  cycles that has begun (the provisioned lines' cycles start on day 1; another day is a
  422), and not with `at` (one or the other); left out for a line not provisioned (one
  the operator's run created may have any cycle day); a records `cursor` is dropped (only
  one the server gave is valid, and none was given).

Other requests are steered in part, so that they reach a real line, account, session or
login and the answers' schemas are checked on 200s, not only on 404s: half of the reads
and changes of a line go to a provisioned line, of the account listings to the
provisioned account, of the session updates and ends to sessions the test opened, of
the logins to a provisioned login and password, of the authorizations and session
starts to a provisioned line, of the password resets to a user provisioned for them
(never a user whose token or password the run uses); a quarter of the usage batches are
real records.

Only positive (schema-valid) cases are touched; a schema-breaking case is sent as
generated, so negative_data_rejection judges it. Which cases are steered depends on the
case's own content (a CRC-32 of it), never on a random draw: the run stays reproducible.

Environment: CONSO_ST_SEED, a JSON object written by the test (`_provision` there).
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import schemathesis

from conso.domain.alerts import EXTRA_EUR_CHOICES, INCLUDED_PCT_CHOICES

SEED: dict[str, Any] = json.loads(os.environ.get("CONSO_ST_SEED", "{}") or "{}")
ACCOUNT: str = SEED.get("account", "")
USERS: list[str] = SEED.get("users", [])                 # logins in ACCOUNT
LOGIN: dict[str, str] = SEED.get("login", {})            # {"login", "password"}
LINES: dict[str, str] = SEED.get("lines", {})            # plan kind -> a line of it
PLAN_KINDS: dict[str, str] = SEED.get("plan_kinds", {})  # plan id -> "bundle" | "payg" | ...
UPDATE_SESSIONS: list[str] = SEED.get("update_sessions", [])
END_SESSIONS: list[str] = SEED.get("end_sessions", [])
RESET: str = SEED.get("reset", "")                   # a user whose password may change
PASSWORD = "schemathesis-password"
API = "/api/v1"

# The rule kinds each provisioned line takes (domain/alerts.py), with their values.
RULES: dict[str, dict[str, tuple[int, ...]]] = {
    "bundle": {"included_pct": INCLUDED_PCT_CHOICES, "extra_eur": EXTRA_EUR_CHOICES},
    "payg": {"extra_eur": EXTRA_EUR_CHOICES},
    "volume": {"volume_pct": INCLUDED_PCT_CHOICES},
    "unlimited": {"heavy_user": INCLUDED_PCT_CHOICES},
}
INTERNET = ("volume", "unlimited")


def _positive(case: Any) -> bool:
    meta = getattr(case, "meta", None)
    return meta is not None and not meta.generation.mode.is_negative


def _draw(case: Any) -> int:
    """A number that depends on the case's content only."""
    content = json.dumps([case.path_parameters, case.query, case.body], sort_keys=True,
                         default=str)
    return zlib.crc32(content.encode())


def _body(case: Any) -> dict[str, Any] | None:
    return dict(case.body) if isinstance(case.body, dict) else None


def _path(case: Any, **values: str) -> None:
    """Set path parameters. The generated ones are percent-encoded already (`a%2B9` for
    `a+9`), and schemathesis 4.32.5 checks the parameters of a case a hook changed against
    the document as they are: so they are decoded again (a positive case's values are all
    safe in a path), lest `a%2B9` break the login pattern and the case be judged invalid."""
    current = {name: unquote(value) if isinstance(value, str) else value
               for name, value in (case.path_parameters or {}).items()}
    case.path_parameters = {**current, **values}


def _protected_line(line_id: str) -> str:
    """Another id of the same shape, for a generated id that is a provisioned line's."""
    if line_id not in LINES.values():
        return line_id
    return line_id + "0" if line_id.startswith("+") else line_id + "-x"


# -- steering by operation -----------------------------------------------------------------

def _put_user(case: Any, _: int) -> None:
    login = unquote((case.path_parameters or {}).get("login", ""))
    if login in USERS or login == LOGIN.get("login"):
        login += "-x"
    _path(case, account_id=ACCOUNT, login=login)
    body = _body(case)
    if body is not None and body.get("password") is None:
        body["password"] = PASSWORD
        case.body = body


def _put_line(case: Any, n: int) -> None:
    body = _body(case)
    if body is None:
        return
    body["account_id"] = ACCOUNT
    if body.get("user") is not None:
        body["user"] = USERS[n % len(USERS)]
    case.body = body
    line_id = _protected_line(unquote((case.path_parameters or {}).get("line_id", "")))
    kind = PLAN_KINDS.get(str(body.get("plan")))
    if kind in ("bundle", "payg") and not line_id.startswith("+"):
        line_id = f"+3249{n % 10**8:08d}"
    _path(case, line_id=line_id)


def _put_alerts(case: Any, n: int) -> None:
    body = _body(case)
    if body is None:
        return
    which = sorted(LINES)[n % len(LINES)]
    _path(case, line_id=LINES[which])
    kinds = RULES[which]
    rules: list[dict[str, Any]] = []
    for rule in body.get("rules") or []:
        kind = rule["kind"] if rule.get("kind") in kinds else sorted(kinds)[n % len(kinds)]
        values = kinds[kind]
        value = rule.get("value") if rule.get("value") in values else values[n % len(values)]
        if {"kind": kind, "value": value} not in rules:
            rules.append({"kind": kind, "value": value})
    body["rules"] = rules
    channels = body.get("channels")
    if which in INTERNET and isinstance(channels, dict) and channels.get("sms"):
        body["channels"] = {**channels, "sms": False}   # an internet line gets no SMS
    case.body = body


def _line_in_half(*kinds: str) -> Callable[[Any, int], None]:
    def steer(case: Any, n: int) -> None:
        if n % 2 == 0:
            _path(case, line_id=LINES[kinds[(n // 2) % len(kinds)]])
    return steer


def _cycle_starts() -> list[str]:
    """The current and the previous cycle of the provisioned lines (day 1, Brussels)."""
    if "now" not in SEED:
        return []
    today = datetime.fromisoformat(SEED["now"]).astimezone(ZoneInfo("Europe/Brussels")).date()
    current = today.replace(day=1)
    previous = (current - timedelta(days=1)).replace(day=1)
    return [current.isoformat(), previous.isoformat()]


def _history_in_half(*kinds: str) -> Callable[[Any, int], None]:
    """A line steered in half, and a query a provisioned line takes: a cycle of its own,
    not with `at`, no cursor. The other half go without `cycle`: their line may be one
    the operator's run created, with a cycle day nobody here knows."""
    line = _line_in_half(*kinds)

    def steer(case: Any, n: int) -> None:
        line(case, n)
        query = dict(case.query or {})
        query.pop("cursor", None)
        starts = _cycle_starts()
        if query.get("cycle") is not None:
            if n % 2 == 0 and starts:
                query["cycle"] = starts[(n // 4) % len(starts)]
                query.pop("at", None)
            else:
                del query["cycle"]
        case.query = query
    return steer


def _reset_in_half(case: Any, n: int) -> None:
    login = unquote((case.path_parameters or {}).get("login", ""))
    if login in USERS or login == LOGIN.get("login"):
        _path(case, login=login + "-x")
    if n % 2 == 0 and RESET:
        _path(case, account_id=ACCOUNT, login=RESET)


def _account_in_half(case: Any, n: int) -> None:
    if n % 2 == 0:
        _path(case, account_id=ACCOUNT)


def _session_in_half(sessions: list[str]) -> Callable[[Any, int], None]:
    def steer(case: Any, n: int) -> None:
        if n % 2 == 0 and sessions:
            _path(case, session_id=sessions[(n // 2) % len(sessions)])
    return steer


def _body_line_in_half(case: Any, n: int) -> None:
    body = _body(case)
    if body is not None and n % 2 == 0:
        body["line"] = LINES[("bundle", "payg")[(n // 2) % 2]]
        case.body = body


def _login_in_half(case: Any, n: int) -> None:
    if n % 2 == 0 and isinstance(case.body, dict):
        case.body = dict(LOGIN)


def _real_records(case: Any, n: int) -> None:
    if n % 4 == 0 and isinstance(case.body, list):
        case.body = [{"id": f"st-{n:08x}-{i}", "line": LINES["bundle"], "service": "sms",
                      "quantity": 1, "at": SEED["now"]} for i in range(1 + n % 3)]


LINE_PATHS = ("", "/alerts", "/barring", "/barring/audit")
HISTORY_PATHS = ("/usage", "/messages", "/records", "/cycles")
STEER: dict[tuple[str, str], Callable[[Any, int], None]] = {
    ("PUT", f"{API}/accounts/{{account_id}}/users/{{login}}"): _put_user,
    ("PUT", f"{API}/lines/{{line_id}}"): _put_line,
    ("PUT", f"{API}/lines/{{line_id}}/alerts"): _put_alerts,
    **{("GET", f"{API}/lines/{{line_id}}{tail}"): _line_in_half(*sorted(LINES))
       for tail in LINE_PATHS},
    **{("GET", f"{API}/lines/{{line_id}}{tail}"): _history_in_half(*sorted(LINES))
       for tail in HISTORY_PATHS},
    ("PUT", f"{API}/accounts/{{account_id}}/users/{{login}}/password"): _reset_in_half,
    ("PUT", f"{API}/lines/{{line_id}}/barring"): _line_in_half("bundle", "payg"),
    **{(method, f"{API}/lines/{{line_id}}/spending-limit"): _line_in_half("payg")
       for method in ("GET", "PUT", "DELETE")},
    ("GET", f"{API}/accounts/{{account_id}}/lines"): _account_in_half,
    ("POST", f"{API}/sessions/{{session_id}}/update"): _session_in_half(UPDATE_SESSIONS),
    ("POST", f"{API}/sessions/{{session_id}}/terminate"): _session_in_half(END_SESSIONS),
    ("POST", f"{API}/sessions"): _body_line_in_half,
    ("POST", f"{API}/authorize"): _body_line_in_half,
    ("POST", f"{API}/auth/login"): _login_in_half,
    ("POST", f"{API}/usage"): _real_records,
}


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    operation = context.operation
    if operation is None or not SEED or not _positive(case):
        return case
    steer = STEER.get((operation.method.upper(), operation.path))
    if steer is not None:
        steer(case, _draw(case))
    return case
