"""/v1/deaths: record a death; a second source confirms it, a different date is flagged."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response, status

from shared.app import Session
from shared.auth import Principal, require
from services.registry import usecases
from services.registry.schemas import DeathIn, DeathOut

router = APIRouter(prefix="/v1/deaths", tags=["deaths"])

_STATUS = {"recorded": 201, "pending": 202}


def death_out(result: usecases.DeathResult) -> DeathOut:
    death = result.death
    dates = sorted({r.date_of_death for r in result.reports if death and r.date_of_death != death.date_of_death})
    return DeathOut(
        outcome=result.report.outcome,
        explanation=result.report.explanation,
        report_id=result.report.id,
        death_id=death.id if death else None,
        person_id=death.person_id if death else None,
        date_of_death=death.date_of_death if death else None,
        status=death.status if death else None,
        sources=sorted({r.source for r in result.reports if r.death_id}),
        conflicting_dates=dates,
    )


@router.post(
    "",
    response_model=DeathOut,
    status_code=status.HTTP_201_CREATED,
    summary="Report a death",
    responses={200: {"model": DeathOut, "description": "confirmed, duplicate or conflicting report of a death on file"}, 202: {"model": DeathOut, "description": "person not registered yet: kept and applied on registration"}},
)
async def report(
    body: DeathIn, response: Response, session: Session, principal: Annotated[Principal, require("registry:write")]
) -> DeathOut:
    result = await usecases.report_death(session, **body.model_dump(), channel="http", scope=principal.division)
    await session.commit()
    response.status_code = _STATUS.get(result.report.outcome, 200)
    return death_out(result)
