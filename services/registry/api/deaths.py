"""/v1/deaths: record a death; a second source confirms it, a different date is flagged; a registrar
confirms or revokes it."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, status

from services.registry import usecases
from services.registry.models import Death
from services.registry.schemas import (
    DeathConfirmIn,
    DeathDetailOut,
    DeathIn,
    DeathOut,
    DeathRevokeIn,
    Page,
)
from services.registry.usecases import deaths as death_cases
from shared.app import Session
from shared.audit import record_read
from shared.auth import Principal, require
from shared.paging import Limit, Offset

router = APIRouter(prefix="/v1/deaths", tags=["deaths"])

_STATUS = {"recorded": 201, "pending": 202, "review": 202}


def death_out(result: usecases.DeathResult) -> DeathOut:
    death = result.death
    dates = sorted({r.date_of_death for r in result.reports if death and r.date_of_death != death.date_of_death})
    return DeathOut(
        outcome=result.report.outcome,
        explanation=result.report.explanation,
        report_id=result.report.id,
        death_id=death.id if death else None,
        person_id=death.person_id if death else None,
        date_of_death=death.date_of_death if death else None,
        status=death.status if death else None,
        sources=sorted({r.source for r in result.reports if r.death_id}),
        conflicting_dates=dates,
        review_id=result.review_id,
    )


@router.post(
    "",
    response_model=DeathOut,
    status_code=status.HTTP_201_CREATED,
    summary="Report a death",
    responses={
        200: {"model": DeathOut, "description": "confirmed, duplicate or conflicting report of a death on file"},
        202: {
            "model": DeathOut,
            "description": "kept: the person is not registered yet, or the report waits for review",
        },
    },
)
async def report(
    body: DeathIn, response: Response, session: Session, principal: Annotated[Principal, require("registry:write")]
) -> DeathOut:
    result = await usecases.report_death(session, **body.model_dump(), channel="http")
    await session.commit()
    response.status_code = _STATUS.get(result.report.outcome, 200)
    return death_out(result)


async def _detail(session: Session, death: Death) -> DeathDetailOut:
    reports = await death_cases.death_reports(session, death.id)
    return DeathDetailOut(
        death_id=death.id,
        person_id=death.person_id,
        date_of_death=death.date_of_death,
        status=death.status,
        sources=sorted({r.source for r in reports}),
        reports=[
            {
                "report_id": str(r.id),
                "source": r.source,
                "reference": r.reference,
                "date_of_death": r.date_of_death.isoformat(),
                "channel": r.channel,
                "outcome": r.outcome,
                "received_at": r.received_at.isoformat(),
            }
            for r in reports
        ],
        confirmed_at=death.confirmed_at,
        confirmed_by=death.confirmed_by,
        revoked_at=death.revoked_at,
        revoked_reason=death.revoked_reason,
    )


@router.get("", response_model=Page[DeathDetailOut], summary="List deaths (e.g. conflicts awaiting a registrar)")
async def find(
    request: Request,
    session: Session,
    principal: Annotated[Principal, require("registry:read")],
    status: Annotated[Literal["reported", "confirmed", "conflict", "revoked"] | None, Query()] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[DeathDetailOut]:
    total, rows = await death_cases.list_deaths(session, status=status, limit=limit, offset=offset)
    items = [await _detail(session, d) for d, _ in rows]
    await record_read(session, principal, request, [p.id for _, p in rows])
    await session.commit()
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/{death_id}", response_model=DeathDetailOut, summary="One death with every report of it")
async def get(
    death_id: uuid.UUID, request: Request, session: Session, principal: Annotated[Principal, require("registry:read")]
) -> DeathDetailOut:
    death, person = await death_cases.get_death(session, death_id)
    out = await _detail(session, death)
    await record_read(session, principal, request, person.id)
    await session.commit()
    return out


@router.post(
    "/{death_id}/confirm",
    response_model=DeathDetailOut,
    summary="A registrar confirms the death (settling a conflict by naming the date)",
)
async def confirm(
    death_id: uuid.UUID,
    body: DeathConfirmIn,
    session: Session,
    principal: Annotated[Principal, require("registry:write")],
) -> DeathDetailOut:
    death = await death_cases.confirm_death(
        session, death_id, registrar=principal.sub, date_of_death=body.date_of_death, note=body.note
    )
    out = await _detail(session, death)
    await session.commit()
    return out


@router.post(
    "/{death_id}/revoke",
    response_model=DeathDetailOut,
    summary="Revoke a death recorded in error (registry.death.revoked)",
)
async def revoke(
    death_id: uuid.UUID,
    body: DeathRevokeIn,
    session: Session,
    principal: Annotated[Principal, require("registry:write")],
) -> DeathDetailOut:
    death = await death_cases.revoke_death(session, death_id, registrar=principal.sub, reason=body.reason)
    out = await _detail(session, death)
    await session.commit()
    return out
