"""Overpayments (多发): allowance paid for months after a confirmed death, tracked until recovered or written off.

Detection is set-based, in the reaction to a confirmed death (deaths.py). Here:
the listing and the two ways an overpayment is closed, each recording who and when.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.eldercare.models import Overpayment
from shared.auth import Principal
from shared.problems import Conflict, NotFound

OPEN, RECOVERED, WRITTEN_OFF = "open", "recovered", "written_off"


async def listing(
    session: AsyncSession, *, id_number: str | None, status: str | None, limit: int, offset: int
) -> tuple[list[Overpayment], int]:
    stmt = select(Overpayment)
    if id_number is not None:
        stmt = stmt.where(Overpayment.id_number == id_number)
    if status is not None:
        stmt = stmt.where(Overpayment.status == status)
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    rows = await session.execute(stmt.order_by(Overpayment.detected_at, Overpayment.id).limit(limit).offset(offset))
    return list(rows.scalars()), total


async def resolve(
    session: AsyncSession, principal: Principal, overpayment_id: uuid.UUID, outcome: str, note: str | None
) -> Overpayment:
    """Close an open overpayment as recovered or written off; a closed one stays as it was closed."""
    found = await session.execute(select(Overpayment).where(Overpayment.id == overpayment_id).with_for_update())
    overpayment = found.scalar_one_or_none()
    if overpayment is None:  # also one of another division: the session's filter hides it
        raise NotFound("no such overpayment", field="overpayment_id")
    if overpayment.status != OPEN:
        raise Conflict(f"the overpayment is already {overpayment.status}", field="overpayment_id")
    overpayment.status, overpayment.resolution_note = outcome, note
    overpayment.resolved_by, overpayment.resolved_at = principal.sub, datetime.now(UTC)
    return overpayment
