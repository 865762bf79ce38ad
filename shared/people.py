"""The local copy of the registry's person index that downstream services keep.

A service never reads the registry's database: it learns persons from
`registry.events.v1` (registered, died, moved) into its own `people` table,
and when a caller names someone it has not heard of yet (the event is still
on its way) it asks the registry over HTTP, with its service token.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
from pydantic import BaseModel
from sqlalchemy import Boolean, Column, Date, DateTime, MetaData, String, Table, any_, cast, func, select
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared import auth, bulk
from shared import event_types as ev
from shared.db import NAMING
from shared.problems import DomainError, NotFound
from shared.settings import Settings

people_metadata = MetaData(naming_convention=NAMING)
UNKNOWN = "no person with this identity number is registered"  # also the answer for one outside the caller's division

# Assistance's copy keeps a fifth of each page free (its migration 0012): a death's update stays HOT there.
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
    upsert = stmt.on_conflict_do_update(index_elements=[people.c.person_id], set_={**update, "updated_at": func.now()})
    await session.execute(upsert)


# The copy's columns as they travel in bulk (shared.bulk), with their PostgreSQL types.
COLUMNS = {
    "person_id": "uuid",
    "id_number": "text",
    "name": "text",
    "sex": "text",
    "birth_date": "date",
    "hukou_division": "text",
    "in_district": "boolean",
    "status": "text",
    "date_of_death": "date",
}
_NEW = {"name": None, "sex": None, "birth_date": None, "in_district": True, "status": "alive", "date_of_death": None}


def fold(row: dict[str, Any] | None, payload: ev.PersonRef) -> dict[str, Any]:
    """The copy of a person after one registry event (`row` None: not heard of before).

    Every registry event about a person carries its id, identity number and
    division; a registration adds who they are, a death or its revocation
    their status, a hukou change whether they are still in the district.
    """
    new = {**_NEW, **(row or {})}
    new |= {"person_id": payload.person_id, "id_number": payload.id_number, "hukou_division": payload.hukou_division}
    if isinstance(payload, ev.PersonRegistered):
        new |= {"name": payload.name, "sex": payload.sex, "birth_date": payload.birth_date}
    elif isinstance(payload, ev.PersonDied):
        new |= {"status": "deceased", "date_of_death": payload.date_of_death}
    elif isinstance(payload, ev.DeathRevoked):
        new |= {"status": "alive", "date_of_death": None}
    elif isinstance(payload, ev.HukouChanged):
        new |= {"in_district": payload.in_district}
    return new


async def learn_many(
    session: AsyncSession, payloads: Sequence[BaseModel], known: dict[uuid.UUID, dict[str, Any]] | None = None
) -> None:
    """Keep the copy in step with a chunk of registry events, in order, in two statements.

    The persons' rows are read at once, each person's events folded over their
    row in order, and the final rows written with one upsert. A caller that has
    already read the rows (`known`, by person id, the COLUMNS of those found)
    saves the read.
    """
    refs = [p for p in payloads if isinstance(p, ev.PersonRef)]
    if not refs:
        return
    if known is None:
        ids = list(dict.fromkeys(p.person_id for p in refs))
        found = await session.execute(select(people).where(people.c.person_id == any_(cast(ids, ARRAY(UUID())))))
        known = {r["person_id"]: {c: r[c] for c in COLUMNS} for r in found.mappings()}
    rows: dict[uuid.UUID, dict[str, Any]] = {k: dict(v) for k, v in known.items()}
    for payload in refs:
        rows[payload.person_id] = fold(rows.get(payload.person_id), payload)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS if c != "person_id")
    await bulk.insert(
        session,
        "people",
        COLUMNS,
        list(rows.values()),
        on_conflict=f"ON CONFLICT (person_id) DO UPDATE SET {updates}, updated_at = now()",
    )


async def find(session: AsyncSession, id_number: str) -> KnownPerson | None:
    row = (await session.execute(select(people).where(people.c.id_number == id_number))).mappings().first()
    return KnownPerson(**{k: row[k] for k in KnownPerson.__dataclass_fields__}) if row else None


async def by_id(session: AsyncSession, person_id: uuid.UUID) -> KnownPerson | None:
    row = (await session.execute(select(people).where(people.c.person_id == person_id))).mappings().first()
    return KnownPerson(**{k: row[k] for k in KnownPerson.__dataclass_fields__}) if row else None


def _unavailable(detail: str) -> DomainError:
    return DomainError(detail, status=503, type="registry-unavailable", title="Registry unavailable")


def service_token(settings: Settings) -> str:
    return settings.service_token or auth.issue_token(
        settings, sub=f"service:{settings.service}", scopes="registry:read pii:read", division="340207", ttl_seconds=600
    )


async def resolve(session: AsyncSession, settings: Settings, id_number: str, *, copy_now: bool = True) -> KnownPerson:
    """The person with this identity number: from the local copy, else from the registry.

    A person found at the registry is written to the copy at once, or, with `copy_now=False`, by
    `remember(session)` once the caller has locked what it writes: a consumer locks a person's rows
    (an allowance) before it writes the copy, and a request taking them in the other order could deadlock
    with it.
    """
    known = await find(session, id_number)
    if known is not None:
        return known
    try:
        async with httpx.AsyncClient(base_url=settings.registry_url, timeout=5.0) as client:
            # POST, so the identity number stays out of URLs and access logs.
            resp = await client.post(
                "/v1/persons/search",
                json={"id_number": id_number},
                headers={"Authorization": f"Bearer {service_token(settings)}"},
            )
    except httpx.HTTPError as exc:
        raise _unavailable("the registry cannot be reached to look the person up; try again") from exc
    if resp.status_code != 200:
        raise _unavailable(f"the registry answered {resp.status_code}")
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
    if copy_now:
        await upsert(session, **values)
    else:
        session.info.setdefault("people_copy", []).append(values)
    return KnownPerson(**{k: values[k] for k in KnownPerson.__dataclass_fields__})


async def remember(session: AsyncSession) -> None:
    """Write to the copy the persons `resolve(copy_now=False)` found at the registry in this transaction."""
    for values in session.info.pop("people_copy", []):
        await upsert(session, **values)
