"""Assistance use cases; the caller commits."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.assistance.domain import cases as rules
from services.assistance.models import Case
from shared import event_types as ev
from shared import people
from shared.db import guard
from shared.events import publish
from shared.problems import Invalid
from shared.settings import Settings


async def emit(session: AsyncSession, model: type[ev.CaseEvent], case: Case, reason: str | None = None) -> None:
    """Publish what happened to a case; the model names the event type (ev.CaseEnrolled, ev.CaseSuspended, ...)."""
    await publish(
        session,
        model(
            person_id=case.person_id,
            id_number=case.id_number,
            hukou_division=case.hukou_division,
            case_id=case.id,
            program=case.program,
            status=case.status,
            monthly_amount=case.monthly_amount,
            effective_date=case.status_changed_on or case.started_on,
            reason=reason,
        ),
    )


async def enrol(
    session: AsyncSession, settings: Settings, *, id_number: str, program: str, monthly_amount: Decimal
) -> Case:
    person = await people.resolve(session, settings, id_number)
    guard(session, person.hukou_division, field="id_number", detail=people.UNKNOWN)  # elsewhere answers as unknown
    why_not = rules.can_enrol(person.status)
    if why_not:
        raise Invalid(why_not, field="id_number")
    case = Case(
        id=uuid.uuid4(),
        person_id=person.person_id,
        id_number=person.id_number,
        program=program,
        monthly_amount=monthly_amount,
        status=rules.CaseStatus.ACTIVE,
        started_on=date.today(),
        hukou_division=person.hukou_division,
    )
    session.add(case)
    await session.flush()
    await emit(session, ev.CaseEnrolled, case)
    return case


async def suspend_for_death(session: AsyncSession, person_id: uuid.UUID, date_of_death: date) -> list[Case]:
    """Suspend every active case of a person who died (reversible until the death is confirmed)."""
    active = (
        await session.execute(select(Case).where(Case.person_id == person_id).with_for_update())
    ).scalars().all()
    suspended = []
    for case in active:
        if rules.suspend_for_death(rules.CaseStatus(case.status)):
            case.status = rules.CaseStatus.SUSPENDED
            case.status_reason = "death"
            case.status_changed_on = date_of_death
            await emit(session, ev.CaseSuspended, case, reason="death")
            suspended.append(case)
    return suspended


async def resume_after_revocation(session: AsyncSession, person_id: uuid.UUID) -> list[Case]:
    rows = (await session.execute(select(Case).where(Case.person_id == person_id).with_for_update())).scalars().all()
    resumed = []
    for case in rows:
        if rules.resume_after_revoked_death(rules.CaseStatus(case.status), case.status_reason):
            case.status = rules.CaseStatus.ACTIVE
            case.status_reason = "death revoked"
            case.status_changed_on = date.today()
            await emit(session, ev.CaseResumed, case, reason="death revoked")
            resumed.append(case)
    return resumed


async def follow_hukou(session: AsyncSession, person_id: uuid.UUID, hukou_division: str) -> None:
    for case in (await session.execute(select(Case).where(Case.person_id == person_id))).scalars():
        case.hukou_division = hukou_division
