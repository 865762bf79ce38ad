"""What registry events do to cases, a chunk at a time.

A death suspends every active case of the person (reason `death`, reversible),
a revoked death resumes the cases it suspended, a hukou change moves the
cases to the person's new division. The chunk is applied with a fixed number
of statements whatever its size: the cases of every person named are read
and locked at once, each person's events are folded over their cases in
order in Python (so a death and its revocation in one chunk give what they
give one by one), and the changed cases and the events they emit are
written in bulk.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from pydantic import BaseModel
from sqlalchemy import any_, cast, select
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncSession

from services.assistance.domain import cases as rules
from services.assistance.models import Case
from services.assistance.usecases import case_event
from shared import bulk
from shared import event_types as ev
from shared.events import publish_many

# The columns a registry event can change, as they travel in bulk.
WRITTEN = {
    "id": "uuid",
    "status": "text",
    "status_reason": "text",
    "status_changed_on": "date",
    "hukou_division": "text",
}
Relevant = ev.PersonDied | ev.DeathRevoked | ev.HukouChanged


@dataclass
class CaseRow:
    """A case as the fold sees it (the attributes `case_event` reads, like the ORM's)."""

    id: uuid.UUID
    person_id: uuid.UUID
    id_number: str
    program: str
    monthly_amount: Decimal
    status: str
    status_reason: str | None
    status_changed_on: date | None
    started_on: date
    hukou_division: str
    changed: bool = False


def step(case: CaseRow, payload: Relevant, today: date) -> ev.CaseEvent | None:
    """One registry event applied to one case; the event the case then publishes, if any."""
    if isinstance(payload, ev.HukouChanged):
        case.hukou_division, case.changed = payload.hukou_division, True
        return None
    if isinstance(payload, ev.PersonDied):
        if not rules.suspend_for_death(rules.CaseStatus(case.status)):
            return None
        case.status, case.status_reason = rules.CaseStatus.SUSPENDED, "death"
        case.status_changed_on, case.changed = payload.date_of_death, True
        return case_event(ev.CaseSuspended, case, reason="death")
    if not rules.resume_after_revoked_death(rules.CaseStatus(case.status), case.status_reason):
        return None
    case.status, case.status_reason = rules.CaseStatus.ACTIVE, "death revoked"
    case.status_changed_on, case.changed = today, True
    return case_event(ev.CaseResumed, case, reason="death revoked")


async def apply(session: AsyncSession, payloads: Sequence[BaseModel], today: date | None = None) -> list[ev.CaseEvent]:
    """Apply a chunk of registry events to the cases, in order; return the events published."""
    relevant = [p for p in payloads if isinstance(p, Relevant)]
    if not relevant:
        return []
    by_person = await _lock_cases(session, {p.person_id for p in relevant})
    today = today or date.today()
    emitted = [e for p in relevant for case in by_person.get(p.person_id, []) if (e := step(case, p, today))]
    changed = [vars(c) for cases in by_person.values() for c in cases if c.changed]
    await bulk.update(session, "cases", "id", WRITTEN, changed, also="updated_at = now()")
    await publish_many(session, emitted)
    return emitted


async def _lock_cases(session: AsyncSession, person_ids: set[uuid.UUID]) -> dict[uuid.UUID, list[CaseRow]]:
    """Every case of these persons, locked, in a fixed order (two chunks never wait on each other in a cycle)."""
    t = Case.__table__
    columns = [t.c[f] for f in CaseRow.__dataclass_fields__ if f != "changed"]
    stmt = (
        select(*columns)
        .where(t.c.person_id == any_(cast(sorted(person_ids), ARRAY(UUID()))))
        .order_by(t.c.id)
        .with_for_update()
    )
    by_person: dict[uuid.UUID, list[CaseRow]] = defaultdict(list)
    for row in (await session.execute(stmt)).mappings():
        by_person[row["person_id"]].append(CaseRow(**row))
    return by_person
