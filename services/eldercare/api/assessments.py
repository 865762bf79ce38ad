"""/v1/assessments: GB/T 42195-2022 capacity assessments; the level is computed, never typed in."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy import func, select

from services.eldercare.care import assessments as usecases
from services.eldercare.domain.assessment import LEVEL_NAMES
from services.eldercare.models import Assessment
from services.eldercare.schemas import AssessmentIn, AssessmentOut, Page
from shared import divisions, identity
from shared.app import Session
from shared.audit import record_read
from shared.auth import Principal, require
from shared.fields import id_number_param
from shared.paging import Limit, Offset

router = APIRouter(prefix="/v1/assessments", tags=["assessments"])


def assessment_out(a: Assessment, principal: Principal) -> AssessmentOut:
    return AssessmentOut(
        assessment_id=a.id,
        person_id=a.person_id,
        id_number=a.id_number if principal.sees_pii else identity.mask(a.id_number),
        hukou_division=a.hukou_division,
        assessed_on=a.assessed_on,
        reason=a.reason,
        assessor=a.assessor,
        level=a.level,
        level_name=LEVEL_NAMES[a.level],
        total=a.total,
        subtotals=a.subtotals,
        preliminary_level=a.preliminary_level,
        explanation=a.explanation,
        scores=a.scores,
        coma=a.coma,
        dementia_or_mental_disorder=a.dementia_or_mental_disorder,
        risk_events_30d=a.risk_events_30d,
        current=a.superseded_by is None,
        superseded_by=a.superseded_by,
    )


@router.post(
    "",
    response_model=AssessmentOut,
    status_code=status.HTTP_201_CREATED,
    summary="Record an assessment; answers the computed level",
)
async def create(
    body: AssessmentIn,
    request: Request,
    response: Response,
    session: Session,
    principal: Annotated[Principal, require("eldercare:write")],
) -> AssessmentOut:
    a, created = await usecases.record(session, request.app.state.settings, body, assessor=principal.sub)
    await session.commit()
    if not created:
        response.status_code = status.HTTP_200_OK
    return assessment_out(a, principal)


@router.get(
    "",
    response_model=Page[AssessmentOut],
    summary="List assessments (by person, level, division; current only by default)",
)
async def list_assessments(
    request: Request,
    session: Session,
    principal: Annotated[Principal, require("eldercare:read")],
    id_number: str | None = None,
    level: Annotated[int | None, Query(ge=0, le=4)] = None,
    division: Annotated[str | None, Query(max_length=12)] = None,
    include_superseded: bool = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[AssessmentOut]:
    stmt = select(Assessment)
    if id_number is not None:
        stmt = stmt.where(Assessment.id_number == id_number_param(id_number))
    if level is not None:
        stmt = stmt.where(Assessment.level == level)
    if division:
        stmt = stmt.where(divisions.covers_clause(Assessment.hukou_division, division))
    if not include_superseded:
        stmt = stmt.where(Assessment.superseded_by.is_(None))
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    rows = (
        (
            await session.execute(
                stmt.order_by(Assessment.assessed_on.desc(), Assessment.created_at.desc(), Assessment.id)
                .limit(limit)
                .offset(offset)
            )
        )
        .scalars()
        .all()
    )
    await record_read(session, principal, request, [a.person_id for a in rows])
    await session.commit()
    return Page(items=[assessment_out(a, principal) for a in rows], total=total, limit=limit, offset=offset)


@router.get("/{assessment_id}", response_model=AssessmentOut, summary="One assessment with its scores and explanation")
async def get_one(
    assessment_id: uuid.UUID,
    request: Request,
    session: Session,
    principal: Annotated[Principal, require("eldercare:read")],
) -> AssessmentOut:
    a = await usecases.get(session, assessment_id)
    await record_read(session, principal, request, a.person_id)
    await session.commit()
    return assessment_out(a, principal)
