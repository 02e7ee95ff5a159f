"""An admin's settings that control charging: barring and the spending limit, audited.

Each change is one unit of work: the line, its audit entry, the re-armed limit
notifications, the SMS from 8644 that tells the line's user what changed (unless they
made the change themselves) and the pushes to the network are committed together. A line with
open sessions opened by a front end that can be told (a Diameter peer, an Nchf
notifyUri: the session's `push_to`) gets one re-authorization message per session,
an outbox row of the channel named after that front end; the front end's channel
sends it, retried like any message, never holding up the admin's request.

It must not import a front end, nor send anything itself.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import replace

from conso.charging.ports import Reauthorization
from conso.domain.catalog import Plan, PlanKind
from conso.domain.control import (
    BARRING_FUNCTIONS,
    ControlError,
    barring_view,
    check_limit_amount,
    parse_barring,
)
from conso.domain.line import Line
from conso.domain.units import MICROS_PER_EURO
from conso.engine import Engine, UnitOfWork
from conso.errors import Conflict, InvalidInput, NotFound
from conso.notify import templates
from conso.notify.compose import change_message
from conso.store.base import AuditEntry

log = logging.getLogger("conso.control")

# The actor of a change made with the operator key (api/control.py).
OPERATOR = "operator"


class ChargingSettings:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def set_barring(self, line: Line, changes: Mapping[str, bool], actor: str) -> Line:
        """Bar or lift functions; a function left out keeps its setting."""
        plan = self.engine.catalog.plans[line.plan_id]
        if plan.kind is PlanKind.INTERNET:
            raise Conflict("barring is for mobile lines (bundle and pay-per-use)")
        with self.engine.unit_of_work([line.id]) as uow:
            current = current_line(uow, line)
            try:
                barred = parse_barring(changes, current.barred)
            except ControlError as exc:
                raise InvalidInput(exc.loc, exc.msg) from None
            if barred == current.barred:
                return current
            updated = replace(current, barred=barred)
            uow.save_line(updated, AuditEntry(uow.now, actor, line.id, "barring",
                                              barring_view(current.barred),
                                              barring_view(barred)))
            language = self._user_language(updated, actor)
            if language is not None:
                text = templates.barring_text(
                    [f for f in BARRING_FUNCTIONS if f in barred - current.barred],
                    [f for f in BARRING_FUNCTIONS if f in current.barred - barred],
                    language, by_operator=actor == OPERATOR)
                uow.queue([change_message(line.id, text, what="barring",
                                          before=sorted(current.barred), after=sorted(barred),
                                          now=uow.now)])
            push_reauthorization(uow, updated, "barring")
        log.info("barring of line %s set by %s: %s", line.id, actor,
                 ", ".join(sorted(barred)) or "nothing barred")
        return updated

    def set_spending_limit(self, line: Line, amount_eur: int, actor: str) -> Line:
        try:
            micros = check_limit_amount(self._payg_plan(line), amount_eur)
        except ControlError as exc:
            raise InvalidInput(exc.loc, exc.msg) from None
        return self._change_limit(line, micros, actor)

    def remove_spending_limit(self, line: Line, actor: str) -> Line:
        self._payg_plan(line)
        return self._change_limit(line, None, actor)

    def _user_language(self, line: Line, actor: str) -> str | None:
        """The language to tell the line's user a change in; None when the user made
        the change themselves (an admin on their own line): they know."""
        if line.user_login is not None and actor == line.user_login:
            return None
        return self.engine.recipient(line).language

    def _payg_plan(self, line: Line) -> Plan:
        plan = self.engine.catalog.plans[line.plan_id]
        if plan.kind is not PlanKind.PAYG:
            raise Conflict("a spending limit is for pay-per-use lines only")
        return plan

    def _change_limit(self, line: Line, micros: int | None, actor: str) -> Line:
        with self.engine.unit_of_work([line.id]) as uow:
            current = current_line(uow, line)
            if current.spending_limit_micros == micros:
                return current
            updated = replace(current, spending_limit_micros=micros)
            # A new limit re-arms its 50/90/100 % messages for this cycle.
            usage = uow.cycle_usage(updated).copy()
            usage.fired = frozenset(k for k in usage.fired if not k.startswith("limit_pct:"))
            uow.save_cycle(updated.id, usage)
            uow.save_line(updated, AuditEntry(uow.now, actor, line.id, "spending_limit",
                                              _euros(current.spending_limit_micros),
                                              _euros(micros)))
            language = self._user_language(updated, actor)
            if language is not None:
                text = templates.limit_text(current.spending_limit_micros, micros, language,
                                            by_operator=actor == OPERATOR)
                uow.queue([change_message(line.id, text, what="spending_limit",
                                          before=current.spending_limit_micros, after=micros,
                                          now=uow.now)])
            push_reauthorization(uow, updated, "spending_limit")
        log.info("spending limit of line %s set to %s by %s", line.id, _euros(micros), actor)
        return updated


def current_line(uow: UnitOfWork, line: Line) -> Line:
    current = uow.line(line.id)
    if current is None:
        raise NotFound(f"no line {line.id}")
    return current


def push_reauthorization(uow: UnitOfWork, line: Line, why: str) -> None:
    """One re-authorization message per open session whose front end can be told."""
    messages = []
    for session in uow.open_sessions(line.id):
        if session.push_to is None:
            continue
        push = Reauthorization(session.id, line.id, why)
        messages.append(push.message(str(uuid.uuid4()), channel=session.origin,
                                     to=session.push_to, now=uow.now))
    if messages:
        uow.queue(messages)
        log.info("re-authorization of %d session(s) of line %s queued (%s)",
                 len(messages), line.id, why)


def _euros(micros: int | None) -> int | None:
    return None if micros is None else micros // MICROS_PER_EURO

