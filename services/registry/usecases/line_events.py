"""The events of partner reports, written to the outbox by one INSERT ... SELECT a chunk, built by PostgreSQL.

A batch chunk causes thousands of events (a registration, a death, its
confirmation, a move per line). Building each as a pydantic model and
encoding it to JSON cost more of the registry's CPU than deciding the
report; here Python only appends one object of plain values per event and
the server builds each event's data from them (the outbox computes the
CloudEvent envelope around it when read, as for every event:
shared/outbox_schema.py). The data has exactly the fields of the catalogue's
model for the type (PersonRegistered, PersonDied, DeathConfirmed,
HukouMovedIn/-Out, HukouTransferred), checked against those models by
tests/registry/test_intake_events.py.

Rows keep the order they were appended in (the outbox's `seq`, the relay's
order): one person's events stay in the order their reports were decided.
"""

from __future__ import annotations

import operator
import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events import OutboxInsert

REGISTERED = "registry.person.registered"
DIED = "registry.person.died"
CONFIRMED = "registry.death.confirmed"


@dataclass(slots=True)
class LineEvent:
    """One event of a report: its type, the person as the event names them, and the fields of its type."""

    type: str
    person_id: uuid.UUID
    id_number: str
    hukou_division: str
    name: str | None = None
    sex: str | None = None
    birth_date: date | None = None
    household_id: uuid.UUID | None = None
    death_id: uuid.UUID | None = None
    date_of_death: date | None = None
    source: str | None = None
    status: str | None = None
    sources: str | None = None  # JSON list of the confirming sources
    change_id: uuid.UUID | None = None
    kind: str | None = None
    from_division: str | None = None
    to_division: str | None = None
    effective_date: date | None = None
    in_district: bool | None = None


_COLUMNS = {
    "type": "text",
    "person_id": "uuid",
    "id_number": "text",
    "hukou_division": "text",
    "name": "text",
    "sex": "text",
    "birth_date": "date",
    "household_id": "uuid",
    "death_id": "uuid",
    "date_of_death": "date",
    "source": "text",
    "status": "text",
    "sources": "text",
    "change_id": "uuid",
    "kind": "text",
    "from_division": "text",
    "to_division": "text",
    "effective_date": "date",
    "in_district": "boolean",
}
_VALUES = operator.attrgetter(*_COLUMNS)  # an event's values in column order, in one C call
_ARRAYS = ", ".join(f"CAST(:{c} AS {t}[])" for c, t in _COLUMNS.items())

# The events of the chunk's rows (one per row of the arrays, keyed and subjected by person), in their order.
_EVENTS = OutboxInsert(
    f"(SELECT * FROM unnest({_ARRAYS}) WITH ORDINALITY AS u({', '.join(_COLUMNS)}, n))",  # noqa: S608 - constants
    f"""jsonb_build_object('person_id', s.person_id, 'id_number', s.id_number, 'hukou_division', s.hukou_division)
            || CASE s.type
            WHEN '{REGISTERED}' THEN jsonb_build_object('name', s.name, 'sex', s.sex, 'birth_date', s.birth_date,
                'household_id', s.household_id)
            WHEN '{DIED}' THEN jsonb_build_object('death_id', s.death_id, 'date_of_death', s.date_of_death,
                'source', s.source, 'status', s.status)
            WHEN '{CONFIRMED}' THEN jsonb_build_object('death_id', s.death_id, 'date_of_death', s.date_of_death,
                'source', s.source, 'status', s.status, 'sources', s.sources::jsonb, 'confirmed_by', 'second_source')
            ELSE jsonb_build_object('change_id', s.change_id, 'kind', s.kind, 'from_division', s.from_division,
                'to_division', s.to_division, 'effective_date', s.effective_date, 'in_district', s.in_district)
            END""",
    type_column="s.type",
    order_by="s.n",
)
_INSERT = text(
    f"""
    WITH written AS ({_EVENTS.sql()} RETURNING 1)
    SELECT pg_notify('outbox', '') WHERE EXISTS (SELECT FROM written)
    """  # noqa: S608 - the type names and columns are constants of this module
)


async def write(session: AsyncSession, events: list[LineEvent]) -> None:
    """Write the events to the outbox in one statement, in their order, waking the relay at commit."""
    if not events:
        return
    columns = list(zip(*map(_VALUES, events), strict=True))
    params: dict[str, object] = {c: list(values) for c, values in zip(_COLUMNS, columns, strict=True)}
    params |= _EVENTS.params(*{e.type for e in events})  # each type checked against the catalogue
    await session.execute(_INSERT, params)
