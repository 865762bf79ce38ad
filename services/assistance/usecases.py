"""Assistance use cases; the caller commits."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.assistance.domain import cases as rules
from services.assistance.domain import programs
from services.assistance.models import Case
from shared import clock, locks, people
from shared import event_types as ev
from shared.db import guard
from shared.events import publish
from shared.problems import Conflict, Invalid
from shared.settings import Settings


def case_event(model: type[ev.CaseEvent], case: Any, reason: str | None = None) -> ev.CaseEvent:
    """What happened to a case (an ORM Case or a row read in bulk); the model names the event type."""
    return model(
        person_id=case.person_id,
        id_number=case.id_number,
        hukou_division=case.hukou_division,
        case_id=case.id,
        program=case.program,
        status=case.status,
        monthly_amount=case.monthly_amount,
        effective_date=case.status_changed_on or case.started_on,
        reason=reason,
    )


async def emit(session: AsyncSession, model: type[ev.CaseEvent], case: Case, reason: str | None = None) -> None:
    """Publish what happened to a case (ev.CaseEnrolled, ev.CaseSuspended, ...) in the caller's transaction."""
    await publish(session, case_event(model, case, reason))


async def _open_programs(session: AsyncSession, person_id: uuid.UUID) -> set[str]:
    """The programs in which the person has an active or suspended case: enrolling in one again would pay twice."""
    held = select(Case.program).where(Case.person_id == person_id, Case.status != rules.CaseStatus.TERMINATED)
    return set((await session.execute(held)).scalars())


# One INSERT … RETURNING, not the unit of work's flush: the row comes back whole (defaults included). Built
# once, with parameters: building and keying the statement per request cost more than running it.
_ENROLLED = ("id", "person_id", "id_number", "program", "monthly_amount", "status", "started_on", "hukou_division")
_ENROL = insert(Case).values({k: bindparam(k) for k in _ENROLLED}).returning(Case)


async def enrol(
    session: AsyncSession, settings: Settings, *, id_number: str, program: str, monthly_amount: Decimal
) -> Case:
    await locks.hold(session, "person", id_number)  # identical requests at once: the second sees the first's case
    person = await people.resolve(session, settings, id_number)
    guard(session, person.hukou_division, field="id_number", detail=people.UNKNOWN)  # elsewhere answers as unknown
    why_not = rules.can_enrol(person.status)
    if why_not:
        raise Invalid(why_not, field="id_number")
    held = await _open_programs(session, person.person_id)
    if program in held:
        raise Conflict(f"the person already has an open {program} case", field="program")
    contradiction = programs.refusal(program, held)
    if contradiction:  # e.g. dibao and tekun at once
        raise Conflict(contradiction, field="program")
    values = {
        "id": uuid.uuid4(),
        "person_id": person.person_id,
        "id_number": person.id_number,
        "program": program,
        "monthly_amount": monthly_amount,
        "status": rules.CaseStatus.ACTIVE,
        "started_on": clock.today(),
        "hukou_division": person.hukou_division,
    }
    case = (await session.scalars(_ENROL, values)).one()
    await emit(session, ev.CaseEnrolled, case)
    return case
