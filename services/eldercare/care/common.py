"""What the care use cases share: finding the person a write names, within the caller's division."""

from __future__ import annotations

from datetime import date

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared import clock, people
from shared.db import guard
from shared.problems import Conflict, Invalid
from shared.settings import Settings

UNKNOWN_PERSON = "no person with this identity number is registered"


async def person_in_scope(
    session: AsyncSession, settings: Settings, id_number: str, *, alive: bool = True
) -> people.KnownPerson:
    """The person named by a write; another division's resident answers exactly like an unknown number (404)."""
    person = await people.resolve(session, settings, id_number)
    guard(session, person.hukou_division, field="id_number", detail=UNKNOWN_PERSON)
    if alive and person.status == "deceased":
        raise Invalid(f"the person is recorded as deceased (died {person.date_of_death})", field="id_number")
    return person


def not_future(on: date, field: str) -> date:
    if on > clock.today():
        raise Invalid(f"{on} is in the future", field=field)
    return on


def constraint_of(exc: IntegrityError) -> str:
    """The name of the constraint a failed insert violated (asyncpg reports it)."""
    orig = getattr(exc.orig, "__cause__", None) or exc.orig
    return getattr(orig, "constraint_name", None) or str(exc.orig)


async def flush_or_conflict(session: AsyncSession, conflicts: dict[str, Conflict]) -> None:
    """Flush; a unique violation of a known constraint becomes its 409 problem (the race's loser)."""
    try:
        await session.flush()
    except IntegrityError as exc:
        name = constraint_of(exc)
        for constraint, problem in conflicts.items():
            if constraint in name:
                raise problem from exc
        raise
