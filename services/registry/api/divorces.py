"""/v1/divorces: register a divorce (离婚登记) of a marriage in force."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response, status

from services.registry.api.marriages import marriage_out
from services.registry.schemas import DivorceIn, MarriageOut
from services.registry.usecases import marriages as cases
from shared.app import Session
from shared.auth import Principal, require

router = APIRouter(prefix="/v1/divorces", tags=["marriages"])


@router.post(
    "",
    response_model=MarriageOut,
    status_code=status.HTTP_201_CREATED,
    summary="Register a divorce",
    responses={200: {"model": MarriageOut, "description": "the same divorce again"}},
)
async def register(
    body: DivorceIn, response: Response, session: Session, principal: Annotated[Principal, require("registry:write")]
) -> MarriageOut:
    marriage, created = await cases.register_divorce(
        session, marriage_id=body.marriage_id, divorced_on=body.divorced_on, certificate_no=body.certificate_no
    )
    await session.commit()
    if not created:
        response.status_code = 200
    return marriage_out(marriage)
