"""The portal's fleet pages: the dashboard ("choose the user") with the account's totals
this cycle and their filters, bulk changes to selected lines, and the audit trail.

Thin like routes.py: a bulk change is the single change of a line page made line by
line, through the same service methods (`ChargingSettings.set_barring`,
`set_spending_limit`, `remove_spending_limit`, `Engine.put_alerts`), so each line is
checked, committed and audited on its own exactly as if changed from its page. This
module must not change a line any other way, nor hold a rule of its own about what a
line may be set to: it only says which lines a change is for and reports what each did.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from conso.access import Role, require_admin_of
from conso.api.deps import ServicesDep
from conso.domain.alerts import (
    EXTRA_EUR_CHOICES,
    INCLUDED_PCT_CHOICES,
    MAX_RULES,
    AlertError,
    AlertsChoice,
    ChannelChoice,
    RuleChoice,
    parse_settings,
)
from conso.domain.catalog import PlanKind
from conso.domain.control import BARRING_FUNCTIONS
from conso.domain.line import Line
from conso.errors import Conflict, Forbidden, InvalidInput, NotFound
from conso.web import views
from conso.web.routes import (
    _not_text,
    _not_text_page,
    _Page,
    _request_not_text,
    _to_login,
    _whole,
)

router = APIRouter(include_in_schema=False)
SORT_KEYS = ("line", "user", "voice", "sms", "data", "extra")
AUDIT_PAGE = 50                  # audit entries a page
CHANGES = ("rules", "barring", "limit")


# -- the dashboard -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _View:
    """What the table shows: the search, the filter and the order (kept by every link,
    form and live fragment of the dashboard)."""

    q: str = ""
    shown: str = ""              # one of views.FLEET_FILTERS, or "" for every line
    sort: str = "line"
    order: str = "asc"

    @classmethod
    def of(cls, q: str, shown: str, sort: str, order: str) -> _View:
        return cls(q, shown if shown in views.FLEET_FILTERS else "",
                   sort if sort in SORT_KEYS else "line", "desc" if order == "desc" else "asc")

    def query(self, **changes: str) -> str:
        """The dashboard's query string for this view with `changes` (empty values left
        out, except the sort and order the search form always sends)."""
        values = {"q": self.q, "sort": self.sort, "order": self.order, "filter": self.shown,
                  **changes}
        return urlencode({k: v for k, v in values.items() if v or k in ("sort", "order")})


def _is_admin(page: _Page) -> bool:
    return page.who is not None and page.who.role is Role.ADMIN and bool(page.who.account_id)


def _all_rows(page: _Page) -> list[views.FleetRow]:
    """Every line the caller may see (an admin: the account's), this cycle."""
    who = page.who
    assert who is not None
    svc = page.svc
    if who.role is Role.ADMIN and who.account_id:
        ids = svc.store.lines.of_account(who.account_id)
    else:
        ids = svc.store.lines.of_user(who.login or "")
    rows = []
    for line_id in ids:
        line = svc.engine.line(line_id)
        if line is None:
            continue
        summary = svc.engine.usage_summary(line)
        rows.append(views.fleet_row(line, line.user_login or "", summary, page.lang))
    return rows


def _shown(rows: list[views.FleetRow], view: _View) -> list[views.FleetRow]:
    """The rows the table shows: the search ("choose the user"), the filter, the order."""
    needle = view.q.strip().casefold()
    found = [r for r in rows
             if (not needle or needle in r.line.casefold() or needle in r.user.casefold())
             and r.matches(view.shown)]
    return views.sort_rows(found, view.sort, view.order == "desc")


def _dashboard(page: _Page, view: _View, status: int = 200,
               bulk_error: str | None = None) -> Response:
    rows = _all_rows(page)
    admin = _is_admin(page)
    return page.render(
        "dashboard.html", status=status, rows=_shown(rows, view), view=view,
        q=view.q, sort=view.sort, order=view.order, is_admin=admin,
        totals=views.fleet_totals(rows, page.lang) if admin else None,
        bulk_error=bulk_error, barring_functions=BARRING_FUNCTIONS,
        pct_choices=INCLUDED_PCT_CHOICES, eur_choices=EXTRA_EUR_CHOICES,
        limit_choices=_limit_choices(page))


def _view(q: str = "", sort: str = "line", order: str = "asc",
          shown: Annotated[str, Query(alias="filter")] = "") -> _View:
    return _View.of(q, shown, sort, order)


ViewDep = Annotated[_View, Depends(_view)]


@router.get("/portal")
def dashboard(request: Request, svc: ServicesDep, view: ViewDep) -> Response:
    page = _Page(request, svc)
    if page.who is None:
        return _to_login()
    if (not_text := _request_not_text(page)) is not None:
        return _not_text_page(page, not_text)
    if page.who.role is Role.USER and not view.q and not view.shown:
        own = svc.store.lines.of_user(page.who.login or "")
        if len(own) == 1:
            return RedirectResponse(f"/portal/lines/{quote(own[0])}", status_code=303)
    return _dashboard(page, view)


@router.get("/portal/fleet/live")
def fleet_live(request: Request, svc: ServicesDep, view: ViewDep) -> Response:
    page = _Page(request, svc)
    if page.who is None:
        return Response(status_code=401)
    if _request_not_text(page) is not None:
        return Response(status_code=422)
    return page.render("_fleet_rows.html", rows=_shown(_all_rows(page), view), view=view,
                       is_admin=_is_admin(page))


@router.get("/portal/fleet/totals")
def fleet_totals_live(request: Request, svc: ServicesDep, view: ViewDep) -> Response:
    page = _Page(request, svc)
    if page.who is None:
        return Response(status_code=401)
    if _request_not_text(page) is not None:
        return Response(status_code=422)
    if not _is_admin(page):
        return Response(status_code=404)
    return page.render("_fleet_totals.html", view=view,
                       totals=views.fleet_totals(_all_rows(page), page.lang))


# -- bulk changes ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one change did to one line: "changed", "unchanged" or "skipped" (and why)."""

    line: str
    result: str
    reason: str = ""


def _limit_choices(page: _Page) -> list[int]:
    """The limits (whole euros) that some pay-per-use plan of the catalogue offers."""
    found: set[int] = set()
    for plan in page.svc.engine.catalog.plans.values():
        if plan.kind is PlanKind.PAYG:
            found.update(m // 1_000_000 for m in plan.spending_limits_micros)
    return sorted(found)


def _selected(page: _Page, form: FormData, view: _View) -> list[str]:
    """The lines ticked, and every line shown when "select every line shown" came (the
    box is sent only without JavaScript: with it, the box ticks the rows instead)."""
    ids = list(dict.fromkeys(str(v) for v in form.getlist("line")))
    if form.get("select_all") == "shown":
        ids += [r.line for r in _shown(_all_rows(page), view) if r.line not in ids]
    return ids


@router.post("/portal/fleet/bulk")
async def bulk_change(request: Request, svc: ServicesDep) -> Response:
    page = _Page(request, svc)
    if page.who is None:
        return _to_login()
    if (not_text := _request_not_text(page)) is not None:
        return _not_text_page(page, not_text)
    form = await request.form()
    page.check_csrf(str(form.get("csrf", "")))
    if not _is_admin(page):
        return page.render("error.html", status=403, message=page.t["forbidden"])
    if (not_text := _not_text(page, form.multi_items())) is not None:
        return _not_text_page(page, not_text)
    view = _View.of(str(form.get("q", "")), str(form.get("filter", "")),
                    str(form.get("sort", "line")), str(form.get("order", "asc")))
    change = str(form.get("change", ""))
    ids = _selected(page, form, view)
    if not ids:
        return _dashboard(page, view, 422, page.t["fl_none_selected"])
    prepared = _prepare(page, change, form)
    if isinstance(prepared, str):
        return _dashboard(page, view, 422, prepared)
    outcomes = [_apply_to(page, line_id, prepared) for line_id in ids]
    counts = {k: sum(o.result == k for o in outcomes)
              for k in ("changed", "unchanged", "skipped")}
    return page.render("bulk_result.html", outcomes=outcomes, counts=counts, view=view,
                       change=change)


@dataclass(frozen=True, slots=True)
class _Change:
    """One change, checked once for every line: which, and its values."""

    kind: str
    rules: tuple[RuleChoice, ...] = ()
    barring: tuple[tuple[str, bool], ...] = ()
    amount_eur: int | None = None        # the limit; None: no limit


def _prepare(page: _Page, change: str, form: FormData) -> _Change | str:
    """The change the form asks for, or what to say when no line could take it."""
    t = page.t
    if change == "rules":
        pcts = [_whole(raw) for raw in form.getlist("pct")]
        eurs = [_whole(raw) for raw in form.getlist("eur")]
        if None in pcts or None in eurs:
            return t["err_rule"]
        rules = tuple([RuleChoice("included_pct", v) for v in pcts if v is not None]
                      + [RuleChoice("extra_eur", v) for v in eurs if v is not None])
        if len(rules) > MAX_RULES:
            return t["err_too_many_rules"]
        return _Change("rules", rules=rules)
    if change == "barring":
        functions = [str(f) for f in form.getlist("function")]
        if not functions:
            return t["fl_no_function"]
        bar = form.get("bar") != "unbar"
        # An unknown function is refused by the barring's own check, line by line.
        return _Change("barring", barring=tuple((f, bar) for f in dict.fromkeys(functions)))
    if change == "limit":
        choice = str(form.get("amount_eur", "none"))
        if choice == "none":
            return _Change("limit")
        amount = _whole(choice)
        # Not a number: an amount no catalogue offers, for the limit's own checks to
        # refuse in their words (amounts are never negative).
        return _Change("limit", amount_eur=-1 if amount is None else amount)
    return t["fl_no_change"]


def _apply_to(page: _Page, line_id: str, change: _Change) -> Outcome:
    """Make the change to one line through the single change's service method."""
    svc, who, t = page.svc, page.who, page.t
    assert who is not None
    line = svc.engine.line(line_id)
    if line is None or line.account_id != who.account_id:
        return Outcome(line_id, "skipped", t["fl_r_no_line"])
    actor = who.login or "admin"
    kind = svc.engine.catalog.plans[line.plan_id].kind
    try:
        require_admin_of(who, line)
        if change.kind == "rules":
            return _apply_rules(page, line, change.rules)
        if change.kind == "barring":
            before = line.barred
            updated = svc.control.set_barring(line, dict(change.barring), actor)
            return Outcome(line.id, "unchanged" if updated.barred == before else "changed")
        before_limit = line.spending_limit_micros
        if change.amount_eur is None:
            updated = svc.control.remove_spending_limit(line, actor)
        else:
            updated = svc.control.set_spending_limit(line, change.amount_eur, actor)
        return Outcome(line.id, "unchanged" if updated.spending_limit_micros == before_limit
                       else "changed")
    except Conflict as exc:
        if change.kind == "barring" and kind is PlanKind.INTERNET:
            return Outcome(line.id, "skipped", t["fl_r_not_mobile"])
        if change.kind == "limit" and kind is not PlanKind.PAYG:
            return Outcome(line.id, "skipped", t["fl_r_not_payg"])
        return Outcome(line.id, "skipped", str(exc))
    except InvalidInput as exc:
        return Outcome(line.id, "skipped", getattr(exc, "msg", str(exc)))
    except Forbidden:
        return Outcome(line.id, "skipped", t["forbidden"])
    except NotFound:
        return Outcome(line.id, "skipped", t["fl_r_no_line"])


def _apply_rules(page: _Page, line: Line, rules: tuple[RuleChoice, ...]) -> Outcome:
    """The line page's alerts path with these rules and the line's own channels (where
    its notifications go is each line's, not the fleet's)."""
    svc, who, t = page.svc, page.who, page.t
    assert who is not None
    now = svc.engine.alert_settings(line)
    channels = now.channels
    choice = AlertsChoice(list(rules), ChannelChoice(channels.sms, channels.second_number,
                                                     channels.email))
    try:
        wanted = parse_settings(choice, svc.engine.catalog.plans[line.plan_id])
    except AlertError as exc:
        reason = t["err_too_many_rules"] if exc.loc == ("rules",) else (
            t["err_rule"] if exc.loc[:1] == ("rules",) else exc.msg)
        return Outcome(line.id, "skipped", reason)
    if wanted.rules == now.rules and wanted.channels == now.channels:
        return Outcome(line.id, "unchanged")      # nothing to write, nothing to audit
    svc.engine.put_alerts(line, choice, who.login)
    return Outcome(line.id, "changed")


# -- the audit trail ---------------------------------------------------------------------


def _page_number(raw: str) -> int:
    number = _whole(raw)
    return number if number is not None and 1 <= number <= 100_000 else 1


def _audit_page(page: _Page, account_id: str, number: int, line: Line | None) -> Response:
    found = page.svc.store.lines.account_audit(
        account_id, AUDIT_PAGE + 1, (number - 1) * AUDIT_PAGE,
        line_id=None if line is None else line.id)
    base = "/portal/audit" if line is None else f"/portal/lines/{quote(line.id)}/audit"
    return page.render(
        "audit.html", line=line, number=number, base=base,
        entries=views.audit_rows(found[:AUDIT_PAGE], page.t, page.lang),
        newer=number - 1 if number > 1 else None,
        older=number + 1 if len(found) > AUDIT_PAGE else None)


@router.get("/portal/audit")
def account_audit(request: Request, svc: ServicesDep, page_no: Annotated[
        str, Query(alias="page")] = "1") -> Response:
    page = _Page(request, svc)
    if page.who is None:
        return _to_login()
    if (not_text := _request_not_text(page)) is not None:
        return _not_text_page(page, not_text)
    if not _is_admin(page) or page.who.account_id is None:
        return page.render("error.html", status=404, message=page.t["forbidden"])
    return _audit_page(page, page.who.account_id, _page_number(page_no), None)


@router.get("/portal/lines/{line_id}/audit")
def line_audit(request: Request, line_id: str, svc: ServicesDep, page_no: Annotated[
        str, Query(alias="page")] = "1") -> Response:
    page = _Page(request, svc)
    if page.who is None:
        return _to_login()
    if (not_text := _request_not_text(page)) is not None:
        return _not_text_page(page, not_text)
    line = svc.engine.line(line_id)
    who = page.who
    if line is None or not _is_admin(page) or line.account_id != who.account_id:
        return page.render("error.html", status=404, message=f"{page.t['line']} {line_id}?")
    return _audit_page(page, line.account_id, _page_number(page_no), line)
