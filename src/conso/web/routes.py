"""Portal pages: login, dashboard ("choose the user"), line page, and live fragments.

Thin like the API: parse the form, authorize, call the engine, render. Every
change goes through the same engine commands as the API.

Every path segment, query parameter and form field is text (domain/text.py) before
anything looks it up or keeps it, on SQLite as on PostgreSQL: a page answers 422 with
the error page naming it, a fragment a bare 422, a form is shown again with the error
in its section, and the login form says the usual "wrong login or password".
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from conso.access import Principal, Role, can_see_line, require_admin_of
from conso.api.deps import ServicesDep
from conso.auth import TooManyAttempts
from conso.bootstrap import Services
from conso.charging.roaming_cap import continue_roaming, set_roaming_cap
from conso.charging.views import limit_view, roaming_cap_view
from conso.domain.alerts import (
    EXTRA_EUR_CHOICES,
    INCLUDED_PCT_CHOICES,
    AlertsChoice,
    ChannelChoice,
    RuleChoice,
    RuleKind,
)
from conso.domain.catalog import Plan, PlanKind
from conso.domain.consult import UsageSummary
from conso.domain.control import BARRING_FUNCTIONS
from conso.domain.cycle import CYCLE_TZ, Cycle, cycle_of
from conso.domain.line import Line
from conso.domain.text import is_clean_text
from conso.domain.units import MICROS_PER_CENT, Service
from conso.engine import history
from conso.engine.provisioning import check_password
from conso.errors import Conflict, Forbidden, InvalidInput, Unauthorized
from conso.notify.templates import money, quantity
from conso.web import i18n, pwa, views
from conso.web.i18n import LANGUAGES, accepted_language, translator
from conso.web.session import (
    LANGUAGE_COOKIE,
    PRE_SESSION_COOKIE,
    SESSION_COOKIE,
    csrf_for,
    csrf_ok,
    pre_session,
    set_cookie,
)

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
router.include_router(pwa.router)  # the app's service worker (web/pwa.py)
templates.env.globals["offline_note"] = pwa.OFFLINE_NOTE


def pct_class(percent: int) -> str:
    """The class giving a bar its length (app.css has one per whole percent, 0 to 100):
    the pages' Content-Security-Policy allows no style attribute."""
    return f"pct-{max(0, min(100, int(percent)))}"


templates.env.filters["pct"] = pct_class
# Dates, moments and whole euros in the page's language (web/i18n.py): `{{ d|day(lang) }}`,
# `{{ at|when(lang) }}`, `{{ 5|euros(lang) }}`; no page formats a time any other way.
templates.env.filters["day"] = i18n.day
templates.env.filters["when"] = i18n.when
templates.env.filters["euros"] = i18n.euros
templates.env.filters["country"] = i18n.country


