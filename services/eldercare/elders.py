"""The elders register: every resident aged 60+ with registration in the district, found without asking.

Read from the people copy kept from `registry.events.v1` (registered, moved in
and out, died, milestones), with what eldercare knows beside it: an active
dibao or tekun case (guarantees.py), the level of the current capacity
assessment, the allowance, and whether they live alone (households.py: from
the registry's household changes, null when no household of theirs is known).

`people` is a plain table, outside the ORM's division filter: the caller's
division is applied here, with the one rule (divisions.covers_clause).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.eldercare import households
from services.eldercare.care.rosters import born_by
from services.eldercare.models import Allowance, Assessment, Guarantee
from shared import divisions
from shared.db import scope_of
from shared.people import people

ELDER_AGE = 60


@dataclass(frozen=True)
class Filters:
    division: str | None = None
    age_min: int = ELDER_AGE
    age_max: int | None = None
    care_level: int | None = None
    guarantee: str | None = None  # dibao | tekun | none
    status: str = "alive"  # alive | deceased
    living_alone: bool | None = None


def _query(session: AsyncSession, f: Filters, today: date) -> Select[Any]:
    """The elders matching the filters, within the caller's division."""
    g = Guarantee.__table__
    guarantee = (
        select(func.min(g.c.program))
        .where(g.c.person_id == people.c.person_id, g.c.status == "active")
        .correlate(people)
        .scalar_subquery()
    )
    a = Assessment.__table__
    level = (
        select(a.c.level)
        .where(a.c.person_id == people.c.person_id, a.c.superseded_by.is_(None))
        .correlate(people)
        .scalar_subquery()
    )
    al = Allowance.__table__
    alone = households.living_alone(people.c.person_id)
    stmt = (
        select(
            people.c.person_id,
            people.c.id_number,
            people.c.name,
            people.c.sex,
            people.c.birth_date,
            people.c.hukou_division,
            people.c.status,
            guarantee.label("guarantee"),
            level.label("care_level"),
            al.c.status.label("allowance_status"),
            al.c.monthly_amount.label("allowance_monthly_amount"),
            alone.label("living_alone"),
        )
        .outerjoin(al, and_(al.c.person_id == people.c.person_id))
        .where(
            people.c.in_district.is_(True),
            people.c.status == f.status,
            people.c.birth_date <= born_by(today, max(f.age_min, ELDER_AGE)),
        )
    )
    if f.age_max is not None:  # aged at most `age_max`: born after the day they would have turned age_max + 1
        stmt = stmt.where(people.c.birth_date > born_by(today, f.age_max + 1))
    if f.division:
        stmt = stmt.where(divisions.covers_clause(people.c.hukou_division, f.division))
    if (scope := scope_of(session)) is not None:
        stmt = stmt.where(divisions.covers_clause(people.c.hukou_division, scope))
    if f.care_level is not None:
        stmt = stmt.where(level == f.care_level)
    if f.living_alone is not None:
        stmt = stmt.where(alone.is_(f.living_alone))
    if f.guarantee == "none":
        stmt = stmt.where(guarantee.is_(None))
    elif f.guarantee is not None:
        stmt = stmt.where(guarantee == f.guarantee)
    return stmt


async def search(
    session: AsyncSession, f: Filters, *, today: date, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of elders, in division and identity-number order, and how many match."""
    stmt = _query(session, f, today)
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    page = stmt.order_by(people.c.hukou_division, people.c.id_number).limit(limit).offset(offset)
    return [dict(r) for r in (await session.execute(page)).mappings()], total
