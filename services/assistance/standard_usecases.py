"""Use cases of the standards (救助标准): read the figures in force, add a row, audit the change.

The caller commits. Standards are district policy: only district staff (a
token for the whole district, 340207) add rows; each addition is audited with
the value it replaces on that date.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.assistance.domain.standards import FIGURES, StandardRow, Standards, check_edit, in_force
from services.assistance.models import Standard, StandardChange
from shared import divisions
from shared.auth import Principal
from shared.db import guard
from shared.problems import Invalid


async def rows(session: AsyncSession, on: date) -> list[StandardRow]:
    """Every row effective on or before `on` (a few dozen: read whole)."""
    found = await session.execute(select(Standard).where(Standard.effective_from <= on))
    return [StandardRow(s.key, s.value, s.effective_from, s.source) for s in found.scalars()]


async def load(session: AsyncSession, on: date) -> Standards:
    """The figures in force on `on`, for a computation that must name what it used."""
    return Standards(await rows(session, on), on)


async def listing(session: AsyncSession, on: date) -> list[StandardRow]:
    return sorted(in_force(await rows(session, on), on).values(), key=lambda r: r.key)


async def add(
    session: AsyncSession, principal: Principal, *, key: str, value: Decimal, effective_from: date, source: str
) -> tuple[Standard, StandardChange]:
    """Add (or correct) the row of `key` effective from a date, recording who changed what."""
    guard(session, divisions.DISTRICT, field="key", detail="the standards are the district's: none in your division")
    why_not = check_edit(key, value)
    if why_not:
        raise Invalid(why_not, field="value" if key in FIGURES else "key")
    before = in_force(await rows(session, effective_from), effective_from).get(key)
    same_day = (
        await session.execute(
            select(Standard).where(Standard.key == key, Standard.effective_from == effective_from).with_for_update()
        )
    ).scalar_one_or_none()
    if same_day is None:
        same_day = Standard(
            key=key, value=value, effective_from=effective_from, source=source, created_by=principal.sub
        )
        session.add(same_day)
    else:
        same_day.value, same_day.source, same_day.created_by = value, source, principal.sub
    change = StandardChange(
        key=key,
        effective_from=effective_from,
        old_value=before.value if before else None,
        new_value=value,
        source=source,
        changed_by=principal.sub,
        changed_division=principal.division,
    )
    session.add(change)
    await session.flush()
    return same_day, change


async def changes(session: AsyncSession, key: str | None, limit: int, offset: int) -> list[StandardChange]:
    stmt = select(StandardChange).order_by(StandardChange.changed_at.desc(), StandardChange.id)
    if key:
        stmt = stmt.where(StandardChange.key == key)
    return list((await session.execute(stmt.limit(limit).offset(offset))).scalars())
