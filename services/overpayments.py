"""Overpayments (多发), as assistance and eldercare both keep them: money paid for months after a confirmed death.

Each service detects its own, set-based, in its reaction to a confirmed death,
into a table of its own with the same columns (id, person, identity number,
amount, months, reason, status, who closed it and when). What is the same in
both lives here: the listing, the two ways an open overpayment is closed
(recovered, written off) with who and when, the `<service>.overpayment.resolved` event that tells monitoring (in
the same transaction), and the `/v1/overpayments` router.

No `from __future__ import annotations` here: the router's endpoints are built
in a function, and FastAPI must read their annotations (local types) as objects.
"""

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared import clock, identity
from shared import event_types as ev
from shared.app import Session
from shared.audit import record_read
from shared.auth import Principal, require
from shared.events import publish
from shared.fields import id_number_param
from shared.paging import Limit, Offset, Page
from shared.problems import Conflict, NotFound

OPEN, RECOVERED, WRITTEN_OFF = "open", "recovered", "written_off"
ALLOWANCE = "old_age_allowance"  # eldercare's overpayments name no program: they are all of the allowance
RESOLVED: dict[str, type[ev.OverpaymentResolved]] = {
    "assistance": ev.AssistanceOverpaymentResolved,
    "eldercare": ev.EldercareOverpaymentResolved,
}


async def page_of(
    session: AsyncSession, model: Any, *, id_number: str | None, status: str | None, limit: int, offset: int
) -> tuple[list[Any], int]:
    """A page of the service's overpayments (the session's division filter applies), oldest first."""
    stmt = select(model)
    if id_number is not None:
        stmt = stmt.where(model.id_number == id_number)
    if status is not None:
        stmt = stmt.where(model.status == status)
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    rows = await session.execute(stmt.order_by(model.detected_at, model.id).limit(limit).offset(offset))
    return list(rows.scalars()), total


async def resolve(
    session: AsyncSession,
    service: str,
    model: Any,
    principal: Principal,
    overpayment_id: uuid.UUID,
    outcome: str,
    note: str | None,
) -> Any:
    """Close an open overpayment as recovered or written off, announced; a closed one stays as it was closed."""
    found = await session.execute(select(model).where(model.id == overpayment_id).with_for_update())
    overpayment = found.scalar_one_or_none()
    if overpayment is None:  # also one of another division: the session's filter hides it
        raise NotFound("no such overpayment", field="overpayment_id")
    if overpayment.status != OPEN:
        raise Conflict(f"the overpayment is already {overpayment.status}", field="overpayment_id")
    overpayment.status, overpayment.resolution_note = outcome, note
    overpayment.resolved_by, overpayment.resolved_at = principal.sub, datetime.now(UTC)
    await publish(session, resolved_event(service, overpayment))
    return overpayment


def resolved_event(service: str, overpayment: Any) -> ev.OverpaymentResolved:
    """The closing as its service announces it: monitoring stops counting the amount as owed, may close its alert."""
    return RESOLVED[service](
        person_id=overpayment.person_id, id_number=overpayment.id_number,
        hukou_division=overpayment.hukou_division, overpayment_id=overpayment.id,
        program=getattr(overpayment, "program", ALLOWANCE), amount=overpayment.amount, outcome=overpayment.status,
        resolved_on=clock.today(), resolved_by=overpayment.resolved_by,
    )  # fmt: skip


def router(service: str, model: Any, out: type[BaseModel], resolution: type[BaseModel], what: str) -> APIRouter:
    """`/v1/overpayments` of one service: list (audited), recover, write off; `what` says what was overpaid."""
    api = APIRouter(prefix="/v1/overpayments", tags=["overpayments"])
    reader = Annotated[Principal, require(f"{service}:read")]
    writer = Annotated[Principal, require(f"{service}:write")]

    def shown(o: Any, principal: Principal) -> BaseModel:
        item = out.model_validate(o, from_attributes=True)
        return item if principal.sees_pii else item.model_copy(update={"id_number": identity.mask(o.id_number)})

    @api.get("", response_model=Page[out], summary=f"Overpayments of {what} (filter by person, status)")  # type: ignore[valid-type]
    async def listing(
        request: Request,
        session: Session,
        principal: reader,
        id_number: Annotated[str | None, Query(max_length=18)] = None,
        status: Literal["open", "recovered", "written_off"] | None = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[Any]:
        number = id_number_param(id_number)
        rows, total = await page_of(session, model, id_number=number, status=status, limit=limit, offset=offset)
        await record_read(session, principal, request, sorted({r.person_id for r in rows}))
        await session.commit()
        return Page(items=[shown(r, principal) for r in rows], total=total, limit=limit, offset=offset)

    async def close(
        overpayment_id: uuid.UUID, session: AsyncSession, principal: Principal, outcome: str, note: str | None
    ) -> BaseModel:
        o = await resolve(session, service, model, principal, overpayment_id, outcome, note)
        await session.commit()
        return shown(o, principal)

    @api.post("/{overpayment_id}/recover", response_model=out, summary="Recorded as recovered (who, when)")
    async def recover(
        overpayment_id: uuid.UUID,
        session: Session,
        principal: writer,
        body: resolution | None = None,  # type: ignore[valid-type]
    ) -> Any:
        return await close(overpayment_id, session, principal, RECOVERED, body.note if body else None)

    @api.post("/{overpayment_id}/write-off", response_model=out, summary="Written off (who, when, why)")
    async def write_off(
        overpayment_id: uuid.UUID,
        session: Session,
        principal: writer,
        body: resolution | None = None,  # type: ignore[valid-type]
    ) -> Any:
        return await close(overpayment_id, session, principal, WRITTEN_OFF, body.note if body else None)

    return api
