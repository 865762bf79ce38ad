"""Home care for guaranteed elders: providers, orders within the month's budget, deliveries, settlements."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.eldercare.care.common import flush_or_conflict, person_in_scope
from services.eldercare.domain import homecare as rules
from services.eldercare.domain.allowance import age_on
from services.eldercare.models import Guarantee, HomeCareBudget, Provider, ServiceOrder, Settlement
from services.eldercare.schemas import DeliveryIn, ProviderIn, ServiceOrderIn
from shared import clock, divisions
from shared import event_types as ev
from shared.db import guard, unscoped
from shared.events import publish
from shared.problems import Conflict, Invalid, NotFound
from shared.settings import Settings

LOCAL = ZoneInfo("Asia/Shanghai")
ZERO = Decimal("0.00")


async def create_provider(session: AsyncSession, body: ProviderIn) -> Provider:
    # Like settlements: providers contract with the district.
    guard(session, divisions.DISTRICT, field="name", detail="providers are registered by the district")
    provider = Provider(
        name=body.name, credit_code=body.credit_code, services=sorted(set(body.services)), phone=body.phone
    )
    session.add(provider)
    await flush_or_conflict(
        session, {"uq_providers_credit_code": Conflict("a provider with this credit code exists", field="credit_code")}
    )
    return provider


async def get_provider(
    session: AsyncSession, provider_id: uuid.UUID, *, field: str = "provider_id", lock: bool = False
) -> Provider:
    stmt = select(Provider).where(Provider.id == provider_id)
    found = (await session.execute(stmt.with_for_update() if lock else stmt)).scalar_one_or_none()
    if found is None:
        raise NotFound("no such provider", field=field)
    return found


async def budget_for(session: AsyncSession, month: str) -> Decimal:
    rows = (await session.execute(select(HomeCareBudget))).scalars().all()
    budget = rules.budget_on([rules.Budget(r.effective_from, r.monthly_amount) for r in rows], rules.first_day(month))
    if budget is None:
        raise Invalid(f"no home-care budget is in force for {month}", field="scheduled_on")
    return budget.monthly_amount


async def committed(session: AsyncSession, person_id: uuid.UUID, month: str) -> Decimal:
    """What the elder's orders of the month already hold of the budget (every division: the budget is the person's)."""
    with unscoped(session):
        total = await session.execute(
            select(func.coalesce(func.sum(ServiceOrder.amount), ZERO)).where(
                ServiceOrder.person_id == person_id, ServiceOrder.month == month, ServiceOrder.status != "cancelled"
            )
        )
    return total.scalar_one()


async def is_guaranteed(session: AsyncSession, person_id: uuid.UUID) -> bool:
    with unscoped(session):  # the person was found in the caller's division; the case row may predate a move
        found = await session.execute(
            select(Guarantee.case_id)
            .where(
                Guarantee.person_id == person_id,
                Guarantee.status == "active",
                Guarantee.program.in_(rules.GUARANTEE_PROGRAMS),
            )
            .limit(1)
        )
    return found.scalar_one_or_none() is not None


async def _lock_budget(session: AsyncSession, person_id: uuid.UUID, month: str) -> None:
    """Serialise orders of one elder and month, so two at once cannot both fit the last of the budget."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": f"homecare:{person_id}:{month}"}
    )


async def place_order(
    session: AsyncSession, settings: Settings, body: ServiceOrderIn
) -> tuple[ServiceOrder, Decimal, Decimal]:
    """An order for a guaranteed elder, refused with the figures if it would exceed the month's budget."""
    provider = await get_provider(session, body.provider_id)
    if body.service not in provider.services:
        raise Invalid(
            f"the provider does not offer {body.service} (offers {', '.join(provider.services)})", field="service"
        )
    person = await person_in_scope(session, settings, body.id_number)
    if person.birth_date is not None and age_on(person.birth_date, body.scheduled_on) < rules.MIN_AGE:
        raise Invalid(f"home care is for elders aged {rules.MIN_AGE}+", field="id_number")
    if not await is_guaranteed(session, person.person_id):
        raise Invalid("not a guaranteed elder: no active dibao or tekun case", field="id_number")
    month = rules.month_of(body.scheduled_on)
    budget = await budget_for(session, month)
    await _lock_budget(session, person.person_id, month)
    held = await committed(session, person.person_id, month)
    if (why := rules.refusal(budget, held, body.amount, month)) is not None:
        raise Invalid(why, field="amount")
    order = ServiceOrder(
        person_id=person.person_id,
        id_number=person.id_number,
        hukou_division=person.hukou_division,
        provider_id=provider.id,
        service=body.service,
        scheduled_on=body.scheduled_on,
        month=month,
        amount=body.amount,
        status="open",
    )
    session.add(order)
    await session.flush()
    return order, budget, held + body.amount


async def get_order(session: AsyncSession, order_id: uuid.UUID, *, lock: bool = False) -> ServiceOrder:
    stmt = select(ServiceOrder).where(ServiceOrder.id == order_id)
    found = (await session.execute(stmt.with_for_update() if lock else stmt)).scalar_one_or_none()
    if found is None:
        raise NotFound("no such service order", field="order_id")
    return found


