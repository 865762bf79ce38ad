"""What registry events do to old-age allowances, a chunk at a time.

A death stops the person's active allowance (reason `death`) and cancels
their open home-care orders, a revoked death restores an allowance the death
stopped, a hukou change moves the allowance to the person's new division, a
move out of the district stops it at the end of the month of the move, and a
milestone of 80 or a move in enrols whoever is then eligible (80+, alive,
registered in the district), by the rule discovery applies (same amount, same
allowance id), so an event and a later discovery give one allowance.

As in assistance, the chunk takes a fixed number of statements: the people
copy and the allowances of every person named are read (the allowances
locked) by one statement, each person's events are folded in order in Python
(a person's state after each event decides, as applying the events one by one
would), and the people copy, the changed and new allowances and their events
are written in bulk. A chunk of deaths alone (a district's deaths arrive as a flood of them, and the runner
applies each event alone when a chunk fails) takes a cheaper path: one statement stops the allowances and
writes their events, with no Python object per row (`stop_for_deaths`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.eldercare.allowances import brackets as br
from services.eldercare.allowances import discover, outbox
from services.eldercare.care import homecare, institutions
from services.eldercare.care.rosters import born_by
from services.eldercare.domain.allowance import Bracket
from services.eldercare.usecases import allowance_event
from shared import bulk, clock, people
from shared import event_types as ev
from shared.events import notify_relay, publish_many

# The columns an event can change (by the key, `person_id`), and those of a new allowance, as they travel in bulk.
WRITTEN = {
    "person_id": "uuid",
    "status": "text",
    "monthly_amount": "numeric",
    "explanation": "text",
    "started_on": "date",
    "stopped_on": "date",
    "stop_reason": "text",
    "hukou_division": "text",
}
NEW = WRITTEN | {"id": "uuid", "id_number": "text"}
Relevant = ev.PersonDied | ev.DeathRevoked | ev.HukouChanged | ev.PersonMilestone
_ALLOWANCE = (
    "id",
    "person_id",
    "id_number",
    "status",
    "monthly_amount",
    "explanation",
    "started_on",
    "stopped_on",
    "stop_reason",
    "hukou_division",
)

# The people copy of the persons named, beside their allowance, locked (one statement).
_READ = f"""
    WITH locked AS MATERIALIZED (
        SELECT {", ".join(_ALLOWANCE)} FROM allowances
        WHERE person_id = ANY(CAST(:ids AS uuid[])) ORDER BY id FOR UPDATE
    )
    SELECT i.person_id AS key, {", ".join(f"p.{c} AS p_{c}" for c in people.COLUMNS)},
           {", ".join(f"l.{c} AS a_{c}" for c in _ALLOWANCE)}
    FROM unnest(CAST(:ids AS uuid[])) AS i(person_id)
    LEFT JOIN people p ON p.person_id = i.person_id
    LEFT JOIN locked l ON l.person_id = i.person_id
