"""/v1/households: create a household with its members, read it back."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Request, status
from sqlalchemy import select

from shared import identity
from shared.app import Session
from shared.audit import record_read
from shared.auth import Principal, require
from shared.problems import NotFound
from services.registry import usecases
from services.registry.models import Household
from services.registry.schemas import HouseholdIn, HouseholdOut, MemberOut

router = APIRouter(prefix="/v1/households", tags=["households"])


async def _out(session: Session, household: Household, principal: Principal) -> HouseholdOut:
    members = await usecases.household_members(session, household.id)
    return HouseholdOut(
        household_id=household.id,
        hukou_division=household.hukou_division,
        address=household.address,
        head_person_id=household.head_person_id,
        members=[
            MemberOut(
                person_id=p.id,
                id_number=p.id_number if principal.sees_pii else identity.mask(p.id_number),
                name=p.name,
                relation=m.relation,
                status=p.status,
            )
            for m, p in members
        ],
    )


@router.post("", response_model=HouseholdOut, status_code=status.HTTP_201_CREATED, summary="Create a household")
async def create(body: HouseholdIn, session: Session, principal: Annotated[Principal, require("registry:write")]) -> HouseholdOut:
    household = await usecases.create_household(
        session,
        hukou_division=body.hukou_division,
        address=body.address,
        members=[(m.id_number, m.relation) for m in body.members],
        scope=principal.division,
    )
    out = await _out(session, household, principal)
    await session.commit()
    return out


@router.get("/{household_id}", response_model=HouseholdOut, summary="Get a household and its members")
async def get(household_id: uuid.UUID, request: Request, session: Session, principal: Annotated[Principal, require("registry:read")]) -> HouseholdOut:
    household = (await session.execute(select(Household).where(Household.id == household_id))).scalar_one_or_none()
    if household is None:
        raise NotFound("no such household in your division")
    out = await _out(session, household, principal)
    await record_read(session, principal, request, [m.person_id for m in out.members])
    await session.commit()
    return out
