"""How domain objects look on the wire (api.md): cents, RFC 3339, null for unlimited."""

from __future__ import annotations

from typing import Any

from conso.charging.views import limit_view, roaming_cap_view
from conso.domain.alerts import AlertSettings
from conso.domain.catalog import Catalog, Plan
from conso.domain.consult import UsageSummary
from conso.domain.line import Line
from conso.domain.outbox import OutboxMessage, StatusChange, shown_status
from conso.domain.units import Service, micros_to_cents
from conso.store.base import Account, User


def _cents(micros: int | None) -> int | None:
    return None if micros is None else micros_to_cents(micros)


def plan_view(plan: Plan) -> dict[str, Any]:
    included: dict[str, int | None] = {s.value: n for s, n in plan.included.items()}
    for service in plan.unlimited:
        included[service.value] = None
    rates = plan.rates
    return {
        "id": plan.id,
        "name": plan.name,
        "kind": plan.kind.value,
        "business": plan.business,
        "monthly_fee_cents": micros_to_cents(plan.monthly_fee_micros),
        "included": included,
        "rates": {
            "voice_per_minute_cents": _cents(rates.voice_per_minute),
            "sms_per_sms_cents": _cents(rates.sms_per_sms),
            "data_per_mb_cents": _cents(rates.data_per_mb),
            "voice_per_minute_micros": rates.voice_per_minute,
            "sms_per_sms_micros": rates.sms_per_sms,
            "data_per_mb_micros": rates.data_per_mb,
        } if plan.kind.value != "internet" else {},
        "spending_limits": [micros_to_cents(m) // 100 for m in plan.spending_limits_micros],
        "heavy_user_bytes": plan.heavy_user_bytes,
    }


def account_view(account: Account) -> dict[str, Any]:
    return {"id": account.id, "name": account.name, "kind": account.kind}


def user_view(user: User) -> dict[str, Any]:
    return {"login": user.login, "account_id": user.account_id, "role": user.role,
            "email": user.email, "language": user.language}


def line_view(line: Line) -> dict[str, Any]:
    return {
        "id": line.id,
        "account_id": line.account_id,
        "plan": line.plan_id,
        "user": line.user_login,
        "cycle_day": line.cycle_day,
        "imsi": line.imsi,
        "plan_since": line.plans[-1].effective_from.isoformat(),
        "plan_history": [{"plan": p.plan_id, "from": p.effective_from.isoformat()}
                         for p in line.plans],
    }


def line_usage_view(line: Line, summary: UsageSummary, catalog: Catalog) -> dict[str, Any]:
    """The usage answer of a line: its cycle's figures, its spending limit and its
    roaming data cap."""
    view = usage_view(summary, limit_view(line, summary.extra_micros))
    view["roaming_cap"] = roaming_cap_view(
        line, catalog, summary.cycle_start.date(),
        summary.services[Service.DATA].roaming_used if Service.DATA in summary.services else 0)
    return view


def usage_view(summary: UsageSummary, spending_limit: dict[str, Any] | None = None
               ) -> dict[str, Any]:
    return {
        "line": summary.line,
        "plan": summary.plan.id,
        "cycle": {"start": summary.cycle_start.isoformat(), "end": summary.cycle_end.isoformat()},
        "services": {
            service.value: {
                "unit": s.unit, "used": s.used, "included": s.included,
                "remaining": s.remaining, "roaming_used": s.roaming_used,
                "network_overshoot": summary.network_overshoot.of(service.value),
            }
            for service, s in summary.services.items()
        },
        "extra_cents": micros_to_cents(summary.extra_micros),
        "extra_micros": summary.extra_micros,
        # Part of the extra: what the network used past its grants (credit-control
        # reports of more than was granted), charged because it happened.
        "network_overshoot_cents": micros_to_cents(summary.network_overshoot.micros),
        "network_overshoot_micros": summary.network_overshoot.micros,
        "spending_limit": spending_limit,
        "forecast": {service.value: day.isoformat() for service, day in summary.forecast.items()},
    }


def alerts_view(settings: AlertSettings) -> dict[str, Any]:
    channels = settings.channels
    return {
        "rules": [{"kind": r.kind.value, "value": r.value} for r in settings.rules],
        "channels": {"sms": channels.sms, "second_number": channels.second_number,
                     "email": channels.email},
        "default": not settings.customised,
    }


def message_view(message: OutboxMessage,
                 history: list[StatusChange] | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": message.id,
        "channel": message.channel,
        "sender": message.sender,
        "to": message.to,
        "subject": message.subject,
        "text": message.text,
        "line": message.line_id,
        "rule": message.rule,
        "created_at": message.created_at.isoformat(),
        # "sending" is an internal step between two commits: still queued for api.md.
        "status": shown_status(message.status),
        "status_changed_at": (message.status_changed_at or message.created_at).isoformat(),
        "attempts": message.attempts,
        "sent_at": None if message.sent_at is None else message.sent_at.isoformat(),
        "last_error": message.last_error,
    }
    if history is not None:
        view["history"] = [{"status": change.status, "at": change.at.isoformat(),
                            "detail": change.detail} for change in history]
    return view
