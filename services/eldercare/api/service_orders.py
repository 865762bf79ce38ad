"""/v1/service-orders: home-care orders for guaranteed elders, their delivery and cancellation."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, status
from sqlalchemy import func, select

from services.eldercare.care import homecare as usecases
from services.eldercare.models import ServiceOrder
from services.eldercare.schemas import CancelIn, DeliveryIn, Month, Page, ServiceOrderIn, ServiceOrderOut
from shared import identity
from shared.app import Session
from shared.audit import record_read
from shared.auth import Principal, require
from shared.fields import id_number_param
from shared.paging import Limit, Offset

router = APIRouter(prefix="/v1/service-orders", tags=["home care"])
Reader = Annotated[Principal, require("eldercare:read")]
Writer = Annotated[Principal, require("eldercare:write")]


def order_out(
    o: ServiceOrder, principal: Principal, budget: Decimal | None = None, committed: Decimal | None = None
) -> ServiceOrderOut:
    return ServiceOrderOut(
        order_id=o.id,
        person_id=o.person_id,
        id_number=o.id_number if principal.sees_pii else identity.mask(o.id_number),
        hukou_division=o.hukou_division,
        provider_id=o.provider_id,
        service=o.service,
        scheduled_on=o.scheduled_on,
        month=o.month,
        amount=o.amount,
        status=o.status,
        started_at=o.started_at,
        ended_at=o.ended_at,
        delivery_note=o.delivery_note,
        cancelled_on=o.cancelled_on,
        cancel_reason=o.cancel_reason,
        budget=budget,
        committed_in_month=committed,
    )


@router.post(
    "",
    response_model=ServiceOrderOut,
    status_code=status.HTTP_201_CREATED,
    summary="Order a service for a guaranteed elder (refused, with the figures, beyond the month's budget)",
)
async def place(body: ServiceOrderIn, request: Request, session: Session, principal: Writer) -> ServiceOrderOut:
    order, budget, committed = await usecases.place_order(session, request.app.state.settings, body)
    await session.commit()
    return order_out(order, principal, budget, committed)


@router.get("", response_model=Page[ServiceOrderOut], summary="List orders (by person, provider, month, status)")
async def list_orders(
    request: Request,
    session: Session,
    principal: Reader,
    id_number: str | None = None,
    provider_id: uuid.UUID | None = None,
    month: Annotated[Month | None, Query()] = None,
    status: Literal["open", "delivered", "cancelled"] | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[ServiceOrderOut]:
    stmt = select(ServiceOrder)
    if id_number is not None:
        stmt = stmt.where(ServiceOrder.id_number == id_number_param(id_number))
    if provider_id is not None:
        stmt = stmt.where(ServiceOrder.provider_id == provider_id)
    if month is not None:
        stmt = stmt.where(ServiceOrder.month == month)
    if status is not None:
        stmt = stmt.where(ServiceOrder.status == status)
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    rows = (
        (await session.execute(stmt.order_by(ServiceOrder.scheduled_on, ServiceOrder.id).limit(limit).offset(offset)))
        .scalars()
        .all()
    )
    await record_read(session, principal, request, [o.person_id for o in rows])
    await session.commit()
    return Page(items=[order_out(o, principal) for o in rows], total=total, limit=limit, offset=offset)


@router.get("/{order_id}", response_model=ServiceOrderOut, summary="One order")
async def get_one(order_id: uuid.UUID, request: Request, session: Session, principal: Reader) -> ServiceOrderOut:
    o = await usecases.get_order(session, order_id)
    await record_read(session, principal, request, o.person_id)
    await session.commit()
    return order_out(o, principal)


@router.post("/{order_id}/delivery", response_model=ServiceOrderOut, summary="Record the delivery (start and end time)")
async def deliver(order_id: uuid.UUID, body: DeliveryIn, session: Session, principal: Writer) -> ServiceOrderOut:
    o = await usecases.deliver(session, order_id, body)
    await session.commit()
    return order_out(o, principal)


@router.post(
    "/{order_id}/cancel", response_model=ServiceOrderOut, summary="Cancel an open order (frees its share of the budget)"
)
async def cancel(order_id: uuid.UUID, body: CancelIn, session: Session, principal: Writer) -> ServiceOrderOut:
    o = await usecases.cancel(session, order_id, body.reason)
    await session.commit()
    return order_out(o, principal)