"""  # noqa: S608 - column names are constants


@dataclass
class AllowanceRow:
    """An allowance as the fold sees it (the attributes `allowance_event` reads, like the ORM's)."""

    id: uuid.UUID
    person_id: uuid.UUID
    id_number: str
    status: str
    monthly_amount: Decimal
    explanation: str
    started_on: date
    stopped_on: date | None
    stop_reason: str | None
    hukou_division: str
    changed: bool = False
    new: bool = False


@dataclass
class Chunk:
    """What a chunk's fold starts from: the persons' rows of the people copy (those found), their allowances."""

    people: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    allowances: dict[uuid.UUID, AllowanceRow] = field(default_factory=dict)
    brackets: list[Bracket] = field(default_factory=list)
    today: date = field(default_factory=clock.today)


async def read(session: AsyncSession, payloads: Sequence[BaseModel]) -> Chunk:
    """The people copy and the allowances (locked) of every person the chunk names, before it is applied."""
    ids = sorted({p.person_id for p in payloads if isinstance(p, ev.PersonRef)})
    chunk = Chunk()
    if not ids:
        return chunk
    for row in (await session.execute(text(_READ), {"ids": ids})).mappings():
        if row["p_person_id"] is not None:
            chunk.people[row["key"]] = {c: row[f"p_{c}"] for c in people.COLUMNS}
        if row["a_id"] is not None:
            chunk.allowances[row["key"]] = AllowanceRow(**{c: row[f"a_{c}"] for c in _ALLOWANCE})
    if any(_arrival(p) for p in payloads):
        try:
            chunk.brackets = await br.in_force(session, chunk.today)
        except br.NoStandard:
            chunk.brackets = []  # no standard in force: nobody can be enrolled (the daily discovery catches up)
    return chunk


def _arrival(payload: BaseModel) -> bool:
    """An event after which the person may have become eligible: turned 80, or moved into the district."""
    if isinstance(payload, ev.PersonMilestone):
        return payload.age >= discover.ELIGIBLE_AGE
    return isinstance(payload, ev.HukouChanged) and payload.in_district


def step(a: AllowanceRow, payload: Relevant) -> ev.AllowanceEvent | None:
    """One registry event applied to a person's allowance; the event it then publishes, if any."""
    if isinstance(payload, ev.PersonMilestone):
        return None
    if isinstance(payload, ev.HukouChanged):
        a.hukou_division, a.changed = payload.hukou_division, True
        if payload.in_district or a.status != "active":
            return None  # a move in enrols in `enrol`, after this step
        # A move out: paid to the end of the month of the move, then stopped.
        a.status, a.stopped_on, a.stop_reason = "stopped", br.month_end(payload.effective_date), "moved_out"
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


def enrol(chunk: Chunk, person: dict[str, Any]) -> ev.AllowanceEvent | None:
    """Enrol the person if, as the copy now stands, they are eligible and have no active allowance."""
    a = chunk.allowances.get(person["person_id"])
    born = person["birth_date"]
    if not chunk.brackets or born is None or (a is not None and a.status == "active"):
        return None
    too_young = born > born_by(chunk.today, discover.ELIGIBLE_AGE)
    if not person["in_district"] or person["status"] == "deceased" or too_young:
        return None
    if a is None:
        a = AllowanceRow(
            id=discover.allowance_id(person["person_id"]),
            person_id=person["person_id"],
            id_number=person["id_number"],
            status="active",
            monthly_amount=Decimal("0.00"),
            explanation="",
            started_on=chunk.today,
            stopped_on=None,
            stop_reason=None,
            hukou_division=person["hukou_division"],
            new=True,
        )
        chunk.allowances[a.person_id] = a
    a.status, a.stopped_on, a.stop_reason, a.started_on = "active", None, None, chunk.today
    a.monthly_amount = br.amount_for(chunk.brackets, born, chunk.today)
    a.explanation = discover.EXPLAINED.format(on=chunk.today.isoformat())
    a.hukou_division, a.changed = person["hukou_division"], True
    return allowance_event(ev.AllowanceEnrolled, a)


async def apply(session: AsyncSession, payloads: Sequence[BaseModel], chunk: Chunk) -> list[ev.AllowanceEvent]:
    """Apply a chunk of registry events to the allowances, in order, from the state `read` found."""
    state = {k: dict(v) for k, v in chunk.people.items()}
    emitted: list[ev.AllowanceEvent] = []
    for p in payloads:
        if not isinstance(p, ev.PersonRef):
            continue
        state[p.person_id] = person = people.fold(state.get(p.person_id), p)  # as the copy stands after it
        if not isinstance(p, Relevant):
            continue
        if (a := chunk.allowances.get(p.person_id)) and (e := step(a, p)):
            emitted.append(e)
        if _arrival(p) and (e := enrol(chunk, person)):
            emitted.append(e)
    rows = chunk.allowances.values()
    # A discovery committing the same person meanwhile wins; its own event tells of the enrolment.
    new = [{c: getattr(a, c) for c in NEW} for a in rows if a.new]
    await bulk.insert(session, "allowances", NEW, new, on_conflict="ON CONFLICT (person_id) DO NOTHING")
    changed = [{c: getattr(a, c) for c in WRITTEN} for a in rows if a.changed and not a.new]
    await bulk.update(session, "allowances", "person_id", WRITTEN, changed, also="updated_at = now()")
    await publish_many(session, emitted)
    await _after_deaths(session, payloads)
    return emitted


def deaths_only(payloads: Sequence[BaseModel]) -> list[ev.PersonDied] | None:
    """The chunk's deaths if it holds nothing else and names each person once (the flood a district's deaths
    bring, and every death the runner applies alone); None otherwise."""
    deaths = [p for p in payloads if type(p) is ev.PersonDied]
    if not deaths or len(deaths) != len(payloads) or len({d.person_id for d in deaths}) != len(deaths):
        return None
    return deaths


# A death stops the person's active allowance on the date of death and says so; nothing else of the allowance
# changes (what `step` does for a death, written in SQL: no Python object per row). Locked in id order, as `read`.
_STOPPED = outbox.allowance_events("stopped")
_STOP_FOR_DEATHS = """
    WITH died AS (
        SELECT * FROM unnest(CAST(:person_ids AS uuid[]), CAST(:dates AS date[])) AS d(person_id, died_on)
    ),
    locked AS MATERIALIZED (
        SELECT a.id, a.person_id, died.died_on FROM allowances a JOIN died ON died.person_id = a.person_id
        WHERE a.person_id = ANY(CAST(:person_ids AS uuid[])) AND a.status = 'active'  -- by index, whatever the stats
        ORDER BY a.id FOR UPDATE OF a
    ),
    stopped AS (
        UPDATE allowances a SET status = 'stopped', stopped_on = l.died_on, stop_reason = 'death', updated_at = now()
        FROM locked l WHERE a.person_id = l.person_id
        RETURNING a.id, a.person_id, a.id_number, a.hukou_division, a.status, a.monthly_amount, a.stopped_on,
                  a.started_on, 'death' AS reason
    )
"""


async def stop_for_deaths(session: AsyncSession, deaths: Sequence[ev.PersonDied]) -> None:
    """A chunk of deaths alone (`deaths_only`): the allowances stopped and their events written by one statement,
    then what follows a death (home care, institutions), as `apply` does for the same events."""
    params = {"person_ids": [d.person_id for d in deaths], "dates": [d.date_of_death for d in deaths]}
    stop = text(_STOP_FOR_DEATHS + _STOPPED.sql())
    await session.execute(stop, params | _STOPPED.params("eldercare.allowance.stopped"))
    await notify_relay(session)
    await _after_deaths(session, deaths)


async def _after_deaths(session: AsyncSession, payloads: Sequence[BaseModel]) -> None:
    """Home-care orders not yet delivered are cancelled; a stay in an institution ends on the date of death.

    A revoked death reopens the orders it cancelled (each person's last event of
    the chunk decides). The stay it ended is not reopened: the bed may have been
    given to someone else meanwhile, so a readmission is the institution's act.
    """
    last: dict[uuid.UUID, BaseModel] = {}
    for p in payloads:
        if isinstance(p, ev.PersonDied | ev.DeathRevoked):
            last[p.person_id] = p
    deaths = {k: p.date_of_death for k, p in last.items() if isinstance(p, ev.PersonDied)}
    revoked = sorted(k for k, p in last.items() if isinstance(p, ev.DeathRevoked))
    if deaths or revoked:
        await homecare.follow_deaths(session, sorted(deaths), revoked, clock.today())
    if deaths:
        await institutions.discharge_on_death(session, deaths)
