"""/v1/reconciliations: the records compared with the registry, assistance and eldercare now, drift repaired."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Request, status
from sqlalchemy import func, select

from services.monitoring import reconciliation
from services.monitoring.models import Reconciliation
from services.monitoring.schemas import Page, ReconciliationOut
from shared.app import Session
from shared.auth import Principal, require
from shared.paging import Limit, Offset
from shared.problems import NotFound

router = APIRouter(prefix="/v1/reconciliations", tags=["reconciliations"])


def reconciliation_out(r: Reconciliation) -> ReconciliationOut:
    return ReconciliationOut(
        id=r.id, hukou_division=r.hukou_division, status=r.status, started_at=r.started_at,
        finished_at=r.finished_at, counts=r.counts, repairs=r.repairs, error=r.error,
    )  # fmt: skip


@router.post(
    "",
    response_model=ReconciliationOut,
    status_code=status.HTTP_201_CREATED,
    summary="Compare your division's records with the registry, assistance and eldercare now; repair and report drift",
)
async def reconcile(
    request: Request, session: Session, principal: Annotated[Principal, require("monitoring:write")]
) -> ReconciliationOut:
    row = await reconciliation.run(session, request.app.state.settings, principal.division, principal.sub)
    return reconciliation_out(row)


@router.get("", response_model=Page[ReconciliationOut], summary="Reconciliations of your division, the latest first")
async def reconciliations(
    session: Session,
    principal: Annotated[Principal, require("monitoring:read")],
    limit: Limit = 20,
    offset: Offset = 0,
) -> Page[ReconciliationOut]:
    total = (await session.execute(select(func.count()).select_from(Reconciliation))).scalar_one()
    stmt = select(Reconciliation).order_by(Reconciliation.started_at.desc()).limit(limit).offset(offset)
    rows = (await session.execute(stmt)).scalars()
    return Page(items=[reconciliation_out(r) for r in rows], total=total, limit=limit, offset=offset)


@router.get("/{reconciliation_id}", response_model=ReconciliationOut, summary="A reconciliation and its repairs")
async def get(
    reconciliation_id: uuid.UUID, session: Session, principal: Annotated[Principal, require("monitoring:read")]
) -> ReconciliationOut:
    stmt = select(Reconciliation).where(Reconciliation.id == reconciliation_id)
    row = (await session.execute(stmt)).scalar_one_or_none()
    if row is None:
        raise NotFound("no such reconciliation in your division", field="reconciliation_id")
    return reconciliation_out(row)
