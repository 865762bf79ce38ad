"""/v1/milestones/run: publish `registry.person.milestone` for ages reached by a date; also run daily.

The daily run starts with the service (this router's lifespan) and fires
shortly after midnight, local time; each (person, age) is published once
however often it runs, so several replicas running it is harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Annotated

import structlog
from fastapi import APIRouter, FastAPI, Request

from services.registry.schemas import MilestoneRunIn, MilestoneRunOut
from services.registry.usecases import milestones as cases
from shared import divisions
from shared.auth import Principal, require
from shared.problems import Forbidden, Invalid

log = structlog.get_logger("registry.milestones")
RUN_AT_MINUTES = 10  # past midnight


async def _daily(app: FastAPI) -> None:
    while True:
        now = datetime.now()
        nxt = (now + timedelta(days=1)).replace(hour=0, minute=RUN_AT_MINUTES, second=0, microsecond=0)
        await asyncio.sleep((nxt - now).total_seconds())
        try:
            result = await cases.run_all(app.state.sessionmaker, date.today())
            log.info("daily milestone run", recorded=result.recorded, published=result.published)
        except Exception as exc:  # the next day's run catches up: ages are recorded once reached
            log.warning("daily milestone run failed", error=str(exc))


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    task = asyncio.create_task(_daily(app), name="registry-milestones-daily")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


router = APIRouter(prefix="/v1/milestones", tags=["milestones"], lifespan=lifespan)


@router.post("/run", response_model=MilestoneRunOut, summary="Publish milestones reached by `as_of` (each person and age once)")
async def run(body: MilestoneRunIn, request: Request, principal: Annotated[Principal, require("registry:write")]) -> MilestoneRunOut:
    if body.as_of > date.today():
        raise Invalid("as_of is in the future", field="as_of")
    if principal.division != divisions.DISTRICT:
        raise Forbidden("the milestone run covers the whole district: district staff only", field="as_of")
    result = await cases.run_all(request.app.state.sessionmaker, body.as_of)
    return MilestoneRunOut(as_of=result.as_of, persons_checked=result.persons_checked, recorded=result.recorded, published=result.published)