class _Page:
    """Who is looking, in which language, and the CSRF token of their forms."""

    def __init__(self, request: Request, svc: Services) -> None:
        self.request = request
        self.svc = svc
        self.token = request.cookies.get(SESSION_COOKIE)
        self.who: Principal | None = None
        if self.token:
            try:
                self.who = svc.auth.principal(self.token)
            except Unauthorized:
                self.who = None
        if self.who is not None and self.who.is_operator:
            self.who = None  # the operator key is for machines, not for the portal
        chosen = request.cookies.get(LANGUAGE_COOKIE)
        if chosen not in LANGUAGES and self.who is not None and self.who.login:
            user = svc.store.users.get(self.who.login)
            chosen = user.language if user else "en"
        if chosen not in LANGUAGES:
            # No choice yet (the login page): the browser's languages say which.
            chosen = accepted_language(request.headers.get("accept-language"))
        self.lang = chosen if chosen in LANGUAGES else "en"
        self.t = translator(self.lang)

    def render(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        path = self.request.url.path
        if self.request.method != "GET":
            # A form answered with its errors: come back to the page, not the form's URL.
            path = path.rsplit("/", 1)[0] if path.startswith("/portal/lines/") else "/portal"
        base = {"t": self.t, "lang": self.lang, "languages": LANGUAGES, "who": self.who,
                "csrf": csrf_for(self.token) if self.token and self.who else "",
                "demo": bool(self.svc.demo_users), "path": path}
        return templates.TemplateResponse(self.request, name, {**base, **context},
                                          status_code=status)

    def check_csrf(self, given: str) -> None:
        if not csrf_ok(self.token, given):
            raise Forbidden("the form expired; reload the page and try again")


def _to_login() -> RedirectResponse:
    return RedirectResponse("/portal/login", status_code=303)


# The page's word for a value, when it has one (else the parameter's own name).
_LABELS = {"line_id": "line", "q": "search", "login": "username", "email": "email",
           "second_number": "second_number", "amount_eur": "limit"}


def _not_text(page: _Page, values: Iterable[tuple[str, Any]]) -> str | None:
    """What to say about the first of `values` that is not text (domain/text.py), in
    the page's language; None when every one is."""
    for name, value in values:
        if isinstance(value, str) and not is_clean_text(value):
            label = page.t.get(_LABELS.get(name, ""), name)
            return f"{label}: {page.t['err_text']}"
    return None


def _request_not_text(page: _Page) -> str | None:
    """`_not_text` of the request's path segments and query parameters."""
    request = page.request
    return _not_text(page, [*request.path_params.items(),
                            *request.query_params.multi_items()])


def _not_text_page(page: _Page, message: str) -> Response:
    return page.render("error.html", status=422, message=message)


def _line_for(page: _Page, line_id: str) -> Line | None:
    line = page.svc.engine.line(line_id)
    if line is None or page.who is None or not can_see_line(page.who, line):
        return None
    return line


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse("/portal", status_code=307)


@router.get("/portal/login")
def login_page(request: Request, svc: ServicesDep) -> Response:
    page = _Page(request, svc)
    pre = pre_session(request)
    response = page.render("login.html", csrf=csrf_for(pre), error=None,
                           demo_users=svc.demo_users)
    set_cookie(request, response, PRE_SESSION_COOKIE, pre, 3600)
    return response


@router.post("/portal/login")
def login(request: Request, svc: ServicesDep, login: Annotated[str, Form()] = "",
          password: Annotated[str, Form()] = "", csrf: Annotated[str, Form()] = "") -> Response:
    page = _Page(request, svc)
    if not csrf_ok(request.cookies.get(PRE_SESSION_COOKIE), csrf):
        return RedirectResponse("/portal/login", status_code=303)
    text = is_clean_text(login)
    try:
        if not text:
            # No login holds a control character, and none is looked up or counted (a
            # store may not keep it): refused as a wrong password. The password is a
            # secret, never stored nor shown: anything is checked.
            raise Unauthorized("wrong login or password")
        issued = svc.auth.login(login.strip(), password,
                                client=request.client.host if request.client else None)
    except Unauthorized as exc:
        svc.metrics.logins.labels("refused").inc()
        pre = pre_session(request)
        blocked = isinstance(exc, TooManyAttempts)
        return page.render("login.html", status=429 if blocked else 401, csrf=csrf_for(pre),
                           error=page.t["too_many" if blocked else "bad_login"],
                           login=login if text else "", demo_users=svc.demo_users)
    svc.metrics.logins.labels("ok").inc()
    response = RedirectResponse("/portal", status_code=303)
    set_cookie(request, response, SESSION_COOKIE, issued.token, 12 * 3600)
    response.delete_cookie(PRE_SESSION_COOKIE, path="/")
    return response


@router.post("/portal/logout")
def logout(request: Request, svc: ServicesDep, csrf: Annotated[str, Form()] = "") -> Response:
    page = _Page(request, svc)
    if page.who is not None and page.token and csrf_ok(page.token, csrf):
        svc.auth.logout(page.token)
    response = _to_login()
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/portal/language")
def set_language(request: Request, language: Annotated[str, Form()] = "en",
                 back: Annotated[str, Form()] = "/portal") -> Response:
    target = back if back.startswith("/portal") and is_clean_text(back) else "/portal"
    response = RedirectResponse(target, status_code=303)
    if language in LANGUAGES:
        set_cookie(request, response, LANGUAGE_COOKIE, language, 365 * 24 * 3600)
    return response


# The dashboard and the fleet's pages are in fleet.py.


def _pct_kind(plan: Plan) -> RuleKind | None:
    """What the line page's percentage boxes choose on this plan (api.md's rule kinds):
    the bundle's allowances, an internet line's volume, or on unlimited internet the
    heavy-user reminder; None on pay-per-use (no allowance to count)."""
    if plan.kind is PlanKind.PAYG:
        return None
    if plan.kind is PlanKind.INTERNET:
        return RuleKind.HEAVY_USER if Service.DATA in plan.unlimited else RuleKind.VOLUME_PCT
    return RuleKind.INCLUDED_PCT


def _line_context(page: _Page, line: Line, cycle: Cycle | None = None) -> dict[str, Any]:
    """What the line page shows, of the current cycle or of a past `cycle` (its usage as
    its usage answer says it, and the messages created in it)."""
    svc = page.svc
    now = svc.engine.clock()
    period = cycle or cycle_of(now, line.cycle_day)
    past = period.start_date < cycle_of(now, line.cycle_day).start_date
    summary = svc.engine.usage_summary(line, history.instant_in(period, now))
    plan = summary.plan
    settings = svc.engine.alert_settings(line)
    hourly = svc.store.usage.hourly(line.id, summary.cycle_start.date(), "data")
    barring_changes = [e for e in svc.store.lines.audit_log(line.id, 20) if e.action == "barring"]
    limit = limit_view(line, summary.extra_micros)
    pct_kind = _pct_kind(plan)
    return {
        "line": line, "summary": summary, "plan": plan,
        "gauges": views.gauges(summary, page.lang),
        "extra": money(summary.extra_micros, page.lang),
        "limit": limit,
        "overshoot": money(limit["overshoot_cents"] * MICROS_PER_CENT, page.lang)
        if limit and limit["overshoot_cents"] else None,
        "network_overshoot": money(summary.network_overshoot.micros, page.lang)
        if summary.network_overshoot.micros else None,
        "refused_countries": sorted(svc.engine.catalog.limit_roaming_blocked),
        "next_cycle": summary.cycle_end,
        "days": views.daily_data(hourly, summary.cycle_start.date(),
                                 summary.cycle_end.date(), page.lang),
        "settings": settings,
        "pct_kind": pct_kind,
        "pct_checked": {r.value for r in settings.rules if r.kind is pct_kind},
        "heavy": quantity(Service.DATA, plan.heavy_user_bytes, page.lang)
        if pct_kind is RuleKind.HEAVY_USER and plan.heavy_user_bytes else None,
        "rule_values": {(r.kind.value, r.value) for r in settings.rules},
        "pct_choices": INCLUDED_PCT_CHOICES, "eur_choices": EXTRA_EUR_CHOICES,
        "is_payg": plan.kind is PlanKind.PAYG, "is_internet": plan.kind is PlanKind.INTERNET,
        "barring_functions": BARRING_FUNCTIONS, "barred": line.barred,
        "barring_by": barring_changes[0] if barring_changes else None,
        "can_admin": page.who is not None and (
            page.who.is_operator or (page.who.role is Role.ADMIN
                                     and page.who.account_id == line.account_id)),
        "limit_choices": [m // 1_000_000 for m in plan.spending_limits_micros],
        "messages": views.message_rows(svc.store.outbox.messages(
            line_id=line.id, limit=20, newest_first=True, since=period.start,
            until=period.end), page.lang),
        "cycle_start": period.start_date,
        "cycle_end": summary.cycle_end.astimezone(CYCLE_TZ).date() - timedelta(days=1),
        "past": past, "cycle_param": period.start_date.isoformat() if past else "",
        **_roaming_context(page, line, summary),
    }


def _roaming_context(page: _Page, line: Line, summary: UsageSummary) -> dict[str, Any]:
    """The roaming data cap of the cycle shown (none for internet lines)."""
    catalog = page.svc.engine.catalog
    data = summary.services.get(Service.DATA)
    cap = roaming_cap_view(line, catalog, summary.cycle_start.date(),
                           0 if data is None else data.roaming_used)
    if cap is None:
        return {"roaming_cap": None}
    return {"roaming_cap": cap,
            "roaming_cap_amount": money(cap["amount_cents"] * MICROS_PER_CENT, page.lang),
            "roaming_cap_spent": money(cap["spent_cents"] * MICROS_PER_CENT, page.lang)}


def _cycle_asked(page: _Page, line: Line, cycle: str) -> Cycle | Response:
    """The line's cycle that `?cycle=` names (empty: the current one), or the error page."""
    try:
        return history.cycle_named(line, cycle or None, page.svc.engine.clock())
    except InvalidInput:
        return page.render("error.html", status=422, message=page.t["err_cycle"])


@router.get("/portal/lines/{line_id}")
def line_page(request: Request, line_id: str, svc: ServicesDep, saved: str = "",
              cycle: str = "") -> Response:
    opened = _line_opened(request, line_id, svc, cycle)
    if isinstance(opened, Response):
        return opened
    page, line, period = opened
    return page.render("line.html", saved=saved, errors={},
                       cycles=views.cycle_options(history.cycles(svc.engine, line), page.lang),
                       **_line_context(page, line, period))


@router.get("/portal/lines/{line_id}/live")
def line_live(request: Request, line_id: str, svc: ServicesDep) -> Response:
    page = _Page(request, svc)
    if page.who is not None and _request_not_text(page) is not None:
        return Response(status_code=422)
    line = _line_for(page, line_id) if page.who else None
    if line is None:
        return Response(status_code=404)
    return page.render("_line_live.html", **_line_context(page, line))


def _after_post(page: _Page, line: Line, what: str) -> Response:
    return RedirectResponse(f"/portal/lines/{quote(line.id)}?saved={what}#{what}",
                            status_code=303)


def _form_error(page: _Page, line: Line, section: str, message: str,
                status: int = 422) -> Response:
    return page.render("line.html", status=status, saved="", errors={section: message},
                       cycles=views.cycle_options(history.cycles(page.svc.engine, line),
                                                  page.lang),
                       **_line_context(page, line))


async def _open_form(request: Request, line_id: str, svc: Services,
                     section: str) -> tuple[_Page, Line, FormData] | Response:
    """The page, the line and the posted form, once the caller, the CSRF token and the
    text of every field check out (a field that is not text: the form of `section`
    shown again with its error)."""
    page = _Page(request, svc)
    if page.who is not None and (not_text := _request_not_text(page)) is not None:
        return _not_text_page(page, not_text)
    line = _line_for(page, line_id) if page.who else None
    if line is None:
        return _to_login() if page.who is None else Response(status_code=404)
    form = await request.form()
    page.check_csrf(str(form.get("csrf", "")))
    if (not_text := _not_text(page, form.multi_items())) is not None:
        return _form_error(page, line, section, not_text)
    return page, line, form


@router.post("/portal/lines/{line_id}/alerts")
async def save_alerts(request: Request, line_id: str, svc: ServicesDep) -> Response:
    opened = await _open_form(request, line_id, svc, "alerts")
    if isinstance(opened, Response):
        return opened
    page, line, form = opened
    assert page.who is not None
    pcts = [_whole(raw) for raw in form.getlist("pct")]
    eurs = [_whole(raw) for raw in form.getlist("eur")]
    if None in pcts or None in eurs:
        return _form_error(page, line, "alerts", page.t["err_rule"])
    # The boxes' kind is the plan's (an unlimited internet line's are its heavy-user
    # reminder): the rules engine checks the values against it, as for the API.
    pct_kind = _pct_kind(svc.engine.plan_of(line, svc.engine.clock()))
    kind = RuleKind.INCLUDED_PCT if pct_kind is None else pct_kind
    rules = [RuleChoice(kind.value, value) for value in pcts if value is not None] + [
        RuleChoice("extra_eur", value) for value in eurs if value is not None]
    second = str(form.get("second_number", "")).strip() or None
    email = str(form.get("email", "")).strip() or None
    choice = AlertsChoice(rules, ChannelChoice(form.get("sms") == "on", second, email))
    try:
        svc.engine.put_alerts(line, choice, page.who.login)
    except InvalidInput as exc:
        return _form_error(page, line, "alerts", _alerts_error(page, exc))
    return _after_post(page, line, "alerts")


@router.post("/portal/lines/{line_id}/barring")
async def save_barring(request: Request, line_id: str, svc: ServicesDep) -> Response:
    opened = await _open_form(request, line_id, svc, "barring")
    if isinstance(opened, Response):
        return opened
    page, line, form = opened
    assert page.who is not None
    try:
        require_admin_of(page.who, line)
        body = {f: form.get(f) == "on" for f in BARRING_FUNCTIONS}
        svc.control.set_barring(line, body, page.who.login or "admin")
    except Forbidden:
        return _form_error(page, line, "barring", page.t["forbidden"], 403)
    except Conflict as exc:
        return _form_error(page, line, "barring", str(exc), 409)
    return _after_post(page, line, "barring")


@router.post("/portal/lines/{line_id}/spending-limit")
async def save_limit(request: Request, line_id: str, svc: ServicesDep) -> Response:
    opened = await _open_form(request, line_id, svc, "limit")
    if isinstance(opened, Response):
        return opened
    page, line, form = opened
    assert page.who is not None
    choice = str(form.get("amount_eur", "none"))
    try:
        require_admin_of(page.who, line)
        actor = page.who.login or "admin"
        if choice == "none":
            svc.control.remove_spending_limit(line, actor)
        else:
            # Not a number: an amount no catalogue offers (amounts are never negative), so
            # the limit's own checks refuse it, in their words, after the line's kind.
            amount = _whole(choice)
            svc.control.set_spending_limit(line, -1 if amount is None else amount, actor)
    except Forbidden:
        return _form_error(page, line, "limit", page.t["forbidden"], 403)
    except (Conflict, InvalidInput) as exc:
        return _form_error(page, line, "limit", getattr(exc, "msg", str(exc)))
    return _after_post(page, line, "limit")


@router.post("/portal/lines/{line_id}/roaming-cap")
async def save_roaming_cap(request: Request, line_id: str, svc: ServicesDep) -> Response:
    """Switch the roaming data cap off, or on again: the line's user or an admin."""
    opened = await _open_form(request, line_id, svc, "roaming")
    if isinstance(opened, Response):
        return opened
    page, line, form = opened
    assert page.who is not None
    try:
        set_roaming_cap(svc.engine, line, form.get("enabled") == "on",
                        page.who.login or "operator")
    except Conflict as exc:
        return _form_error(page, line, "roaming", str(exc), 409)
    return _after_post(page, line, "roaming")


@router.post("/portal/lines/{line_id}/roaming-cap/continue")
async def continue_past_roaming_cap(request: Request, line_id: str,
                                    svc: ServicesDep) -> Response:
    """Go on roaming with data past the cap for the rest of the cycle."""
    opened = await _open_form(request, line_id, svc, "roaming")
    if isinstance(opened, Response):
        return opened
    page, line, _ = opened
    assert page.who is not None
    try:
        continue_roaming(svc.engine, line, page.who.login or "operator")
    except Conflict as exc:
        return _form_error(page, line, "roaming", str(exc), 409)
    return _after_post(page, line, "roaming")


def _alerts_error(page: _Page, exc: InvalidInput) -> str:
    """The rule engine's error, in the page's language (its loc names the field of the
    choice, e.g. `("rules", 0, "value")`: a form has no body words to show)."""
    loc = tuple(str(part) for part in exc.loc)
    if loc == ("rules",):
        return page.t["err_too_many_rules"]
    if loc[:1] == ("rules",):
        return page.t["err_rule"]
    field = loc[-1] if loc[:1] == ("channels",) else ""
    return page.t.get(f"err_{field}", exc.msg)


def _whole(raw: Any) -> int | None:
    """A form's whole number; None when it is not one."""
    try:
        return int(str(raw))
    except ValueError:
        return None


# -- history: the records of a cycle, and their CSV -------------------------------------

RECORDS_PER_PAGE = 50
RECORD_SERVICES = history.SERVICES


def _line_opened(request: Request, line_id: str, svc: Services,
                 cycle: str) -> tuple[_Page, Line, Cycle] | Response:
    """The page, the line it names and the cycle `?cycle=` names (the current one when
    empty); or the answer that stops there (the login, an error page)."""
    page = _Page(request, svc)
    if page.who is None:
        return _to_login()
    if (not_text := _request_not_text(page)) is not None:
        return _not_text_page(page, not_text)
    line = _line_for(page, line_id)
    if line is None:
        return page.render("error.html", status=404, message=f"{page.t['line']} {line_id}?")
    period = _cycle_asked(page, line, cycle)
    if isinstance(period, Response):
        return period
    return page, line, period


@router.get("/portal/lines/{line_id}/records")
def records_page(request: Request, line_id: str, svc: ServicesDep, *, cycle: str = "",
                 service: str = "", cursor: str = "") -> Response:
    """A cycle's itemised records, a page at a time (engine/history.py's keyset paging),
    of one service when chosen."""
    opened = _line_opened(request, line_id, svc, cycle)
    if isinstance(opened, Response):
        return opened
    page, line, period = opened
    chosen = service if service in RECORD_SERVICES else ""
    try:
        found = history.records_page(svc.engine, line, period, service=chosen or None,
                                     cursor=cursor or None, limit=RECORDS_PER_PAGE)
    except InvalidInput:
        return page.render("error.html", status=422, message=page.t["err_records"])
    current = cycle_of(svc.engine.clock(), line.cycle_day)
    cycle_param = "" if period.start_date == current.start_date else period.start_date.isoformat()
    query = {k: v for k, v in (("cycle", cycle_param), ("service", chosen)) if v}
    return page.render(
        "records.html", line=line, rows=views.record_rows(found.records, page.lang),
        pruned=found.pruned,
        cycles=views.cycle_options(history.cycles(svc.engine, line), page.lang),
        cycle_param=cycle_param, service=chosen, services=RECORD_SERVICES,
        cycle_start=period.start_date,
        cycle_end=period.end.astimezone(CYCLE_TZ).date() - timedelta(days=1),
        next_url=None if found.next_cursor is None else
        f"?{urlencode({**query, 'cursor': found.next_cursor})}",
        first_url=f"?{urlencode(query)}" if cursor else None,
        csv_url=f"/portal/lines/{quote(line.id, safe='')}/records.csv"
        + (f"?{urlencode(query)}" if query else ""))


@router.get("/portal/lines/{line_id}/records.csv")
def records_csv(request: Request, line_id: str, svc: ServicesDep, cycle: str = "",
                service: str = "") -> Response:
    """The whole cycle (of a service) as the API's CSV (engine/history.py writes both),
    streamed, for the portal's session: a download link needs no token."""
    opened = _line_opened(request, line_id, svc, cycle)
    if isinstance(opened, Response):
        return opened
    _, line, period = opened
    chosen = service if service in RECORD_SERVICES else None
    chunks = history.csv_lines(history.each_record(svc.engine, line, period, service=chosen))
    filename = f"{line.id}-{period.start_date.isoformat()}.csv"
    return StreamingResponse(chunks, media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})


# -- the account: a user changes their password -----------------------------------------


@router.get("/portal/account")
def account_page(request: Request, svc: ServicesDep, saved: str = "") -> Response:
    page = _Page(request, svc)
    if page.who is None:
        return _to_login()
    user = svc.store.users.get(page.who.login or "")
    return page.render("account.html", user=user, saved=saved, error=None, field=None,
                       **_reset_context(page))


def _reset_context(page: _Page, error: str | None = None,
                   field: str | None = None) -> dict[str, Any]:
    """An admin's form to reset the password of a user of their account."""
    who = page.who
    if who is None or who.role is not Role.ADMIN or who.account_id is None:
        return {"others": []}
    others = [u for u in page.svc.store.users.of_account(who.account_id)
              if u.login != who.login]
    return {"others": others, "reset_error": error, "reset_field": field}


@router.post("/portal/account/password")
def change_password(request: Request, svc: ServicesDep, *,
                    current: Annotated[str, Form()] = "", new: Annotated[str, Form()] = "",
                    confirm: Annotated[str, Form()] = "",
                    csrf: Annotated[str, Form()] = "") -> Response:
    """The current password is checked (and throttled) as a login is; the new one twice
    alike and to the password rules; then every other session and token of the user
    ends (engine.set_password keeps this session's token). Errors inline, by field."""
    page = _Page(request, svc)
    if page.who is None or not page.who.login:
        return _to_login()
    page.check_csrf(csrf)
    user = svc.store.users.get(page.who.login)

    def refused(field: str, key: str, status: int = 422) -> Response:
        return page.render("account.html", status=status, user=user, saved="",
                           error=page.t[key], field=field, **_reset_context(page))

    if new != confirm:
        return refused("confirm", "err_confirm")
    try:
        check_password(new, ("form", "new"))
    except InvalidInput:
        return refused("new", "err_new")
    try:
        svc.auth.verify(page.who.login, current,
                        client=request.client.host if request.client else None)
    except TooManyAttempts:
        return refused("current", "too_many", 429)
    except Unauthorized:
        return refused("current", "err_current", 403)
    svc.engine.set_password(page.who.login, new, by=page.who.login, keep_token=page.token)
    return RedirectResponse("/portal/account?saved=password", status_code=303)


@router.post("/portal/account/reset")
def reset_password(request: Request, svc: ServicesDep, *, login: Annotated[str, Form()] = "",
                   new: Annotated[str, Form()] = "", confirm: Annotated[str, Form()] = "",
                   csrf: Annotated[str, Form()] = "") -> Response:
    """An admin gives a user of their account a new password: every session and token of
    that user ends (they sign in again with it). Audited (engine.set_password)."""
    page = _Page(request, svc)
    if page.who is None or not page.who.login:
        return _to_login()
    page.check_csrf(csrf)
    who, admin = page.who, page.who.login
    target = svc.store.users.get(login) if is_clean_text(login) else None
    if who.role is not Role.ADMIN or target is None or target.account_id != who.account_id \
            or target.login == who.login:
        # Not an admin, or not a user of their account: as if there were none (404).
        return page.render("error.html", status=404 if who.role is Role.ADMIN else 403,
                           message=page.t["forbidden"])
    user = svc.store.users.get(admin)

    def refused(field: str, key: str) -> Response:
        return page.render("account.html", status=422, user=user, saved="", error=None,
                           field=None, **_reset_context(page, page.t[key], field))

    if new != confirm:
        return refused("reset-confirm", "err_confirm")
    try:
        check_password(new, ("form", "new"))
    except InvalidInput:
        return refused("reset-new", "err_new")
    svc.engine.set_password(target.login, new, by=admin)
    return RedirectResponse(f"/portal/account?saved=reset-{quote(target.login)}",
                            status_code=303)
