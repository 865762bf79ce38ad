"""Milestones (年龄节点): publish `registry.person.milestone` when someone reaches an age the bureau acts on.

Run daily (and on demand with an `as_of` date). Each (person, age) is a row
with a primary key, so a repeated or concurrent run publishes nothing twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.registry.domain import milestones as rules
from services.registry.models import Person, PersonEvent, PersonMilestone
from shared import event_types as ev
from shared.events import publish_many

CHUNK = 2000

# Someone with an age reached and not recorded yet (the rule's `birthday(birth_date, age) <= as_of`: a
# 29 February birth reaches its age on 1 March in common years, as `as_of - age years` says). The daily run
# reads those few persons, not every adult (loading them all was half the registry's CPU in a replayed year).
_SOMETHING_DUE = text(
    """EXISTS (
    SELECT FROM unnest(CAST(:ages AS int[])) AS a(age)
    WHERE persons.birth_date <= CAST(CAST(:as_of AS date) - make_interval(years => a.age) AS date)
      AND NOT EXISTS (SELECT FROM person_milestones m WHERE m.person_id = persons.id AND m.age = a.age))"""
)


@dataclass
class RunResult:
    as_of: date
    persons_checked: int = 0
    recorded: int = 0
    published: int = 0


async def run(
    session: AsyncSession, as_of: date, *, after: uuid.UUID | None = None
) -> tuple[RunResult, uuid.UUID | None]:
    """One chunk of living, in-district persons with an age due; (result, last id) to go on from.

    Set-based, a fixed number of statements a chunk (read, one insert of every age reached, one insert of the
    history lines, the outbox): the first run over a register taken on records every adult's past ages, a
    statement per person made that run minutes long for a district.
    """
    result = RunResult(as_of)
    # Only those born by the end of the year they could turn the first age: a cheap filter; the rule decides.
    born_by = date(as_of.year - rules.AGES[0], 12, 31)
    done = func.coalesce(func.array_agg(PersonMilestone.age).filter(PersonMilestone.age.is_not(None)), [])
    stmt = (
        select(Person.id, Person.id_number, Person.hukou_division, Person.birth_date, done)
        .outerjoin(PersonMilestone, PersonMilestone.person_id == Person.id)
        .where(Person.status == "alive", Person.in_district.is_(True), Person.birth_date <= born_by)
        .where(_SOMETHING_DUE.bindparams(ages=list(rules.AGES), as_of=as_of))
        .group_by(Person.id)
        .order_by(Person.id)
        .limit(CHUNK)
    )
    if after is not None:
        stmt = stmt.where(Person.id > after)
    rows = (await session.execute(stmt)).all()
    result.persons_checked = len(rows)
    dues = {row.id: (row, rules.due(row.birth_date, as_of, set(row[4] or []))) for row in rows}
    reached = [
        {"person_id": pid, "age": age, "reached_on": on, "published": (age, on) == due.publish}
        for pid, (_, due) in dues.items()
        for age, on in due.reached
    ]
    inserted: set[tuple[uuid.UUID, int]] = set()
    if reached:
        written = await session.execute(
            pg_insert(PersonMilestone)
            .values(reached)
            .on_conflict_do_nothing()
            .returning(PersonMilestone.person_id, PersonMilestone.age)
        )
        inserted = {(r.person_id, r.age) for r in written}
    result.recorded = len(inserted)
    announced = [
        (row, due.publish)
        for row, due in dues.values()
        if due.publish is not None and (row.id, due.publish[0]) in inserted  # a concurrent run took the others
    ]
    events = [
        ev.PersonMilestone(
            person_id=row.id,
            id_number=row.id_number,
            hukou_division=row.hukou_division,
            birth_date=row.birth_date,
            age=age,
            as_of=as_of,
        )
        for row, (age, _) in announced
    ]
    if announced:
        lines = [
            {"person_id": row.id, "kind": "milestone", "occurred_on": on, "summary": f"reached {age}", "ref_id": None}
            for row, (age, on) in announced
        ]
        await session.execute(insert(PersonEvent), lines)
    await publish_many(session, events)
    result.published = len(events)
    return result, rows[-1].id if len(rows) == CHUNK else None


async def run_all(
    sessionmaker: async_sessionmaker[AsyncSession], as_of: date, *, scope: str | None = None
) -> RunResult:
    """The whole run, one transaction per chunk (a crash mid-run loses nothing: rerun it)."""
    total = RunResult(as_of)
    after: uuid.UUID | None = None
    while True:
        async with sessionmaker() as session, session.begin():
            session.info["division"] = scope  # a town's run covers its own residents; the daily run, the district
            part, after = await run(session, as_of, after=after)
        total.persons_checked += part.persons_checked
        total.recorded += part.recorded
        total.published += part.published
        if after is None:
            return total
