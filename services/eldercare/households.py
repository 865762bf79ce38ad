"""Who lives alone: eldercare's copy of household membership, from `registry.household.changed`.

The registry publishes every change of a household (created, a member joins
or leaves, split, merge) with its members before and after. Eldercare keeps,
per household, the members its last event lists (`household_members`), and
derives "living alone" when it is asked, so it is always current:

- null: no household of the person is known (not yet in one, or registered
  before eldercare heard of households);
- true: no other living member shares any household of theirs (a household of
  one, or the others have died: deaths come from the people copy);
- false: someone else alive is a member of their household.

A household's events keep their order on its partition; two households'
events do not (a person leaving one and joining another), so rows are keyed
by household and person, and each household's set is replaced as a whole: the
copy converges to the registry's whatever order the households' events arrive.
A chunk takes two statements: the households named are cleared, then refilled
from the last event of each.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from pydantic import BaseModel
from sqlalchemy import ColumnElement, and_, case, exists, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from services.eldercare.models import HouseholdMemberRow
from shared import event_types as ev
from shared.people import people

_CLEAR = text("DELETE FROM household_members WHERE household_id = ANY(CAST(:households AS uuid[]))")
_FILL = text(
    """
    INSERT INTO household_members (household_id, person_id, relation)
    SELECT * FROM unnest(CAST(:households AS uuid[]), CAST(:persons AS uuid[]), CAST(:relations AS text[]))
    """
)


async def learn(session: AsyncSession, payloads: Sequence[BaseModel]) -> None:
    """Each household named in the chunk gets the members its last event lists (two statements)."""
    last: dict[uuid.UUID, ev.HouseholdChanged] = {}
    for p in payloads:
        if isinstance(p, ev.HouseholdChanged):
            last[p.household_id] = p
    if not last:
        return
    rows = [(h, m.person_id, m.relation) for h, p in last.items() for m in p.members_after]
    await session.execute(_CLEAR, {"households": list(last)})
    if rows:
        households, persons, relations = (list(c) for c in zip(*rows, strict=True))
        await session.execute(_FILL, {"households": households, "persons": persons, "relations": relations})


def living_alone(person_id: ColumnElement[uuid.UUID]) -> ColumnElement[bool | None]:
    """Whether the person lives alone, as SQL over the membership copy and the people copy (null: not known)."""
    mine, other, them = aliased(HouseholdMemberRow), aliased(HouseholdMemberRow), people.alias("housemate")
    member = exists().where(mine.person_id == person_id)
    others_alive = exists(
        select(1)
        .select_from(mine)
        .join(other, and_(other.household_id == mine.household_id, other.person_id != mine.person_id))
        .outerjoin(them, them.c.person_id == other.person_id)
        .where(mine.person_id == person_id, or_(them.c.status.is_(None), them.c.status != "deceased"))
    )
    return case((~member, None), else_=~others_alive)
