"""/v1/adoptions: register an adoption (收养登记); the child joins the adopters' household."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response, status

from services.registry.schemas import AdoptionIn, AdoptionOut
from services.registry.usecases import adoptions as cases
from shared.app import Session
from shared.auth import Principal, require

router = APIRouter(prefix="/v1/adoptions", tags=["adoptions"])


@router.post(
    "",
    response_model=AdoptionOut,
    status_code=status.HTTP_201_CREATED,
    summary="Register an adoption",
    responses={200: {"model": AdoptionOut, "description": "the same adoption again"}},
)
async def register(
    body: AdoptionIn, response: Response, session: Session, principal: Annotated[Principal, require("registry:write")]
) -> AdoptionOut:
    a, created = await cases.register_adoption(
        session,
        child=body.child_id_number,
        adopters=body.adopters,
        registered_on=body.registered_on,
        certificate_no=body.certificate_no,
        household_id=body.household_id,
    )
    await session.commit()
    if not created:
        response.status_code = 200
    return AdoptionOut(
        adoption_id=a.id,
        child_person_id=a.child_person_id,
        adopter_person_ids=[p for p in (a.adopter_a, a.adopter_b) if p],
        registered_on=a.registered_on,
        certificate_no=a.certificate_no,
        household_id=a.household_id,
    )