async def deliver(session: AsyncSession, order_id: uuid.UUID, body: DeliveryIn) -> ServiceOrder:
    """Record the visit's start and end; publishes eldercare.service.delivered."""
    order = await get_order(session, order_id, lock=True)
    if order.status != "open":
        raise Conflict(f"the order is {order.status}", field="order_id")
    if body.ended_at <= body.started_at:
        raise Invalid("the service ends before it starts", field="ended_at")
    if body.ended_at > datetime.now(UTC):
        raise Invalid("the end of the service is in the future", field="ended_at")
    order.status = "delivered"
    order.started_at = body.started_at
    order.ended_at = body.ended_at
    order.delivery_note = body.note
    await session.flush()
    await publish(
        session,
        ev.ServiceDelivered(
            person_id=order.person_id,
            id_number=order.id_number,
            hukou_division=order.hukou_division,
            order_id=order.id,
            service=order.service,
            delivered_on=body.started_at.astimezone(LOCAL).date(),
            amount=order.amount,
        ),
    )
    return order


async def cancel(session: AsyncSession, order_id: uuid.UUID, reason: str) -> ServiceOrder:
    order = await get_order(session, order_id, lock=True)
    if order.status != "open":
        raise Conflict(f"the order is {order.status}", field="order_id")
    order.status = "cancelled"
    order.cancelled_on = clock.today()
    order.cancel_reason = reason
    return order


async def cancel_open_orders(
    session: AsyncSession, person_ids: list[uuid.UUID], on: date, reason: str = "death"
) -> int:
    """Cancel every open order of these persons (set-based: one UPDATE, for the death handler); returns how many."""
    table = ServiceOrder.__table__
    result = await session.execute(
        update(table)
        .where(table.c.person_id.in_(person_ids), table.c.status == "open")
        .values(status="cancelled", cancelled_on=on, cancel_reason=reason)
    )
    return result.rowcount or 0  # type: ignore[attr-defined]


async def follow_deaths(session: AsyncSession, dead: list[uuid.UUID], revoked: list[uuid.UUID], on: date) -> int:
    """Open orders of the dead cancelled, orders a revoked death cancelled open again: one UPDATE for both.

    The reopened were committed against the month's budget before the death and
    nothing else could be ordered for the person while they were recorded dead,
    so reopening them restores the plan as it stood: staff deliver or cancel each
    as any open order (one whose day has passed is seen as overdue, not lost).
    """
    t = ServiceOrder.__table__
    dies = t.c.person_id.in_(dead)
    result = await session.execute(
        update(t)
        .where(
            or_(
                and_(dies, t.c.status == "open"),
                and_(t.c.person_id.in_(revoked), t.c.status == "cancelled", t.c.cancel_reason == "death"),
            )
        )
        .values(
            status=case((dies, "cancelled"), else_="open"),
            cancelled_on=case((dies, on), else_=None),
            cancel_reason=case((dies, "death"), else_=None),
        )
    )
    return result.rowcount or 0  # type: ignore[attr-defined]


async def settle(session: AsyncSession, provider_id: uuid.UUID, month: str) -> tuple[Settlement, bool]:
    """The provider's settlement of a month (the same one again if asked twice); (settlement, created).

    Delivered orders not yet settled are paid in delivery order while the
    elder's budget for the month allows, counting what other providers'
    settlements already paid them; an order that would exceed it is refused
    with the reason and stays unsettled. District-wide work: a town's staff
    get 404.
    """
    guard(session, divisions.DISTRICT, field="provider_id", detail="no such provider")
    await get_provider(session, provider_id, lock=True)  # one settlement of a provider at a time
    existing = (
        await session.execute(
            select(Settlement).where(Settlement.provider_id == provider_id, Settlement.month == month)
        )
    ).scalar_one_or_none()
    if existing is not None:
        return existing, False
    budget = await budget_for(session, month)
    orders = (
        (
            await session.execute(
                select(ServiceOrder)
                .where(
                    ServiceOrder.provider_id == provider_id,
                    ServiceOrder.month == month,
                    ServiceOrder.status == "delivered",
                    ServiceOrder.settlement_id.is_(None),
                )
                .order_by(ServiceOrder.started_at, ServiceOrder.id)
                .with_for_update()
            )
        )
        .scalars()
        .all()
    )
    paid = await _settled_by_person(session, month, {o.person_id for o in orders})
    settlement = Settlement(
        id=uuid.uuid4(), provider_id=provider_id, month=month, total=ZERO, orders=0, elders=0, refused=[]
    )
    refused: list[dict[str, str]] = []
    elders: set[uuid.UUID] = set()
    for order in orders:
        held = paid.get(order.person_id, ZERO)
        if (why := rules.refusal(budget, held, order.amount, month)) is not None:
            refused.append(
                {
                    "order_id": str(order.id),
                    "person_id": str(order.person_id),
                    "amount": f"{order.amount:.2f}",
                    "reason": why,
                }
            )
            continue
        paid[order.person_id] = held + order.amount
        order.settlement_id = settlement.id
        settlement.total += order.amount
        settlement.orders += 1
        elders.add(order.person_id)
    settlement.elders = len(elders)
    settlement.refused = refused
    session.add(settlement)
    await session.flush()
    return settlement, True


async def _settled_by_person(session: AsyncSession, month: str, person_ids: set[uuid.UUID]) -> dict[uuid.UUID, Decimal]:
    """What settlements (of any provider) already paid each elder for the month."""
    if not person_ids:
        return {}
    rows = await session.execute(
        select(ServiceOrder.person_id, func.sum(ServiceOrder.amount))
        .where(
            ServiceOrder.person_id.in_(person_ids), ServiceOrder.month == month, ServiceOrder.settlement_id.is_not(None)
        )
        .group_by(ServiceOrder.person_id)
    )
    return dict(rows.all())
