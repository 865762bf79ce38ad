"""/v1/milestones/run: publish `registry.person.milestone` for ages reached by a date, on demand.

The daily run is the registry app's (services/registry/app.py); each
(person, age) is published once however often either runs.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request

from services.registry.schemas import MilestoneRunIn, MilestoneRunOut
from services.registry.usecases import milestones as cases
from shared import clock
from shared.auth import Principal, require
from shared.problems import Invalid

router = APIRouter(prefix="/v1/milestones", tags=["milestones"])


@router.post(
    "/run", response_model=MilestoneRunOut, summary="Publish milestones reached by `as_of` (each person and age once)"
)
async def run(
    body: MilestoneRunIn, request: Request, principal: Annotated[Principal, require("registry:write")]
) -> MilestoneRunOut:
    if body.as_of > clock.today():
        raise Invalid("as_of is in the future", field="as_of")
    result = await cases.run_all(
        request.app.state.sessionmaker, body.as_of, scope=principal.division
    )  # the caller's residents
    return MilestoneRunOut(
        as_of=result.as_of, persons_checked=result.persons_checked, recorded=result.recorded, published=result.published
    )
