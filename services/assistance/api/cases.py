"""/v1/cases: enrol (stand-in for the application workflow), list with filters."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from sqlalchemy import func, select

from services.assistance import gradual_exit as gradual_exit_usecases
from services.assistance import usecases
from services.assistance.domain.cases import CaseStatus, Program
from services.assistance.models import Case
from services.assistance.schemas import CaseIn, CaseOut, GradualExitIn, Page
from shared import divisions, identity
from shared.app import Session
from shared.audit import record_read
from shared.auth import Principal, require
from shared.fields import id_number_param
from shared.paging import Limit, Offset

router = APIRouter(prefix="/v1/cases", tags=["cases"])


def case_out(case: Case, principal: Principal) -> CaseOut:
    return CaseOut(
        case_id=case.id,
        person_id=case.person_id,
        id_number=case.id_number if principal.sees_pii else identity.mask(case.id_number),
        program=case.program,
        monthly_amount=case.monthly_amount,
        status=case.status,
        status_reason=case.status_reason,
        status_changed_on=case.status_changed_on,
        started_on=case.started_on,
        hukou_division=case.hukou_division,
        gradual_exit_until=case.gradual_exit_until,
        transfer_pending=case.transfer_pending,
        paid_until=case.paid_until,
        review_due_on=case.review_due_on,
    )


@router.post("", response_model=CaseOut, status_code=status.HTTP_201_CREATED, summary="Enrol a person in a program")
async def enrol(
    body: CaseIn, request: Request, session: Session, principal: Annotated[Principal, require("assistance:write")]
) -> CaseOut:
    case = await usecases.enrol(
        session,
        request.app.state.settings,
        id_number=body.id_number,
        program=body.program.value,
        monthly_amount=body.monthly_amount,
    )
    await session.commit()
    return case_out(case, principal)


@router.get("", response_model=Page[CaseOut], summary="List cases (filter by person, program, status, division)")
async def list_cases(
    request: Request,
    session: Session,
    principal: Annotated[Principal, require("assistance:read")],
    id_number: str | None = None,
    program: Program | None = None,
    status: CaseStatus | None = None,
    division: Annotated[str | None, Query(max_length=12)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[CaseOut]:
    stmt = select(Case)
    if id_number is not None:
        stmt = stmt.where(Case.id_number == id_number_param(id_number))
    if program:
        stmt = stmt.where(Case.program == program.value)
    if status:
        stmt = stmt.where(Case.status == status.value)
    if division:
        stmt = stmt.where(divisions.covers_clause(Case.hukou_division, division))
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    rows = (await session.execute(stmt.order_by(Case.created_at, Case.id).limit(limit).offset(offset))).scalars().all()
    await record_read(session, principal, request, sorted({c.person_id for c in rows}))
    await session.commit()
    return Page(items=[case_out(c, principal) for c in rows], total=total, limit=limit, offset=offset)


@router.post(
    "/{case_id}/gradual-exit",
    response_model=CaseOut,
    summary="渐退: income above the standard; paid on for the configured months, then ends",
)
async def gradual_exit(
    case_id: uuid.UUID,
    body: GradualExitIn,
    session: Session,
    principal: Annotated[Principal, require("assistance:write")],
) -> CaseOut:
    case = await gradual_exit_usecases.start(session, case_id, body.reason)
    await session.commit()
    return case_out(case, principal)
