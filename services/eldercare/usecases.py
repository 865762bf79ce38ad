"""Eldercare use cases; the caller commits."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.eldercare.domain import allowance as rules
from services.eldercare.models import Allowance, AllowanceBracket
from shared import clock, people
from shared import event_types as ev
from shared.db import guard
from shared.events import publish
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


async def emit(session: AsyncSession, model: type[ev.AllowanceEvent], a: Allowance, reason: str | None = None) -> None:
    """Publish what happened to an allowance (ev.AllowanceEnrolled, ev.AllowanceStopped) in the caller's transaction."""
    await publish(session, allowance_event(model, a, reason))


async def brackets(session: AsyncSession) -> list[rules.Bracket]:
    rows = (await session.execute(select(AllowanceBracket))).scalars().all()
    return [rules.Bracket(r.effective_from, r.min_age, r.max_age, r.monthly_amount) for r in rows]


async def enrol(session: AsyncSession, settings: Settings, *, id_number: str, on: date | None = None) -> Allowance:
    person = await people.resolve(session, settings, id_number)
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
    # One upsert: a new allowance, or the person's stopped one started again; none when it is active
    # (the 409). Concurrent identical requests queue on the unique person_id and the later ones find it active.
    values = {
        "id": uuid.uuid4(),
        "person_id": person.person_id,
        "id_number": person.id_number,
        "status": "active",
        "monthly_amount": ent.monthly_amount,
        "explanation": ent.explanation,
        "started_on": on,
        "stopped_on": None,
        "stop_reason": None,
        "hukou_division": person.hukou_division,
    }
    upsert = pg_insert(Allowance).values(values)
    restart = {k: upsert.excluded[k] for k in values if k not in ("id", "person_id")} | {"updated_at": func.now()}
    a = (
        await session.scalars(
            upsert.on_conflict_do_update(
                index_elements=[Allowance.person_id], set_=restart, where=Allowance.status != "active"
            ).returning(Allowance)
        )
    ).one_or_none()
    if a is None:
        raise Conflict("the person already receives the allowance", field="id_number")
    await emit(session, ev.AllowanceEnrolled, a)
    return a
