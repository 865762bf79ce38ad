"""/v1/hukou-changes: move in, move out, transfer (户籍迁移), resolved by effective date."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response, status

from shared.app import Session
from shared.auth import Principal, require
from services.registry import usecases
from services.registry.schemas import HukouChangeIn, HukouChangeOut

router = APIRouter(prefix="/v1/hukou-changes", tags=["hukou"])


@router.post("", response_model=HukouChangeOut, status_code=status.HTTP_201_CREATED, summary="Record a household-registration change")
async def record(
    body: HukouChangeIn, response: Response, session: Session, principal: Annotated[Principal, require("registry:write")]
) -> HukouChangeOut:
    change, person, outcome = await usecases.change_hukou(session, **body.model_dump(), channel="http", scope=principal.division)
    await session.commit()
    if outcome == "duplicate":
        response.status_code = 200
    return HukouChangeOut(change_id=change.id, person_id=person.id, outcome=outcome, hukou_division=person.hukou_division, in_district=person.in_district)
