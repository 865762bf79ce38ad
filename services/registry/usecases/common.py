"""What every registry use case shares: a person's history, lookups, bulk row copies.

Events go to the outbox through `shared.events.publish` / `publish_many` (the one outbox writer).
"""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Any

from sqlalchemy import Table, insert, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.models import Person, PersonEvent


def ref(person: Person) -> dict[str, Any]:
    return {"person_id": person.id, "id_number": person.id_number, "hukou_division": person.hukou_division}


async def history(
    session: AsyncSession,
    person_id: uuid.UUID,
    kind: str,
    on: date | None,
    summary: str,
    ref_id: uuid.UUID | None = None,
) -> None:
    await session.execute(
        insert(PersonEvent).values(person_id=person_id, kind=kind, occurred_on=on, summary=summary[:300], ref_id=ref_id)
    )


async def person_by_id_number(session: AsyncSession, id_number: str, *, lock: bool = False) -> Person | None:
    stmt = select(Person).where(Person.id_number == id_number)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def copy_rows(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> None:
    """Append many rows in the session's transaction with PostgreSQL COPY (batches: far cheaper than INSERTs).

    Columns left out take their defaults (identity sequences, `now()`); JSONB
    values are passed as JSON text.
    """
    if not rows:
        return
    columns = list(rows[0])
    jsonb = {c.name for c in table.columns if isinstance(c.type, JSONB)}
    records = [
        tuple(json.dumps(r[c], ensure_ascii=False, default=str) if c in jsonb else r[c] for c in columns) for r in rows
    ]
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    await raw.driver_connection.copy_records_to_table(table.name, columns=columns, records=records)  # type: ignore[union-attr]
