"""Eldercare use cases; the caller commits."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.eldercare.allowances.discover import allowance_id
from services.eldercare.domain import allowance as rules
from services.eldercare.models import AllowanceBracket
from shared import clock, people
from shared import event_types as ev
from shared.db import guard
from shared.events import outbox_cte, outbox_params, publish
from shared.problems import Conflict, Invalid
from shared.settings import Settings


def allowance_event(model: type[ev.AllowanceEvent], a: Any, reason: str | None = None) -> ev.AllowanceEvent:
    """What happened to an allowance (an ORM Allowance or a row read in bulk); the model names the event type."""
    return model(
        person_id=a.person_id,
        id_number=a.id_number,
        hukou_division=a.hukou_division,
        allowance_id=a.id,
        status=a.status,
        monthly_amount=a.monthly_amount,
        effective_date=a.stopped_on or a.started_on,
        reason=reason,
    )


async def emit(session: AsyncSession, model: type[ev.AllowanceEvent], a: Any, reason: str | None = None) -> None:
    """Publish what happened to an allowance (ev.AllowanceEnrolled, ev.AllowanceStopped) in the caller's transaction."""
    await publish(session, allowance_event(model, a, reason))


async def brackets(session: AsyncSession) -> list[rules.Bracket]:
    b = AllowanceBracket
    # Plain rows, not ORM objects: read on every enrolment, and only these four columns are used.
    rows = await session.execute(select(b.effective_from, b.min_age, b.max_age, b.monthly_amount))
    return [rules.Bracket(*r) for r in rows]


# One statement: a new allowance, or the person's stopped one started again (no row when it is active: the 409),
# and its event in the outbox. The event is built before the statement (every field is known: the id is the
# person's, the amount the entitlement's) and written only when the row carries that id; a stopped allowance
# enrolled by hand before migration 0007 keeps its own id, and its event is then published after, from the row.
# Identical requests at once queue on the unique person_id and the later ones find it active.
_ENROL = text(
    f"""
    WITH enrolled AS (
        INSERT INTO allowances (id, person_id, id_number, status, monthly_amount, explanation, started_on,
                                hukou_division)
        VALUES (:id, :person_id, :id_number, 'active', :monthly_amount, :explanation, :started_on, :hukou_division)
        ON CONFLICT (person_id) DO UPDATE SET
            id_number = excluded.id_number, monthly_amount = excluded.monthly_amount,
            explanation = excluded.explanation, started_on = excluded.started_on,
            hukou_division = excluded.hukou_division, status = 'active', stopped_on = NULL, stop_reason = NULL,
            updated_at = now()
        WHERE allowances.status <> 'active'
        RETURNING *
    ), written AS ({outbox_cte("EXISTS (SELECT FROM enrolled WHERE enrolled.id = :id)")})
    SELECT * FROM enrolled
    """  # noqa: S608 - a constant of shared.events
)


async def enrol(session: AsyncSession, settings: Settings, *, id_number: str, on: date | None = None) -> Any:
    # The copy is written after the allowance's row is locked, the order the registry consumer takes them in.
    person = await people.resolve(session, settings, id_number, copy_now=False)
    guard(session, person.hukou_division, field="id_number", detail=people.UNKNOWN)  # elsewhere answers as unknown
    on = on or clock.today()
    assert person.birth_date is not None
    ent = rules.entitlement(
        person.birth_date,
        on,
        await brackets(session),
        in_district=person.in_district,
        alive=person.status != "deceased",
    )
    if not ent.eligible:
        raise Invalid(ent.explanation, field="id_number")
    values = {
        "id": allowance_id(person.person_id),  # as an event or discovery would enrol them: one id a person
        "person_id": person.person_id,
        "id_number": person.id_number,
        "monthly_amount": ent.monthly_amount,
        "explanation": ent.explanation,
        "started_on": on,
        "hukou_division": person.hukou_division,
    }
    # The allowance as the upsert writes it, for its event.
    event = allowance_event(ev.AllowanceEnrolled, SimpleNamespace(**values, status="active", stopped_on=None))
    a = (await session.execute(_ENROL, values | outbox_params([event]))).one_or_none()
    if a is None:
        raise Conflict("the person already receives the allowance", field="id_number")
    await people.remember(session)
    if a.id != values["id"]:  # an allowance enrolled by hand before migration 0007: its event names its own id
        await emit(session, ev.AllowanceEnrolled, a)
    return a
