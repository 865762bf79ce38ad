"""Running a reconciliation (对账): read what assistance and eldercare hold, compare, repair, report.

The owners are read over their public list endpoints (`GET /v1/cases`,
`GET /v1/allowances`, every status, a page of 500 at a time) with a service
token of the caller's division, so a town reconciles its own people only.
Everything is read before anything is repaired: an owner that cannot be read
fails the run (503, nothing changed), because a half-read owner would look
like benefits that vanished. The records in scope are then read in one
statement, `domain.reconciliation.plan` lists the repairs, and
`effects.repair` applies them in a fixed number of statements, with history
rows, `monitoring.record.changed` events and the alerts the rules now find.

The registry is read too, for the person behind each record (a lost death,
revocation or move leaves a record's status wrong for ever otherwise): its
`POST /v1/persons/snapshot` answers the status and registration of the
records' persons, 500 ids a request, and `plan_persons` lists the records
that differ.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring import effects
from services.monitoring.domain import reconciliation as rec
from services.monitoring.models import Reconciliation, Record
from shared import auth, divisions
from shared.db import utcnow
from shared.problems import DomainError
from shared.settings import Settings

PAGE = 500
ASSISTANCE_PROGRAMS = frozenset(
    {"dibao", "tekun", "temporary", "orphan", "de_facto_orphan", "disability_living", "disability_care"}
)


@dataclass(frozen=True)
class Source:
    name: str
    url: str
    path: str
    owned: frozenset[str]
    scope: str  # the token scope that reads it


def sources(settings: Settings) -> list[Source]:
    return [
        Source("assistance", settings.assistance_url, "/v1/cases", ASSISTANCE_PROGRAMS, "assistance:read"),
        Source("eldercare", settings.eldercare_url, "/v1/allowances", frozenset({effects.ALLOWANCE}), "eldercare:read"),
    ]


def held_of(source: Source, item: dict[str, Any]) -> rec.Held:
    """One case or allowance as the owner answers it."""
    return rec.Held(
        person_id=uuid.UUID(item["person_id"]),
        id_number=item["id_number"],
        hukou_division=item["hukou_division"],
        program=item.get("program", effects.ALLOWANCE),
        status=item["status"],
        monthly_amount=Decimal(item["monthly_amount"]),
        reason=item.get("status_reason") or item.get("stop_reason"),
    )


def _unavailable(source: Source, detail: str) -> DomainError:
    return DomainError(
        f"{source.name} cannot be read for the reconciliation ({detail}); nothing was repaired: try again",
        status=503, type="source-unavailable", title="Source unavailable",
    )  # fmt: skip


async def read_source(settings: Settings, source: Source, scope: str) -> list[rec.Held]:
    """Every case (or allowance) of the scope, whatever its status, a page at a time."""
    token = auth.issue_token(
        settings, sub="service:monitoring", scopes=f"{source.scope} pii:read", division=scope, ttl_seconds=600
    )
    held: list[rec.Held] = []
    async with httpx.AsyncClient(
        base_url=source.url, timeout=30.0, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        offset = 0
        while True:
            try:
                resp = await client.get(source.path, params={"limit": PAGE, "offset": offset})
            except httpx.HTTPError as exc:
                raise _unavailable(source, type(exc).__name__) from exc
            if resp.status_code != 200:
                raise _unavailable(source, f"answered {resp.status_code}")
            page = resp.json()
            held += [held_of(source, item) for item in page["items"]]
            offset += len(page["items"])
            if not page["items"] or offset >= page["total"]:
                return held


async def read_registry(settings: Settings, scope: str, person_ids: list[uuid.UUID]) -> list[rec.PersonHeld]:
    """The registry's snapshot of the records' persons (of the scope), a page of ids at a time."""
    source = Source("registry", settings.registry_url, "/v1/persons/snapshot", frozenset(), "registry:read")
    token = auth.issue_token(settings, sub="service:monitoring", scopes=source.scope, division=scope, ttl_seconds=600)
    held: list[rec.PersonHeld] = []
    async with httpx.AsyncClient(base_url=source.url, timeout=30.0, headers={"Authorization": f"Bearer {token}"}) as c:
        for start in range(0, len(person_ids), PAGE):
            page = [str(pid) for pid in person_ids[start : start + PAGE]]
            try:
                resp = await c.post(source.path, json={"person_ids": page})
            except httpx.HTTPError as exc:
                raise _unavailable(source, type(exc).__name__) from exc
            if resp.status_code != 200:
                raise _unavailable(source, f"answered {resp.status_code}")
            held += [
                rec.PersonHeld(uuid.UUID(i["person_id"]), i["status"],
                               date.fromisoformat(i["date_of_death"]) if i["date_of_death"] else None,
                               i["hukou_division"], i["in_district"])
                for i in resp.json()["items"]
            ]  # fmt: skip
    return held


async def persons(session: AsyncSession, scope: str) -> dict[uuid.UUID, rec.PersonHeld]:
    """What every record of the scope says of its person (status, death, registration)."""
    t = Record.__table__
    stmt = select(t.c.person_id, t.c.status, t.c.date_of_death, t.c.hukou_division, t.c.in_district).where(
        divisions.covers_clause(t.c.hukou_division, scope)
    )
    return {r.person_id: rec.PersonHeld(*r) for r in await session.execute(stmt)}


async def copies(session: AsyncSession, scope: str) -> dict[uuid.UUID, rec.Copy]:
    """What every record of the scope says of its benefits (one with none is still a record: not to be made)."""
    t = Record.__table__
    stmt = select(t.c.person_id, t.c.programs, t.c.amounts).where(divisions.covers_clause(t.c.hukou_division, scope))
    return {row.person_id: rec.Copy(row.programs, row.amounts) for row in await session.execute(stmt)}


def _report(fix: rec.Repair) -> dict[str, Any]:
    return {"person_id": str(fix.person_id), "program": fix.program, "source": fix.source, "before": fix.before,
            "after": fix.after, "new_record": fix.new_record}  # fmt: skip


async def run(session: AsyncSession, settings: Settings, scope: str, by: str) -> Reconciliation:
    """Compare the scope's records with both owners and repair the drift; the reconciliation with its report."""
    row = Reconciliation(hukou_division=scope, status="running", created_by=by, counts={}, repairs=[])
    session.add(row)
    await session.commit()
    people = await persons(session, scope)
    try:
        held = {s.name: (s, await read_source(settings, s, scope)) for s in sources(settings)}
        registry = await read_registry(settings, scope, sorted(people))
    except DomainError as exc:
        row.status, row.error, row.finished_at = "failed", exc.detail, utcnow()
        await session.commit()
        raise
    have = await copies(session, scope)
    fixes = rec.plan_persons(people, registry)
    fixes += [fix for source, items in held.values() for fix in rec.plan(have, items, source.owned, source.name)]
    fold = await effects.repair(session, fixes, f"reconciliation:{row.id}")
    row.status, row.finished_at = "finished", utcnow()
    row.repairs = [_report(f) for f in fixes]
    row.counts = {
        **{f"{name}_held": len(items) for name, (_, items) in held.items()},
        "registry_held": len(registry),
        "records_compared": len(have),
        "repaired": len(fixes),
        "records_repaired": len({f.person_id for f in fixes}),
        "records_made": len({f.person_id for f in fixes if f.new_record}),
        "alerts_raised": fold.raised,
        "alerts_closed": fold.closed,
    }
    await session.commit()
    return row
