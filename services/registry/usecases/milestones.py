"""Milestones (年龄节点): publish `registry.person.milestone` when someone reaches an age the bureau acts on.

Run daily (and on demand with an `as_of` date). Each (person, age) is a row
with a primary key, so a repeated or concurrent run publishes nothing twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.registry.domain import milestones as rules
from services.registry.models import Person, PersonMilestone
from services.registry.usecases.common import history, ref
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
    """One chunk of living, in-district persons old enough for the first milestone; (result, last id) to go on from."""
    result = RunResult(as_of)
    # Only those born by the end of the year they could turn the first age: a cheap filter; the rule decides.
    born_by = date(as_of.year - rules.AGES[0], 12, 31)
    done = func.coalesce(func.array_agg(PersonMilestone.age).filter(PersonMilestone.age.is_not(None)), [])
    stmt = (
        select(Person, done)
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
    events = []
    for person, ages in rows:
        result.persons_checked += 1
        due = rules.due(person.birth_date, as_of, set(ages or []))
        if not due.reached:
            continue
        inserted = (
            (
                await session.execute(
                    pg_insert(PersonMilestone)
                    .values(
                        [
                            {
                                "person_id": person.id,
                                "age": age,
                                "reached_on": on,
                                "published": (age, on) == due.publish,
                            }
                            for age, on in due.reached
                        ]
                    )
                    .on_conflict_do_nothing()
                    .returning(PersonMilestone.age)
                )
            )
            .scalars()
            .all()
        )
        result.recorded += len(inserted)
        if due.publish and due.publish[0] in inserted:
            age, on = due.publish
            events.append(ev.PersonMilestone(**ref(person), birth_date=person.birth_date, age=age, as_of=as_of))  # type: ignore[arg-type]
            await history(session, person.id, "milestone", on, f"reached {age}", None)
    await publish_many(session, events)
    result.published = len(events)
    return result, rows[-1][0].id if len(rows) == CHUNK else None


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
