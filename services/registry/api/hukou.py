"""/v1/hukou-changes: move in, move out, transfer (户籍迁移), resolved by effective date."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response, status

from services.registry import usecases
from services.registry.schemas import HukouChangeIn, HukouChangeOut
from shared.app import Session
from shared.auth import Principal, require

router = APIRouter(prefix="/v1/hukou-changes", tags=["hukou"])

_STATUS = {"recorded": 201, "review": 202, "pending": 202}


@router.post(
    "",
    response_model=HukouChangeOut,
    status_code=status.HTTP_201_CREATED,
    summary="Record a household-registration change",
    responses={
        200: {"model": HukouChangeOut, "description": "the same change again"},
        202: {"model": HukouChangeOut, "description": "kept for review, or until the person is registered"},
    },
)
async def record(
    body: HukouChangeIn,
    response: Response,
    session: Session,
    principal: Annotated[Principal, require("registry:write")],
) -> HukouChangeOut:
    outcome, person = await usecases.change_hukou(
        session, **body.model_dump(), channel="http", scope=principal.division
    )
    await session.commit()
    response.status_code = _STATUS.get(outcome.outcome or "", 200)
    applied = outcome.outcome == "recorded"
    return HukouChangeOut(
        change_id=outcome.record_id,
        person_id=outcome.person_id,
        outcome=outcome.outcome or outcome.status,
        explanation=outcome.reason,
        hukou_division=person.hukou_division if person and applied else None,
        in_district=person.in_district if person and applied else None,
        review_id=outcome.review_id,
    )
