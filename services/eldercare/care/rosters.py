"""The two accident-insurance rosters of POLICY.md, from the person index and the guarantee cases.

- `guaranteed_60`: residents aged 60+ with an active dibao case or an active
  tekun case in dispersed support (分散供养: not living in an institution);
- `aged_80`: residents aged 80+ with local registration, those aged 79 (who
  turn 80 within the policy year) included.

Each scheme's age and premium are effective-dated rows (`insurance_schemes`),
never constants. A person on both rosters is insured under both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.eldercare.models import Admission, Guarantee, InsuranceScheme
from shared import divisions
from shared.db import scope_of
from shared.people import people


@dataclass(frozen=True)
class Scheme:
    code: str
    min_age: int
    guaranteed_only: bool
    annual_premium: Decimal
    source: str

    @property
    def rule(self) -> str:
        who = (
            "with an active dibao case or dispersed tekun support"
            if self.guaranteed_only
            else "with local household registration"
        )
        return f"residents aged {self.min_age}+ {who}; {self.annual_premium} yuan a year ({self.source})"


def born_by(as_of: date, age: int) -> date:
    """The latest birth date of someone at least `age` on `as_of` (29 February counts from 1 March in other years)."""
    try:
        return as_of.replace(year=as_of.year - age)
    except ValueError:  # as_of is 29 February and that year has none
        return date(as_of.year - age, 2, 28)


async def schemes_on(session: AsyncSession, as_of: date) -> list[Scheme]:
    """The scheme rows in force on `as_of`, the latest of each code."""
    rows = (
        (await session.execute(select(InsuranceScheme).where(InsuranceScheme.effective_from <= as_of))).scalars().all()
    )
    latest: dict[str, InsuranceScheme] = {}
    for r in rows:
        if r.code not in latest or r.effective_from > latest[r.code].effective_from:
            latest[r.code] = r
    return [
        Scheme(r.code, r.min_age, r.guaranteed_only, r.annual_premium, r.source)
        for r in sorted(latest.values(), key=lambda r: r.code)
    ]


def _guaranteed() -> ColumnElement[bool]:
    """An active dibao case, or an active tekun case of someone not living in an institution (dispersed support).

    Each EXISTS sits directly under the roster's select, so each correlates with its `people` row.
    """
    g, a = Guarantee.__table__, Admission.__table__

    def active(program: str) -> ColumnElement[bool]:
        return exists().where(g.c.person_id == people.c.person_id, g.c.status == "active", g.c.program == program)

    in_institution = exists().where(a.c.person_id == people.c.person_id, a.c.discharged_on.is_(None))
    return or_(active("dibao"), and_(active("tekun"), ~in_institution))


def roster_query(session: AsyncSession, scheme: Scheme, as_of: date) -> Select:
    """Who the scheme insures on `as_of`, within the caller's division."""
    stmt = select(
        people.c.person_id, people.c.id_number, people.c.name, people.c.hukou_division, people.c.birth_date
    ).where(
        people.c.in_district.is_(True),
        or_(people.c.status != "deceased", people.c.date_of_death > as_of),
        people.c.birth_date <= born_by(as_of, scheme.min_age),
    )
    if scheme.guaranteed_only:
        stmt = stmt.where(_guaranteed())
    if (scope := scope_of(session)) is not None:
        # `people` is a plain table (the shared person index), outside the ORM filter: the same rule, applied here.
        stmt = stmt.where(divisions.covers_clause(people.c.hukou_division, scope))
    return stmt.order_by(people.c.hukou_division, people.c.id_number)


async def count(session: AsyncSession, scheme: Scheme, as_of: date) -> int:
    query = roster_query(session, scheme, as_of)
    return (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()


async def rows(
    session: AsyncSession, scheme: Scheme, as_of: date, *, limit: int | None = None, offset: int = 0
) -> AsyncIterator[dict[str, object]]:
    query = roster_query(session, scheme, as_of)
    if limit is not None:
        query = query.limit(limit).offset(offset)
    result = await session.stream(query)
    async for r in result.mappings():
        yield dict(r)
