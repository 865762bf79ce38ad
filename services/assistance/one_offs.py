"""One-off subsidies (一次性补贴) as district decisions, paid in their month's payroll.

A one-off subsidy is not an amount typed into cases: it is a decision of the
district (a program, a month, an amount per person, and the decision's
reference), recorded once and audited by who recorded it. The payroll of that
month adds a `one_off` line beside every paid regular line of the program,
explained by the decision, so the month's totals by program include it.

A decision is for a month whose payroll is not built yet: a payroll is never
changed after it is built, so a decision coming too late is refused (409),
and a second decision for the same program and month is a conflict too.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.assistance.models import OneOffSubsidy, Payroll
from shared import divisions, locks
from shared.auth import Principal
from shared.db import guard
from shared.problems import Conflict


async def decide(
    session: AsyncSession, principal: Principal, *, program: str, month: date, amount: Decimal, decision: str
) -> OneOffSubsidy:
    """Record the district's decision; refused once the month's payroll is built or the month already has one."""
    guard(session, divisions.DISTRICT, field="program", detail="one-off subsidies are decided by the district")
    await locks.hold(session, "payroll", month.isoformat())  # a payroll built at this moment sees it or refuses it
    built = (await session.execute(select(Payroll.id).where(Payroll.month == month))).scalar_one_or_none()
    if built is not None:
        raise Conflict(
            f"the payroll of {month:%Y-%m} is already built ({built}): decide for a later month", field="month"
        )
    inserted = await session.execute(
        pg_insert(OneOffSubsidy)
        .values(
            id=uuid.uuid4(),
            program=program,
            month=month,
            amount_per_person=amount,
            decision=decision,
            decided_by=principal.sub,
        )
        .on_conflict_do_nothing(index_elements=["program", "month"])
        .returning(OneOffSubsidy.id)
    )
    new_id = inserted.scalar_one_or_none()
    if new_id is None:
        raise Conflict(f"a one-off {program} subsidy is already decided for {month:%Y-%m}", field="month")
    return await session.get_one(OneOffSubsidy, new_id)


async def listing(
    session: AsyncSession, *, month: date | None, program: str | None, limit: int, offset: int
) -> list[OneOffSubsidy]:
    stmt = select(OneOffSubsidy).order_by(OneOffSubsidy.month, OneOffSubsidy.program)
    if month is not None:
        stmt = stmt.where(OneOffSubsidy.month == month)
    if program is not None:
        stmt = stmt.where(OneOffSubsidy.program == program)
    return list((await session.execute(stmt.limit(limit).offset(offset))).scalars())
