"""Persons (居民): register, find, and a person's full history."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.models import Person, PersonEvent
from services.registry.usecases.common import history, person_by_id_number, ref
from services.registry.usecases.reviews import apply_waiting_for
from shared import event_types as ev
from shared import identity, locks
from shared.db import guard, unscoped
from shared.events import publish
from shared.problems import Conflict, Invalid, NotFound


async def register_person(
    session: AsyncSession,
    *,
    id_number: str,
    name: str,
    hukou_division: str,
    sex: str | None = None,
    birth_date: date | None = None,
) -> Person:
    number = identity.parse(id_number)
    if sex is not None and sex != number.sex:
        raise Invalid(f"sex {sex} does not match the identity number ({number.sex})", field="sex")
    if birth_date is not None and birth_date != number.birth_date:
        raise Invalid(f"birth date does not match the identity number ({number.birth_date})", field="birth_date")
    guard(session, hukou_division, field="hukou_division", detail="no such division in your jurisdiction")
    await locks.hold(session, "person", number.value)  # identical requests at once: the second sees the first's row
    with unscoped(session):  # uniqueness is district-wide; the answer names no one
        if await person_by_id_number(session, number.value):
            raise Conflict("a person with this identity number is already registered", field="id_number")
    # One INSERT … RETURNING: the row comes back whole (server defaults such as created_at included), so
    # the answer needs no flush-then-refresh (a SELECT, and a BEGIN and ROLLBACK when done after commit).
    values = {
        "id": uuid.uuid4(),
        "id_number": number.value,
        "name": name,
        "sex": number.sex,
        "birth_date": number.birth_date,
        "hukou_division": hukou_division,
        "registered_division": hukou_division,
        "in_district": True,
        "status": "alive",
        "marital_status": "unmarried",
    }
    person = (await session.scalars(insert(Person).values(values).returning(Person))).one()
    await publish(session, ev.PersonRegistered(**ref(person), name=name, sex=person.sex, birth_date=person.birth_date))  # type: ignore[arg-type]
    await history(session, person.id, "registered", None, f"registered in {hukou_division}", person.id)
    await apply_waiting_for(session, person)
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
