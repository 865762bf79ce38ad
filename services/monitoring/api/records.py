"""/v1/records and /v1/alerts: the low-income population and its warnings."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy import func, select

from services.monitoring import usecases
from services.monitoring.models import Alert, Record
from services.monitoring.schemas import AlertOut, AssignIn, Page, RecordOut, ResolveIn
from shared import divisions, identity
from shared.app import Session
from shared.audit import record_read
from shared.auth import Principal, require
from shared.paging import Limit, Offset
from shared.problems import Invalid

router = APIRouter(prefix="/v1", tags=["records", "alerts"])


def _id_filter(column, id_number: str | None):  # noqa: ANN001, ANN202
    if id_number is None:
        return None
    try:
        return column == identity.parse(id_number).value
    except identity.InvalidIdNumber as exc:
        raise Invalid(f"invalid identity number: {exc}", field="id_number") from exc


def alert_out(a: Alert, principal: Principal) -> AlertOut:
    return AlertOut(
        alert_id=a.id, kind=a.kind, status=a.status, person_id=a.person_id, id_number=_show(a.id_number, principal),
        hukou_division=a.hukou_division, summary=a.summary, benefits=a.benefits, details=a.details,
        raised_at=a.raised_at, assignee=a.assignee, resolved_at=a.resolved_at, resolution=a.resolution,
    )


def _show(value: str | None, principal: Principal) -> str | None:
    return value if value is None or principal.sees_pii else identity.mask(value)


@router.get("/records", response_model=Page[RecordOut], summary="The low-income population (filter by person, category, status, division)")
async def records(
    request: Request,
    session: Session,
    principal: Annotated[Principal, require("monitoring:read")],
    id_number: str | None = None,
    category: str | None = None,
    status: str | None = None,
    division: Annotated[str | None, Query(max_length=12)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[RecordOut]:
    stmt = select(Record)
    if (cond := _id_filter(Record.id_number, id_number)) is not None:
        stmt = stmt.where(cond)
    if category:
        stmt = stmt.where(Record.categories.contains([category]))
    if status:
        stmt = stmt.where(Record.status == status)
    if division:
        stmt = stmt.where(divisions.covers_clause(Record.hukou_division, division))
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    rows = (await session.execute(stmt.order_by(Record.created_at, Record.id).limit(limit).offset(offset))).scalars().all()
    await record_read(session, principal, request, [r.person_id for r in rows])
    await session.commit()
    return Page(
        items=[
            RecordOut(
                record_id=r.id, person_id=r.person_id, id_number=_show(r.id_number, principal) or "", name=r.name,
                hukou_division=r.hukou_division, status=r.status, date_of_death=r.date_of_death,
                categories=r.categories, programs=r.programs, updated_at=r.updated_at,
            )
            for r in rows
        ],
        total=total, limit=limit, offset=offset,
    )


@router.get("/alerts", response_model=Page[AlertOut], summary="Early warnings (filter by person, kind, status, division)")
async def alerts(
    request: Request,
    session: Session,
    principal: Annotated[Principal, require("monitoring:read")],
    id_number: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    division: Annotated[str | None, Query(max_length=12)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[AlertOut]:
    stmt = select(Alert)
    if (cond := _id_filter(Alert.id_number, id_number)) is not None:
        stmt = stmt.where(cond)
    if kind:
        stmt = stmt.where(Alert.kind == kind)
    if status:
        stmt = stmt.where(Alert.status == status)
    if division:
        stmt = stmt.where(divisions.covers_clause(Alert.hukou_division, division))
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    rows = (await session.execute(stmt.order_by(Alert.raised_at, Alert.id).limit(limit).offset(offset))).scalars().all()
    await record_read(session, principal, request, sorted({a.person_id for a in rows if a.person_id}))
    await session.commit()
    return Page(
        items=[
            alert_out(a, principal)
            for a in rows
        ],
        total=total, limit=limit, offset=offset,
    )


@router.post("/alerts/{alert_id}/assign", response_model=AlertOut, summary="Assign an alert to a caseworker")
async def assign(
    alert_id: uuid.UUID, body: AssignIn, request: Request, session: Session, principal: Annotated[Principal, require("monitoring:write")]
) -> AlertOut:
    alert = await usecases.assign_alert(session, alert_id, assignee=body.assignee, by=principal.sub)
    await record_read(session, principal, request, alert.person_id, action="write")
    await session.commit()
    return alert_out(alert, principal)


@router.post("/alerts/{alert_id}/resolve", response_model=AlertOut, summary="Resolve an alert, saying what was done")
async def resolve(
    alert_id: uuid.UUID, body: ResolveIn, request: Request, session: Session, principal: Annotated[Principal, require("monitoring:write")]
) -> AlertOut:
    alert = await usecases.resolve_alert(session, alert_id, resolution=body.resolution, by=principal.sub)
    await record_read(session, principal, request, alert.person_id, action="write")
    await session.commit()
    return alert_out(alert, principal)
