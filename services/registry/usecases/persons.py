"""Persons (居民): register, find, and a person's full history."""

from __future__ import annotations

import uuid
from datetime import date
from types import SimpleNamespace

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.models import Person, PersonEvent
from services.registry.usecases.reviews import OPEN, apply_waiting_for
from shared import event_types as ev
from shared import identity
from shared.db import guard
from shared.events import outbox_cte, outbox_params
from shared.problems import Conflict, Invalid, NotFound

# Registering is one statement: the person inserted unless the number is taken (the unique index decides,
# district-wide, and makes an identical request sent at once wait for the first and find it taken), the first
# line of their history, their event in the outbox (built before: every field is given or read from the number),
# and whether reports wait for this number. Before, an advisory lock, a lookup, the insert, the history line, the
# reviews' lookup and the outbox were six round trips, each through the ORM.
_REGISTER = text(
    f"""
    WITH person AS (
        INSERT INTO persons (id, id_number, name, sex, birth_date, hukou_division, registered_division,
                             in_district, status, marital_status)
        VALUES (:id, :id_number, :name, :sex, :birth_date, :hukou_division, :hukou_division,
                true, 'alive', 'unmarried')
        ON CONFLICT (id_number) DO NOTHING
        RETURNING *
    ), history AS (
        INSERT INTO person_events (person_id, kind, occurred_on, summary, ref_id)
        SELECT id, 'registered', NULL, :summary, id FROM person
    ), written AS ({outbox_cte("EXISTS (SELECT FROM person)")})
    SELECT person.*, EXISTS (
        SELECT FROM review_items r
        WHERE r.id_number = :id_number AND r.reason_code = 'unknown_person' AND r.status = ANY(:open)
    ) AS reports_waiting
    FROM person
    """  # noqa: S608 - a constant of shared.events
)


async def register_person(
    session: AsyncSession,
    *,
    id_number: str,
    name: str,
    hukou_division: str,
    sex: str | None = None,
    birth_date: date | None = None,
) -> Person | SimpleNamespace:
    """Register a person (409 when the number is registered anywhere); the row as registered comes back."""
    number = identity.parse(id_number)
    if sex is not None and sex != number.sex:
        raise Invalid(f"sex {sex} does not match the identity number ({number.sex})", field="sex")
    if birth_date is not None and birth_date != number.birth_date:
        raise Invalid(f"birth date does not match the identity number ({number.birth_date})", field="birth_date")
    guard(session, hukou_division, field="hukou_division", detail="no such division in your jurisdiction")
    person_id = uuid.uuid4()
    event = ev.PersonRegistered(
        person_id=person_id,
        id_number=number.value,
        hukou_division=hukou_division,
        name=name,
        sex=number.sex,  # type: ignore[arg-type]
        birth_date=number.birth_date,
    )
    values = {
        "id": person_id,
        "id_number": number.value,
        "name": name,
        "sex": number.sex,
        "birth_date": number.birth_date,
        "hukou_division": hukou_division,
        "summary": f"registered in {hukou_division}"[:300],
        "open": list(OPEN),
    }
    row = (await session.execute(_REGISTER, values | outbox_params([event]))).mappings().one_or_none()
    if row is None:  # the answer names no one: uniqueness is district-wide
        raise Conflict("a person with this identity number is already registered", field="id_number")
    person = SimpleNamespace(**{k: v for k, v in row.items() if k != "reports_waiting"})
    if row["reports_waiting"]:  # rare: reports about this number arrived before it was registered
        await apply_waiting_for(session, await get_person(session, person.id))
    return person


async def get_person(session: AsyncSession, person_id: uuid.UUID) -> Person:
    person = (await session.execute(select(Person).where(Person.id == person_id))).scalar_one_or_none()
    if person is None:
        raise NotFound("no such person in your division", field="person_id")
    return person


async def person_history(
    session: AsyncSession, person_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[int, list[PersonEvent]]:
    await get_person(session, person_id)  # division check
    stmt = select(PersonEvent).where(PersonEvent.person_id == person_id)
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    rows = (await session.execute(stmt.order_by(PersonEvent.seq).limit(limit).offset(offset))).scalars().all()
    return total, list(rows)
