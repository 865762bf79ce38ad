"""POST /v1/persons/snapshot: the registry's current word on persons another service follows (for 对账).

Monitoring keeps a copy of each person's status and household registration
built from the registry's events; an event lost (a death confirmed, a move
out, a revocation) would leave the copy wrong for ever. The snapshot answers,
for up to 500 person ids at a time, exactly the fields those events carry:
alive or deceased with the date, the registration division and whether it is
in the district. No name or identity number: the caller already holds them.
Persons outside the caller's division are left out, as everywhere; the read
is audited like any read of a person.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from services.registry.models import Person
from shared.app import Session
from shared.audit import record_read
from shared.auth import Principal, require

router = APIRouter(prefix="/v1/persons", tags=["persons"])
MAX_PERSONS = 500


class SnapshotIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person_ids: list[uuid.UUID] = Field(min_length=1, max_length=MAX_PERSONS, description="the persons to read")


class PersonState(BaseModel):
    person_id: uuid.UUID
    status: str = Field(description="alive | deceased")
    date_of_death: date | None
    hukou_division: str
    in_district: bool


class SnapshotOut(BaseModel):
    items: list[PersonState] = Field(description="the persons of your division among those asked, by person id")


@router.post("/snapshot", response_model=SnapshotOut, summary="Status and registration of persons, as now")
async def snapshot(
    body: SnapshotIn, request: Request, session: Session, principal: Annotated[Principal, require("registry:read")]
) -> SnapshotOut:
    stmt = select(Person).where(Person.id.in_(sorted(set(body.person_ids)))).order_by(Person.id)
    persons = (await session.execute(stmt)).scalars().all()
    await record_read(session, principal, request, [p.id for p in persons])
    await session.commit()
    return SnapshotOut(
        items=[
            PersonState(person_id=p.id, status=p.status, date_of_death=p.date_of_death,
                        hukou_division=p.hukou_division, in_district=p.in_district)
            for p in persons
        ]
    )  # fmt: skip
