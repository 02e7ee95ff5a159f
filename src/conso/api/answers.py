"""The answers of the API as the OpenAPI document shows them (api.md), and its errors.

Documentation only: the routes build their answers as plain dicts (views.py) and are
not validated against these models at run time; the schemathesis test
(tests/integration/test_api_openapi.py) checks that what the server answers matches
them. Answers may carry more members than listed (api.md): every object is open.

`problems(...)` declares error answers, all `application/problem+json` (problems.py);
`TRANSPORT` the ones any request may get before or beside its route: a body or head
the listener refuses (api/listener.py, api/limits.py) and a store that is away.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

PROBLEM_JSON = "application/problem+json"
PROBLEM_REF = "#/components/schemas/ProblemDetails"


class _Answer(BaseModel):
    model_config = ConfigDict(extra="allow")


# -- errors ------------------------------------------------------------------------------

class ProblemError(_Answer):
    loc: list[str | int] = Field(description='where: ["body", "rules", 0, "value"], '
                                             '["path", "line_id"], ["query", "since"]')
    msg: str


class ProblemDetails(_Answer):
    """RFC 9457 problem details; `errors` on a 422."""

    type: str
    title: str
    status: int = Field(ge=400, le=599)
    detail: str
    errors: list[ProblemError] = Field(default=[], description="on a 422: each refused value")


_RETRY_AFTER = {"description": "seconds to wait before asking again",
                "schema": {"type": "integer", "minimum": 0}}
_WHY: dict[int, tuple[str, dict[str, Any]]] = {
    400: ("the request could not be read: a body that is not JSON text (UTF-8), "
          "or a request line or header the listener cannot parse", {}),
    401: ("no bearer token, or one that is not valid (expired, revoked, unknown); "
          "a wrong login or password", {}),
    403: ("the caller may not do this: the operator key is needed, or an admin of the "
          "line's account", {}),
    404: ("no such line, account or session, or one the caller may not see", {}),
    408: ("the request's head or body was not sent in time", {}),
    409: ("the request conflicts with the resource's state (a plan of another kind, a "
          "taken login or IMSI, a session that exists or is closed, a setting the "
          "line's plan does not have)", {}),
    413: ("the body is over the limit: 1 MiB, 32 MiB for POST /api/v1/usage", {}),
    414: ("the request line is over the header budget", {}),
    422: ("a value of the path, the query or the body is refused; `errors` says which "
          "and why", {}),
    429: ("too many failed logins for this login name or client address",
          {"Retry-After": _RETRY_AFTER}),
    431: ("the header fields are too large or too many", {}),
    503: ("the store or the usage stream is unavailable (retry), or the server is at "
          "its connection limit", {"Retry-After": _RETRY_AFTER}),
}


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries: these error statuses, each a problem+json answer."""
    answers: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        why, headers = _WHY[code]
        answer: dict[str, Any] = {"description": why,
                                  "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}}}
        if headers:
            answer["headers"] = headers
        answers[code] = answer
    return answers


# Any request may get these, whatever its route (the listener, the body limit, the store).
TRANSPORT = problems(400, 408, 413, 414, 431, 503)
# The routes under /api/v1 also refuse a path segment or query parameter that is not text.
API = {**TRANSPORT, **problems(422)}


def ok(model: Any = None, *, created: bool = False,
       description: str = "done") -> dict[int | str, dict[str, Any]]:
    """`responses=` entries for success: 200 with `model`, a model or `list[Model]` (201
    too when a PUT creates)."""
    answers: dict[int | str, dict[str, Any]] = {200: {"model": model, "description": description}}
    if created:
        answers[201] = {"model": model, "description": "created"}
    return answers


# -- provisioning ------------------------------------------------------------------------

class PlanAnswer(_Answer):
    id: str
    name: str
    kind: Literal["bundle", "payg", "internet"]
    business: bool
    monthly_fee_cents: int
    included: dict[str, int | None] = Field(
        description="by service: the units included a cycle, null when unlimited")
    rates: dict[str, int | None] = Field(description="out-of-bundle prices (none for internet)")
    spending_limits: list[int] = Field(description="the limits a line may choose, in EUR")
    heavy_user_bytes: int | None


class AccountAnswer(_Answer):
    id: str
    name: str
    kind: Literal["business", "residential"]


class UserAnswer(_Answer):
    login: str
    account_id: str
    role: Literal["admin", "user"]
    email: str | None
    language: Literal["en", "fr", "nl"]


class PlanPeriodAnswer(_Answer):
    plan: str
    from_: str = Field(alias="from", json_schema_extra={"format": "date-time"})


class LineAnswer(_Answer):
    id: str
    account_id: str
    plan: str
    user: str | None
    cycle_day: int = Field(ge=1, le=28)
    imsi: str | None
    plan_since: str = Field(json_schema_extra={"format": "date-time"})
    plan_history: list[PlanPeriodAnswer]


# -- usage -------------------------------------------------------------------------------

class RejectedRecord(_Answer):
    index: int = Field(ge=0)
    id: str | None
    error: str


class BatchAnswer(_Answer):
    accepted: int = Field(ge=0)
    duplicates: int = Field(ge=0)
    rejected: list[RejectedRecord]


class RejectedItem(_Answer):
    index: int = Field(ge=0)
    error: str


class ProvisionAnswer(_Answer):
    """What a provisioning batch did, item by item: created, updated, unchanged (the
    same as stored), or rejected by its index with why."""

    created: int = Field(ge=0)
    updated: int = Field(ge=0)
    unchanged: int = Field(ge=0)
    rejected: list[RejectedItem]


class CycleAnswer(_Answer):
    start: str = Field(json_schema_extra={"format": "date-time"})
    end: str = Field(json_schema_extra={"format": "date-time"})


class ServiceUsage(_Answer):
    unit: str
    used: int
    included: int | None = Field(description="null when unlimited or pay-per-use")
    remaining: int | None = Field(description="null when unlimited or pay-per-use")


class LimitAnswer(_Answer):
    """A spending limit and the spend against it (amounts null when none is set)."""

    amount_eur: int | None
    amount_cents: int | None
    spent_cents: int
    reached: bool


class RoamingCapAnswer(_Answer):
    """The roaming data cap of the EU bill-shock rule: the cost of data outside the
    EU/EEA this cycle against the cap; `reached`: data roaming is stopped now;
    `continued`: the user chose to go on past it for this cycle."""

    enabled: bool
    amount_cents: int
    spent_cents: int
    reached: bool
    continued: bool


class UsageAnswer(_Answer):
    line: str
    plan: str
    cycle: CycleAnswer
    services: dict[str, ServiceUsage]
    extra_cents: int
    spending_limit: LimitAnswer | None
    roaming_cap: RoamingCapAnswer | None = Field(
        description="null for internet lines (they never roam)")
    forecast: dict[str, str] = Field(description="by service: the day the allowance runs out")


class RejectedAnswer(_Answer):
    id: str | None
    error: str
    record: Any = Field(description="the record as received")


# -- self-care ---------------------------------------------------------------------------

class TokenAnswer(_Answer):
    token: str
    token_type: Literal["bearer"]
    expires_at: str = Field(json_schema_extra={"format": "date-time"})


class MeAnswer(_Answer):
    login: str | None
    role: Literal["operator", "admin", "user"]
    account_id: str | None
    lines: list[str]


# -- history: a line's cycles and itemised records ----------------------------------------

class RecordItemAnswer(_Answer):
    id: str
    service: Literal["voice", "sms", "data", "premium", "callme"]
    direction: Literal["out", "in"]
    quantity: int = Field(ge=0, description="seconds, messages, bytes, or 1 (premium)")
    at: str = Field(json_schema_extra={"format": "date-time"})
    country: str
    charge_cents: int = Field(description="what the record cost beyond the bundle")
    charge_micros: int
    amount_cents: int | None = Field(description="premium: the provider's price; else null")


class RecordsAnswer(_Answer):
    records: list[RecordItemAnswer] = Field(description="oldest first")
    next_cursor: str | None = Field(description="the cursor of the next page; null on the last")
    pruned: bool = Field(description="the cycle's itemised records were pruned (`conso "
                                     "prune`): its totals are kept, the list is gone")


class CycleTotalAnswer(_Answer):
    cycle: str = Field(json_schema_extra={"format": "date"},
                       description="its first day: the value of ?cycle=")
    start: str = Field(json_schema_extra={"format": "date-time"})
    end: str = Field(json_schema_extra={"format": "date-time"})
    records: int = Field(ge=0)
    extra_cents: int
    extra_micros: int
    current: bool


# -- notifications -----------------------------------------------------------------------

class RuleAnswer(_Answer):
    kind: str
    value: int


class ChannelsAnswer(_Answer):
    sms: bool
    second_number: str | None
    email: str | None


class AlertsAnswer(_Answer):
    rules: list[RuleAnswer]
    channels: ChannelsAnswer
    default: bool = Field(description="true while the line has the plan's default rules")


class StatusChangeAnswer(_Answer):
    status: str
    at: str = Field(json_schema_extra={"format": "date-time"})
    detail: str | None


class MessageAnswer(_Answer):
    id: str
    channel: Literal["sms", "email"]
    sender: str | None
    to: str
    text: str
    line: str | None
    rule: dict[str, Any] | None = Field(description="{kind, value, service?}: the rule that "
                                                    "fired; null for a reply")
    created_at: str = Field(json_schema_extra={"format": "date-time"})
    status: Literal["queued", "sent", "delivered", "undeliverable", "expired", "deleted",
                    "failed"]
    status_changed_at: str = Field(json_schema_extra={"format": "date-time"})
    attempts: int = Field(ge=0)


# -- network control ---------------------------------------------------------------------

class BarringAnswer(_Answer):
    data: bool
    voice_out: bool
    voice_in: bool
    voice_out_roaming: bool
    voice_in_roaming: bool
    sms_out: bool
    premium: bool
    changed_by: str | None
    changed_at: str | None = Field(json_schema_extra={"format": "date-time"})


class AuditAnswer(_Answer):
    at: str = Field(json_schema_extra={"format": "date-time"})
    by: str
    action: str
    before: Any
    after: Any


class DecisionAnswer(_Answer):
    allowed: bool
    reason: str | None = Field(description='null, "barred:<function>", "spending_limit", '
                                           '"roaming_blocked_with_limit", "roaming_cap", '
                                           '"service_not_in_plan" or "unknown_line"')


class GrantAnswer(_Answer):
    granted: int = Field(ge=0)
    final: bool
    reason: str | None


class CostAnswer(_Answer):
    charged_cents: int
    charged_micros: int


class InboundAnswer(_Answer):
    outcome: Literal["consult", "continue", "help", "ignored", "rate_limited"]
