"""What registry events do to old-age allowances, a chunk at a time.

A death stops the person's active allowance (reason `death`) and cancels
their open home-care orders, a revoked death restores an allowance the death
stopped, a hukou change moves the allowance to the person's new division, a
move out of the district stops it at the end of the month of the move. A
milestone of 80 or a move in enrols whoever is then eligible (discover.enrol).
As in assistance, the chunk takes a fixed number of statements: the allowances of every person named are read
and locked at once, each person's events are folded in order in Python, and
the changed rows and their events are written in bulk.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from pydantic import BaseModel
from sqlalchemy import any_, cast, select
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncSession

from services.eldercare.allowances import deaths as deaths_mod
from services.eldercare.allowances import discover
from services.eldercare.allowances.brackets import month_end
from services.eldercare.care import homecare, institutions
from services.eldercare.models import Allowance
from services.eldercare.usecases import allowance_event
from shared import bulk
from shared import event_types as ev
from shared.events import publish_many

# The columns a registry event can change, as they travel in bulk.
WRITTEN = {"id": "uuid", "status": "text", "stopped_on": "date", "stop_reason": "text", "hukou_division": "text"}
Relevant = ev.PersonDied | ev.DeathRevoked | ev.HukouChanged


@dataclass
class AllowanceRow:
    """An allowance as the fold sees it (the attributes `allowance_event` reads, like the ORM's)."""

    id: uuid.UUID
    person_id: uuid.UUID
    id_number: str
    status: str
    monthly_amount: Decimal
    started_on: date
    stopped_on: date | None
    stop_reason: str | None
    hukou_division: str
    changed: bool = False


def step(a: AllowanceRow, payload: Relevant) -> ev.AllowanceEvent | None:
    """One registry event applied to a person's allowance; the event it then publishes, if any."""
    if isinstance(payload, ev.HukouChanged):
        a.hukou_division, a.changed = payload.hukou_division, True
        if payload.in_district or a.status != "active":
            return None  # a move in is enrolled by `discover.enrol`, after the fold
        # A move out: paid to the end of the month of the move, then stopped.
        a.status, a.stopped_on, a.stop_reason = "stopped", month_end(payload.effective_date), "moved_out"
        return allowance_event(ev.AllowanceStopped, a, reason="moved_out")
    if isinstance(payload, ev.PersonDied):
        if a.status != "active":
            return None
        a.status, a.stopped_on, a.stop_reason, a.changed = "stopped", payload.date_of_death, "death", True
        return allowance_event(ev.AllowanceStopped, a, reason="death")
    if a.status != "stopped" or a.stop_reason != "death":
        return None
    a.status, a.stopped_on, a.stop_reason, a.changed = "active", None, None, True
    return allowance_event(ev.AllowanceEnrolled, a, reason="death revoked")


async def apply(session: AsyncSession, payloads: Sequence[BaseModel]) -> list[ev.AllowanceEvent]:
    """Apply a chunk of registry events to the allowances, in order; return the events published."""
    emitted = await _fold(session, payloads)
    await deaths_mod.learn(session, payloads)  # the gate's deaths in review; a confirmed one's overpayments
    if arrivals := _arrivals(payloads):
        await discover.enrol(session, date.today(), arrivals)
    return emitted


async def _fold(session: AsyncSession, payloads: Sequence[BaseModel]) -> list[ev.AllowanceEvent]:
    """Deaths, revocations and hukou changes folded over the allowances they name, in order."""
    relevant = [p for p in payloads if isinstance(p, Relevant)]
    if not relevant:
        return []
    by_person = await _lock_allowances(session, {p.person_id for p in relevant})
    emitted = [e for p in relevant if (a := by_person.get(p.person_id)) and (e := step(a, p))]
    changed = [vars(a) for a in by_person.values() if a.changed]
    await bulk.update(session, "allowances", "id", WRITTEN, changed, also="updated_at = now()")
    await publish_many(session, emitted)
    died = sorted({p.person_id for p in relevant if isinstance(p, ev.PersonDied)})
    if died:  # home-care orders not yet delivered are cancelled (a revoked death does not reopen them)
        await homecare.cancel_open_orders(session, died, date.today())
        # A death ends a stay in an institution on the date of death (frees the bed).
        deaths = {p.person_id: p.date_of_death for p in relevant if isinstance(p, ev.PersonDied)}
        await institutions.discharge_on_death(session, deaths)
    return emitted


def _arrivals(payloads: Sequence[BaseModel]) -> list[uuid.UUID]:
    """Persons a chunk may make eligible: turned 80 (the registry's milestone) or moved into the district.

    Enrolment judges each on the people copy as the chunk left it (a move out
    later in the chunk, or a death, makes them ineligible), by the same
    statement discovery runs, so the event and a later discovery give one allowance.
    """
    ids = [
        p.person_id for p in payloads
        if (isinstance(p, ev.PersonMilestone) and p.age >= discover.ELIGIBLE_AGE)
        or (isinstance(p, ev.HukouChanged) and p.in_district)
    ]
    return list(dict.fromkeys(ids))


async def _lock_allowances(session: AsyncSession, person_ids: set[uuid.UUID]) -> dict[uuid.UUID, AllowanceRow]:
    """The allowance of each of these persons that has one, locked, in a fixed order."""
    t = Allowance.__table__
    columns = [t.c[f] for f in AllowanceRow.__dataclass_fields__ if f != "changed"]
    stmt = (
        select(*columns)
        .where(t.c.person_id == any_(cast(sorted(person_ids), ARRAY(UUID()))))
        .order_by(t.c.id)
        .with_for_update()
    )
    return {row["person_id"]: AllowanceRow(**row) for row in (await session.execute(stmt)).mappings()}
