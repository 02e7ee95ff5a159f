"""Texts from subscribers, handed over by the SMS centre over HTTP."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field

from conso.access import require_operator
from conso.api.answers import API, InboundAnswer, ok, problems
from conso.api.deps import TEXT_PARAMETERS, CallerDep, ServicesDep
from conso.api.schemas import Body

router = APIRouter(prefix="/api/v1", tags=["sms"], dependencies=TEXT_PARAMETERS,
                   responses=API)


class InboundIn(Body):
    multiline = frozenset({"text"})

    from_: str = Field(alias="from", min_length=1, max_length=32)
    to: str = Field(min_length=1, max_length=32)
    text: str = Field(max_length=2000)


@router.post("/sms/inbound", summary="A text from a subscriber (CONSULT to 1921)",
             response_model=None, responses={**ok(InboundAnswer), **problems(401, 403)})
def inbound(body: InboundIn, svc: ServicesDep, who: CallerDep) -> dict[str, Any]:
    require_operator(who)
    outcome = svc.inbound.handle(body.from_, body.to, body.text)
    return {"outcome": outcome.value}
