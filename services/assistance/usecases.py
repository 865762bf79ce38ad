"""Assistance use cases; the caller commits."""

from __future__ import annotations

import uuid
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.assistance import reviews
from services.assistance.domain import cases as rules
from services.assistance.domain import programs
from shared import clock, locks, people
from shared import event_types as ev
from shared.db import guard
from shared.events import outbox_cte, outbox_params, publish
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


async def emit(session: AsyncSession, model: type[ev.CaseEvent], case: Any, reason: str | None = None) -> None:
    """Publish what happened to a case (ev.CaseEnrolled, ev.CaseSuspended, ...) in the caller's transaction."""
    await publish(session, case_event(model, case, reason))


# Enrolment takes three round trips (BEGIN, lock + person, checked insert with its events; COMMIT with the route):
# - the person's lock, the local copy's row and the new case's periodic review date in one statement (the lock
#   is what makes identical requests sent at once queue; the copy's row is the person as assistance knows them);
# - the open programs read, the case inserted and its events written in ONE statement, after the lock, so its
#   snapshot sees a case another request committed while this one waited. The insert happens only when no open
#   case blocks it (the same program, or one it contradicts), and the events (built before: every field is
#   known) only with it; otherwise the open programs come back and the domain's rules word the refusal.
_LOCK_AND_FIND = text(
    f"""
    SELECT p.person_id, p.id_number, p.hukou_division, p.status, {reviews.DEFAULT_DUE_ON} AS review_due_on
    FROM (SELECT pg_advisory_xact_lock(hashtextextended(:lock, 0))) AS held_lock
    LEFT JOIN people AS p ON p.id_number = :id_number
    """  # noqa: S608 - a constant of reviews.py
)
_ENROL = text(
    f"""
    WITH held AS (
        SELECT coalesce(array_agg(program::text), '{{}}') AS programs
        FROM cases WHERE person_id = :person_id AND status <> 'terminated'
    ), new_case AS (
        INSERT INTO cases (id, person_id, id_number, program, monthly_amount, status, started_on, hukou_division,
                           review_due_on)
        SELECT :id, :person_id, :id_number, :program, :monthly_amount, :status, :started_on, :hukou_division,
               :review_due_on
        FROM held WHERE NOT held.programs && CAST(:blocking AS text[])
        RETURNING *
    ), written AS ({outbox_cte("EXISTS (SELECT FROM new_case)")})
    SELECT held.programs, new_case.* FROM held LEFT JOIN new_case ON true
    """  # noqa: S608 - a constant of shared.events
)


def _blocking(program: str) -> list[str]:
    """The programs whose open case refuses an enrolment in `program`: itself, and those it contradicts."""
    others = {other for pair in programs.CONTRADICTORY if program in pair for other in pair}
    return sorted(others | {program})


async def enrol(
    session: AsyncSession, settings: Settings, *, id_number: str, program: str, monthly_amount: Decimal
) -> Any:
    """Enrol the person in `program`: the case row (attributes named as Case's columns), its event in the outbox."""
    lock = locks.key_name("person", id_number)  # the key POST /v1/applications' confirmation takes too
    started_on = clock.today()
    review_key = reviews.DEFAULT_INTERVAL.get(program)  # a migrated case's default periodic review
    found = (
        await session.execute(
            _LOCK_AND_FIND, {"lock": lock, "id_number": id_number, "started_on": started_on, "review_key": review_key}
        )
    ).one()
    # Someone assistance has not heard of yet: asked of the registry (and copied), the lock already held.
    person = found if found.person_id is not None else await people.resolve(session, settings, id_number)
    guard(session, person.hukou_division, field="id_number", detail=people.UNKNOWN)  # elsewhere answers as unknown
    why_not = rules.can_enrol(person.status)
    if why_not:
        raise Invalid(why_not, field="id_number")
    values = {
        "id": uuid.uuid4(),
        "person_id": person.person_id,
        "id_number": person.id_number,
        "program": program,
        "monthly_amount": monthly_amount,
        "status": rules.CaseStatus.ACTIVE.value,
        "started_on": started_on,
        "hukou_division": person.hukou_division,
        "review_due_on": found.review_due_on,
    }
    # The case as the insert writes it (no status change yet), for its events.
    new_case = SimpleNamespace(**values, status_changed_on=None)
    events = [case_event(ev.CaseEnrolled, new_case), *reviews.due_events(new_case)]
    case = (await session.execute(_ENROL, values | {"blocking": _blocking(program)} | outbox_params(events))).one()
    if case.id is None:
        held = set(case.programs)
        if program in held:
            raise Conflict(f"the person already has an open {program} case", field="program")
        raise Conflict(programs.refusal(program, held) or "an open case refuses this program", field="program")
    return case
