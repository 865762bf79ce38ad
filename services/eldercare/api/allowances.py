"""/v1/allowances: enrol in the old-age allowance, look up by person."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from pydantic import BaseModel, Field
from sqlalchemy import BindParameter, ScalarSelect, and_, select

from services.eldercare import usecases
from services.eldercare.allowances import discover as discovery
from services.eldercare.allowances.brackets import NoStandard
from services.eldercare.models import Allowance
from services.eldercare.schemas import AllowanceIn, AllowanceOut, DiscoverIn, DiscoverOut, Page
from shared import divisions, identity
from shared.app import Session
from shared.audit import AuditedList, like_prefix
from shared.auth import Principal, require
from shared.db import guard
from shared.fields import id_number_param
from shared.paging import PageOffset, PageSize
from shared.people import people
from shared.problems import Invalid

router = APIRouter(prefix="/v1/allowances", tags=["allowances"])


def allowance_out(a: Allowance, principal: Principal) -> AllowanceOut:
    return AllowanceOut(
        allowance_id=a.id,
        person_id=a.person_id,
        id_number=a.id_number if principal.sees_pii else identity.mask(a.id_number),
        status=a.status,
        monthly_amount=a.monthly_amount,
        explanation=a.explanation,
        started_on=a.started_on,
        stopped_on=a.stopped_on,
        stop_reason=a.stop_reason,
        hukou_division=a.hukou_division,
    )


@router.post(
    "",
    response_model=AllowanceOut,
    status_code=status.HTTP_201_CREATED,
    summary="Enrol a person aged 80+ in the old-age allowance",
)
async def enrol(
    body: AllowanceIn, request: Request, session: Session, principal: Annotated[Principal, require("eldercare:write")]
) -> AllowanceOut:
    a = await usecases.enrol(session, request.app.state.settings, id_number=body.id_number)
    await session.commit()
    return allowance_out(a, principal)


def _person_of(id_number: BindParameter[str]) -> ScalarSelect[uuid.UUID]:
    """The person id the people copy holds for an identity number (unique there): the allowance's key."""
    return select(people.c.person_id).where(people.c.id_number == id_number).scalar_subquery()


# One audited statement a list request (page, total, audit rows): shared.audit.AuditedList.
ALLOWANCE_LIST = AuditedList(
    Allowance.__table__,
    {
        # Through the people copy's unique identity number to the person, the allowances' key (no B-tree on
        # allowances.id_number: discovery would write one more per enrolment for this lookup alone).
        "id_number": lambda c, v: and_(c.person_id == _person_of(v), c.id_number == v),
        "status": lambda c, v: c.status == v,
        "division": lambda c, v: divisions.covers_clause(c.hukou_division, v),
    },
    order_by=("created_at", "id"),
)


class AllowanceQuery(BaseModel):
    """The query string of `GET /v1/allowances`, validated in one step (a parameter at a time cost a read ~10%)."""

    id_number: str | None = None
    status: str | None = Field(None, pattern="^(active|stopped)$")
    division: str | None = Field(None, max_length=12)
    limit: PageSize = 50
    offset: PageOffset = 0


@router.get("", response_model=Page[AllowanceOut], summary="List allowances (filter by person, status, division)")
async def list_allowances(
    request: Request,
    principal: Annotated[Principal, require("eldercare:read")],
    query: Annotated[AllowanceQuery, Query()],
) -> Page[AllowanceOut]:
    values = {
        "id_number": id_number_param(query.id_number),
        "status": query.status,
        "division": like_prefix(query.division) if query.division else None,
    }
    rows, total = await ALLOWANCE_LIST.page(request, principal, values, limit=query.limit, offset=query.offset)
    return Page(items=[allowance_out(a, principal) for a in rows], total=total, limit=query.limit, offset=query.offset)


@router.post(
    "/discover",
    response_model=DiscoverOut,
    summary="Enrol everyone eligible who was missed, raise brackets due, stop those no longer eligible (district)",
)
async def discover(
    body: DiscoverIn, session: Session, _: Annotated[Principal, require("eldercare:write")]
) -> DiscoverOut:
    """The safety net behind the events, over the whole district at once; a second run changes nothing."""
    guard(session, divisions.DISTRICT, field="as_of", detail="discovery runs over the whole district")
    try:
        counts = await discovery.discover(session, body.as_of)
    except NoStandard as exc:  # a date before the first brackets: nothing can be enrolled by rule
        raise Invalid(str(exc), field="as_of") from exc
    await session.commit()
    return DiscoverOut(as_of=body.as_of, enrolled=counts.enrolled, raised=counts.raised, stopped=counts.stopped)
