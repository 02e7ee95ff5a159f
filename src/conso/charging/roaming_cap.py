"""The roaming data cap's settings (rules.md, "Roaming data cap"): switch it off or on
again, and continue past it for the rest of a cycle. Audited, one unit of work each.

The user of a line may do both, like an admin of its account (the front end checks
who may see the line; the rule is that seeing it is enough). A change re-authorizes the
line's open sessions, so that a network holding a grant cut at the cap asks again. It
must not import a front end, nor send anything itself.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date

from conso.charging.settings import current_line, push_reauthorization
from conso.domain.catalog import PlanKind
from conso.domain.cycle import cycle_of
from conso.domain.line import Line
from conso.engine import Engine
from conso.errors import Conflict
from conso.store.base import AuditEntry

log = logging.getLogger("conso.control")


def _mobile(engine: Engine, line: Line) -> None:
    if engine.catalog.plans[line.plan_id].kind is PlanKind.INTERNET:
        raise Conflict("the roaming data cap is for mobile lines (an internet line never roams)")
    if engine.catalog.roaming_data_cap_micros is None:
        raise Conflict("the catalogue sets no roaming data cap")


def _view(line: Line, cycle_start: date) -> dict[str, object]:
    return {"enabled": not line.roaming_cap_off,
            "continued": line.roaming_continued == cycle_start}


def set_roaming_cap(engine: Engine, line: Line, enabled: bool, actor: str) -> Line:
    """Switch the cap off (`enabled` False) or on again. On again means capped now: a
    choice to continue this cycle is forgotten with it."""
    _mobile(engine, line)
    with engine.unit_of_work([line.id]) as uow:
        current = current_line(uow, line)
        updated = replace(current, roaming_cap_off=not enabled,
                          roaming_continued=None if enabled else current.roaming_continued)
        if updated == current:
            return current
        cycle = cycle_of(uow.now, current.cycle_day).start_date
        uow.save_line(updated, AuditEntry(uow.now, actor, line.id, "roaming_cap",
                                          _view(current, cycle), _view(updated, cycle)))
        push_reauthorization(uow, updated, "roaming_cap")
    log.info("roaming data cap of line %s switched %s by %s", line.id,
             "on" if enabled else "off", actor)
    return updated


def continue_roaming(engine: Engine, line: Line, actor: str) -> Line:
    """Go on roaming with data past the cap for the rest of the current cycle; the next
    cycle is capped again. Asked again in the same cycle, nothing changes."""
    _mobile(engine, line)
    with engine.unit_of_work([line.id]) as uow:
        current = current_line(uow, line)
        cycle = cycle_of(uow.now, current.cycle_day).start_date
        if current.roaming_continued == cycle:
            return current
        updated = replace(current, roaming_continued=cycle)
        uow.save_line(updated, AuditEntry(uow.now, actor, line.id, "roaming_cap",
                                          _view(current, cycle), _view(updated, cycle)))
        push_reauthorization(uow, updated, "roaming_cap")
    log.info("line %s continues data roaming past its cap until the cycle of %s ends (by %s)",
             line.id, cycle.isoformat(), actor)
    return updated
