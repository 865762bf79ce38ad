"""The local copy of the registry's person index that downstream services keep.

A service never reads the registry's database: it learns persons from
`registry.events.v1` (registered, died, moved) into its own `people` table,
and when a caller names someone it has not heard of yet (the event is still
on its way) it asks the registry over HTTP, with its service token.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
from sqlalchemy import Boolean, Column, Date, DateTime, MetaData, String, Table, func, select
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared import auth
from shared.db import NAMING
from shared.events import ReceivedEvent
from shared.problems import DomainError, NotFound
from shared.settings import Settings

people_metadata = MetaData(naming_convention=NAMING)
UNKNOWN = "no person with this identity number is registered"  # also the answer for one outside the caller's division

people = Table(
    "people",
    people_metadata,
    Column("person_id", UUID(as_uuid=True), primary_key=True),
    Column("id_number", String(18), nullable=False, unique=True),
    Column("name", String(100)),
    Column("sex", String(1)),
    Column("birth_date", Date),
    Column("hukou_division", String(12), nullable=False),
    Column("in_district", Boolean, nullable=False, server_default="true"),
    Column("status", String(20), nullable=False, server_default="alive"),
    Column("date_of_death", Date),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


@dataclass(frozen=True)
class KnownPerson:
    person_id: uuid.UUID
    id_number: str
    name: str | None
    birth_date: date | None
    hukou_division: str
    status: str
    date_of_death: date | None
    in_district: bool = True


async def upsert(session: AsyncSession, **values: Any) -> None:
    stmt = pg_insert(people).values(**values)
    update = {k: stmt.excluded[k] for k in values if k not in ("person_id",)}
    await session.execute(stmt.on_conflict_do_update(index_elements=[people.c.person_id], set_={**update, "updated_at": func.now()}))


async def learn(session: AsyncSession, event: ReceivedEvent) -> None:
    """Keep the copy in step with one registry event (all carry person_id, id_number, division)."""
    d = event.data
    if "person_id" not in d or "id_number" not in d:
        return
    values: dict[str, Any] = {
        "person_id": uuid.UUID(str(d["person_id"])),
        "id_number": d["id_number"],
        "hukou_division": d["hukou_division"],
    }
    if event.type == "registry.person.registered":
        values |= {"name": d.get("name"), "sex": d.get("sex"), "birth_date": date.fromisoformat(d["birth_date"])}
    elif event.type == "registry.person.died":
        values |= {"status": "deceased", "date_of_death": date.fromisoformat(d["date_of_death"])}
    elif event.type == "registry.death.revoked":
        values |= {"status": "alive", "date_of_death": None}
    elif event.type.startswith("registry.hukou."):
        values |= {"in_district": bool(d.get("in_district", True))}
    await upsert(session, **values)


async def find(session: AsyncSession, id_number: str) -> KnownPerson | None:
    row = (await session.execute(select(people).where(people.c.id_number == id_number))).mappings().first()
    return KnownPerson(**{k: row[k] for k in KnownPerson.__dataclass_fields__}) if row else None


async def by_id(session: AsyncSession, person_id: uuid.UUID) -> KnownPerson | None:
    row = (await session.execute(select(people).where(people.c.person_id == person_id))).mappings().first()
    return KnownPerson(**{k: row[k] for k in KnownPerson.__dataclass_fields__}) if row else None


def service_token(settings: Settings) -> str:
    return settings.service_token or auth.issue_token(
        settings, sub=f"service:{settings.service}", scopes="registry:read pii:read", division="340207", ttl_seconds=600
    )


async def resolve(session: AsyncSession, settings: Settings, id_number: str) -> KnownPerson:
    """The person with this identity number: from the local copy, else from the registry."""
    known = await find(session, id_number)
    if known is not None:
        return known
    try:
        async with httpx.AsyncClient(base_url=settings.registry_url, timeout=5.0) as client:
            # POST, so the identity number stays out of URLs and access logs.
            resp = await client.post(
                "/v1/persons/search", json={"id_number": id_number}, headers={"Authorization": f"Bearer {service_token(settings)}"}
            )
    except httpx.HTTPError as exc:
        raise DomainError("the registry cannot be reached to look the person up; try again", status=503, type="registry-unavailable", title="Registry unavailable") from exc
    if resp.status_code != 200:
        raise DomainError(f"the registry answered {resp.status_code}", status=503, type="registry-unavailable", title="Registry unavailable")
    items = resp.json().get("items", [])
    if not items:
        raise NotFound(UNKNOWN, field="id_number")
    p = items[0]
    values = {
        "person_id": uuid.UUID(p["person_id"]),
        "id_number": id_number,
        "name": p["name"],
        "sex": p["sex"],
        "birth_date": date.fromisoformat(p["birth_date"]),
        "hukou_division": p["hukou_division"],
        "in_district": p["in_district"],
        "status": p["status"],
        "date_of_death": date.fromisoformat(p["date_of_death"]) if p.get("date_of_death") else None,
    }
    await upsert(session, **values)
    return KnownPerson(**{k: values[k] for k in KnownPerson.__dataclass_fields__})
