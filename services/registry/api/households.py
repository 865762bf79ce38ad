"""/v1/households: create, list, read; members join and leave; split (分户) and merge (合户)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, status

from services.registry.models import Household
from services.registry.schemas import (
    HouseholdIn,
    HouseholdOut,
    HouseholdSummary,
    JoinIn,
    LeaveIn,
    MemberOut,
    MergeIn,
    Page,
    SplitIn,
    SplitOut,
)
from services.registry.usecases import households as cases
from shared import identity
from shared.app import Session
from shared.audit import record_read
from shared.auth import Principal, require
from shared.paging import Limit, Offset

router = APIRouter(prefix="/v1/households", tags=["households"])


async def _out(session: Session, household: Household, principal: Principal) -> HouseholdOut:
    members = await cases.household_members(session, household.id)
    return HouseholdOut(
        household_id=household.id,
        hukou_division=household.hukou_division,
        address=household.address,
        head_person_id=household.head_person_id,
        status=household.status,
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
async def create(
    body: HouseholdIn, session: Session, principal: Annotated[Principal, require("registry:write")]
) -> HouseholdOut:
    household = await cases.create_household(
        session,
        hukou_division=body.hukou_division,
        address=body.address,
        members=[(m.id_number, m.relation) for m in body.members],
    )
    out = await _out(session, household, principal)
    await session.commit()
    return out


@router.get("", response_model=Page[HouseholdSummary], summary="List households (by division, status)")
async def find(
    session: Session,
    principal: Annotated[Principal, require("registry:read")],
    division: Annotated[str | None, Query(max_length=12, description="division code prefix")] = None,
    status: Annotated[Literal["active", "dissolved"] | None, Query()] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[HouseholdSummary]:
    total, rows = await cases.list_households(session, division=division, status=status, limit=limit, offset=offset)
    items = [
        HouseholdSummary(
            household_id=h.id,
            hukou_division=h.hukou_division,
            address=h.address,
            head_person_id=h.head_person_id,
            status=h.status,
        )
        for h in rows
    ]
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/{household_id}", response_model=HouseholdOut, summary="Get a household and its members")
async def get(
    household_id: uuid.UUID,
    request: Request,
    session: Session,
    principal: Annotated[Principal, require("registry:read")],
) -> HouseholdOut:
    household = await cases.get_household(session, household_id)
    out = await _out(session, household, principal)
    await record_read(session, principal, request, [m.person_id for m in out.members])
    await session.commit()
    return out


@router.post(
    "/{household_id}/members",
    response_model=HouseholdOut,
    summary="A member joins (birth, marriage, adoption, move-in)",
)
async def join(
    household_id: uuid.UUID, body: JoinIn, session: Session, principal: Annotated[Principal, require("registry:write")]
) -> HouseholdOut:
    household = await cases.join(
        session, household_id, id_number=body.id_number, relation=body.relation, reason=body.reason
    )
    out = await _out(session, household, principal)
    await session.commit()
    return out


@router.post(
    "/{household_id}/members/{person_id}/leave",
    response_model=HouseholdOut,
    summary="A member leaves (death, marriage, move-out)",
)
async def leave(
    household_id: uuid.UUID,
    person_id: uuid.UUID,
    body: LeaveIn,
    session: Session,
    principal: Annotated[Principal, require("registry:write")],
) -> HouseholdOut:
    household = await cases.leave(
        session, household_id, person_id, reason=body.reason, new_head=body.new_head_person_id
    )
    out = await _out(session, household, principal)
    await session.commit()
    return out


@router.post(
    "/{household_id}/split",
    response_model=SplitOut,
    status_code=status.HTTP_201_CREATED,
    summary="分户: some members form a new household",
)
async def split(
    household_id: uuid.UUID, body: SplitIn, session: Session, principal: Annotated[Principal, require("registry:write")]
) -> SplitOut:
    moving = {m.person_id: m.relation for m in body.members}
    source, new = await cases.split(
        session, household_id, moving=moving, address=body.address, new_head=body.new_head_person_id
    )
    out = SplitOut(household=await _out(session, source, principal), new_household=await _out(session, new, principal))
    await session.commit()
    return out


@router.post(
    "/{household_id}/merge", response_model=HouseholdOut, summary="合户: another household's members join this one"
)
async def merge(
    household_id: uuid.UUID, body: MergeIn, session: Session, principal: Annotated[Principal, require("registry:write")]
) -> HouseholdOut:
    household = await cases.merge(
        session,
        household_id,
        from_household_id=body.from_household_id,
        relations={r.person_id: r.relation for r in body.relations},
    )
    out = await _out(session, household, principal)
    await session.commit()
    return out
