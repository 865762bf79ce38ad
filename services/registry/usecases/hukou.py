"""Household-registration changes (户籍迁移) from HTTP and the partner topic; resolved by effective date."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.domain import intake as rules
from services.registry.models import Person
from services.registry.usecases.reports import Intake, Item, LineOutcome
from shared import clock


async def change_hukou(
    session: AsyncSession,
    *,
    id_number: str,
    kind: str,
    from_division: str | None,
    to_division: str | None,
    effective_date: date,
    source: str,
    reference: str,
    channel: str,
    name: str | None = None,
    scope: str | None = None,
    today: date | None = None,
) -> tuple[LineOutcome, Person | None]:
    today = today or clock.today()
    fields = {
        "type": "hukou",
        "id_number": id_number,
        "kind": kind,
        "from_division": from_division,
        "to_division": to_division,
        "effective_date": effective_date.isoformat(),
        "source": source,
        "reference": reference,
        "name": name,
    }
    record = rules.read(fields, today=today)
    [outcome] = await Intake(session, channel=channel, scope=scope, today=today).run([Item(record)])
    outcome.raise_if_rejected()
    person = await session.get(Person, outcome.person_id, populate_existing=True) if outcome.person_id else None
    return outcome, person
