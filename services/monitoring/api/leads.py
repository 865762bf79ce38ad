"""/v1/leads: proactive discovery (主动发现), the persons whose data say a program may apply, for assistance.

Readable with `monitoring:read` or `assistance:read`: the caseworkers who
turn a lead into an application are assistance's. A lead carries the person,
the program to assess first and the figures, so the application is filled in
from it; it closes itself when a case opens.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import Depends, Query, Request
from fastapi.routing import APIRouter
from sqlalchemy import func, select

from services.monitoring.domain import leads as discovery
from services.monitoring.models import Lead
from services.monitoring.schemas import LeadOut, Page
from shared import divisions, identity
from shared.app import Session
from shared.audit import record_read
from shared.auth import Principal, current_principal
from shared.fields import id_number_param
from shared.paging import Limit, Offset
from shared.problems import Forbidden, NotFound

router = APIRouter(prefix="/v1/leads", tags=["leads"])
READ_SCOPES = ("monitoring:read", "assistance:read")


async def lead_reader(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if not any(principal.has(scope) for scope in READ_SCOPES):
        raise Forbidden(f"one of the scopes {', '.join(READ_SCOPES)} is required")
    return principal


def lead_out(x: Lead, principal: Principal) -> LeadOut:
    id_number = x.id_number if principal.sees_pii else identity.mask(x.id_number)
    return LeadOut(
        lead_id=x.id, person_id=x.person_id, id_number=id_number,
        hukou_division=x.hukou_division, reason=x.reason, program=x.program, summary=x.summary, figures=x.figures,
        application=discovery.application_draft(x.program, id_number, x.figures),
        status=x.status, raised_at=x.raised_at, closed_at=x.closed_at, closed_reason=x.closed_reason,
    )  # fmt: skip


@router.get("", response_model=Page[LeadOut], summary="Leads of your division (filter by status, reason, program)")
async def leads(
    request: Request,
    session: Session,
    principal: Annotated[Principal, Depends(lead_reader)],
    id_number: str | None = None,
    status: Literal["open", "closed"] | None = None,
    reason: Annotated[str | None, Query(max_length=50)] = None,
    program: Annotated[str | None, Query(max_length=50)] = None,
    division: Annotated[str | None, Query(max_length=12)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[LeadOut]:
    stmt = select(Lead)
    if id_number is not None:
        stmt = stmt.where(Lead.id_number == id_number_param(id_number))
    for column, value in ((Lead.status, status), (Lead.reason, reason), (Lead.program, program)):
        if value:
            stmt = stmt.where(column == value)
    if division:
        stmt = stmt.where(divisions.covers_clause(Lead.hukou_division, division))
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    page = stmt.order_by(Lead.raised_at, Lead.id).limit(limit).offset(offset)
    rows = (await session.execute(page)).scalars().all()
    await record_read(session, principal, request, sorted({x.person_id for x in rows}))
    await session.commit()
    return Page(items=[lead_out(x, principal) for x in rows], total=total, limit=limit, offset=offset)


@router.get("/{lead_id}", response_model=LeadOut, summary="A lead with the application it pre-fills")
async def lead(
    lead_id: uuid.UUID, request: Request, session: Session, principal: Annotated[Principal, Depends(lead_reader)]
) -> LeadOut:
    found = (await session.execute(select(Lead).where(Lead.id == lead_id))).scalar_one_or_none()
    if found is None:
        raise NotFound("no such lead in your division", field="lead_id")
    await record_read(session, principal, request, found.person_id)
    await session.commit()
    return lead_out(found, principal)
