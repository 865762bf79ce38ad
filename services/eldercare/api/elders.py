"""/v1/elders: residents aged 60+ with registration in the district, with guarantee, care level and allowance."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from services.eldercare import elders
from services.eldercare.domain.allowance import age_on
from services.eldercare.schemas import ElderOut, Page
from shared import clock, identity
from shared.app import Session
from shared.audit import record_read
from shared.auth import Principal, require
from shared.paging import Limit, Offset
from shared.problems import Invalid

router = APIRouter(prefix="/v1/elders", tags=["elders"])


@router.get(
    "", response_model=Page[ElderOut], summary="Elders (search by division, age band, care level, status, living alone)"
)
async def listing(
    request: Request,
    session: Session,
    principal: Annotated[Principal, require("eldercare:read")],
    division: Annotated[str | None, Query(max_length=12, pattern="^[0-9]{6,12}$")] = None,
    age_min: Annotated[int, Query(ge=60, le=130)] = 60,
    age_max: Annotated[int | None, Query(ge=60, le=130)] = None,
    care_level: Annotated[int | None, Query(ge=0, le=4)] = None,
    guarantee: Literal["dibao", "tekun", "none"] | None = None,
    status: Literal["alive", "deceased"] = "alive",
    living_alone: Annotated[bool | None, Query(description="true: no other living member in their household")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[ElderOut]:
    if age_max is not None and age_max < age_min:
        raise Invalid("age_max is below age_min", field="age_max")
    today = clock.today()
    filters = elders.Filters(division, age_min, age_max, care_level, guarantee, status, living_alone)
    rows, total = await elders.search(session, filters, today=today, limit=limit, offset=offset)
    await record_read(session, principal, request, [r["person_id"] for r in rows])
    await session.commit()
    items = [
        ElderOut(
            **{**r, "id_number": r["id_number"] if principal.sees_pii else identity.mask(r["id_number"])},
            age=age_on(r["birth_date"], today),
        )
        for r in rows
    ]
    return Page(items=items, total=total, limit=limit, offset=offset)
