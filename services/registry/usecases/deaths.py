"""Deaths: a report from any channel, a registrar's confirmation, a revocation of a death recorded in error."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.domain import intake as rules
from services.registry.models import Death, DeathReport, Person
from services.registry.usecases.common import history, ref
from services.registry.usecases.reports import Intake, Item
from shared import clock, locks
from shared import event_types as ev
from shared.db import utcnow
from shared.events import publish
from shared.problems import Conflict, Invalid, NotFound


@dataclass
class DeathResult:
    report: DeathReport
    death: Death | None
    person: Person | None
    reports: list[DeathReport]
    review_id: uuid.UUID | None = None


async def report_death(
    session: AsyncSession,
    *,
    id_number: str,
    date_of_death: date,
    source: str,
    reference: str,
    channel: str,
    name: str | None = None,
    today: date | None = None,
) -> DeathResult:
    """Take one report of a death (HTTP, partner topic); a refusal raises the problem naming the field.

    Jurisdiction is the session's: a report about someone the caller does not
    cover is refused as unknown before it is compared with reports on file, and a
    repeated (source, reference) is answered with the report on file only when
    that report is about the person this one names.
    """
    today = today or clock.today()
    await locks.hold(session, "person", id_number)  # identical reports at once: the second is the duplicate
    fields = {
        "type": "death",
        "id_number": id_number,
        "date_of_death": date_of_death.isoformat(),
        "source": source,
        "reference": reference,
        "name": name,
    }
    record = rules.read(fields, today=today)
    [outcome] = await Intake(session, channel=channel, today=today).run([Item(record)])
    outcome.raise_if_rejected()
    if outcome.status == "duplicate" and outcome.record_id is None:
        existing = (
            await session.execute(
                select(DeathReport).where(DeathReport.source == source, DeathReport.reference == reference)
            )
        ).scalar_one()
        if isinstance(record, rules.DeathRecord) and existing.id_number != record.id_number:
            raise Conflict("this source and reference belong to another report", field="reference")
        return await death_result(session, existing, outcome="duplicate")
    report = await session.get(DeathReport, outcome.record_id)
    assert report is not None
    return await death_result(session, report, review_id=outcome.review_id)


async def death_result(
    session: AsyncSession, report: DeathReport, outcome: str | None = None, review_id: uuid.UUID | None = None
) -> DeathResult:
    death = person = None
    reports = [report]
    if report.death_id:
        death = await session.get(Death, report.death_id, populate_existing=True)
        if death is not None:
            person = await session.get(Person, death.person_id, populate_existing=True)
            reports = list(
                (
                    await session.execute(
                        select(DeathReport).where(DeathReport.death_id == death.id).order_by(DeathReport.seq)
                    )
                ).scalars()
            )
    if outcome:
        report = DeathReport(**{c.key: getattr(report, c.key) for c in DeathReport.__table__.columns})
        report.outcome = outcome
        report.explanation = "the same report (source and reference) was received before"
    return DeathResult(report, death, person, reports, review_id)


async def get_death(session: AsyncSession, death_id: uuid.UUID, *, lock: bool = False) -> tuple[Death, Person]:
    """The death and its person, if the person lies in the caller's division (Person is division-scoped)."""
    stmt = select(Death, Person).join(Person, Person.id == Death.person_id).where(Death.id == death_id)
    if lock:
        stmt = stmt.with_for_update()
    row = (await session.execute(stmt)).first()
    if row is None:
        raise NotFound("no such death in your division", field="death_id")
    return row[0], row[1]


async def death_reports(session: AsyncSession, death_id: uuid.UUID) -> list[DeathReport]:
    return list(
        (
            await session.execute(select(DeathReport).where(DeathReport.death_id == death_id).order_by(DeathReport.seq))
        ).scalars()
    )


async def confirm_death(
    session: AsyncSession,
    death_id: uuid.UUID,
    *,
    registrar: str,
    date_of_death: date | None = None,
    note: str | None = None,
) -> Death:
    """A registrar confirms a death (死亡确认) on file, settling a conflict by naming the date."""
    death, person = await get_death(session, death_id, lock=True)
    if death.status == "revoked":
        raise Conflict("the death was revoked; a new report records it again", field="death_id")
    if death.status == "confirmed" and date_of_death in (None, death.date_of_death):
        return death
    if death.status == "conflict" and date_of_death is None:
        raise Invalid("the sources disagree on the date: name the date of death you confirm", field="date_of_death")
    if date_of_death is not None:
        if date_of_death > clock.today() or date_of_death < person.birth_date:
            raise Invalid("the date of death is outside the person's life", field="date_of_death")
        death.date_of_death = date_of_death
        person.date_of_death = date_of_death
    death.status, death.confirmed_at, death.confirmed_by = "confirmed", utcnow(), registrar
    sources = sorted({r.source for r in await death_reports(session, death.id)})
    await session.flush()
    await publish(
        session,
        ev.DeathConfirmed(
            **ref(person),
            death_id=death.id,
            date_of_death=death.date_of_death,
            source="civil_affairs",
            status="confirmed",  # type: ignore[arg-type]
            sources=sources,
            confirmed_by="registrar",
        ),
    )
    await history(
        session,
        person.id,
        "death_confirmed",
        death.date_of_death,
        f"death confirmed by a registrar{': ' + note if note else ''}",
        death.id,
    )
    return death


async def revoke_death(session: AsyncSession, death_id: uuid.UUID, *, registrar: str, reason: str) -> Death:
    """撤销死亡登记: the death was recorded in error; the person is alive again and downstream restores."""
    death, person = await get_death(session, death_id, lock=True)
    if death.status == "revoked":
        return death
    death.status, death.revoked_at, death.revoked_by, death.revoked_reason = "revoked", utcnow(), registrar, reason
    person.status, person.date_of_death = "alive", None
    await session.flush()
    await publish(
        session, ev.DeathRevoked(**ref(person), death_id=death.id, date_of_death=death.date_of_death, reason=reason)
    )  # type: ignore[arg-type]
    await history(session, person.id, "death_revoked", death.date_of_death, f"death revoked: {reason}", death.id)
    return death


async def list_deaths(
    session: AsyncSession, *, status: str | None, limit: int, offset: int
) -> tuple[int, list[tuple[Death, Person]]]:
    from sqlalchemy import func

    stmt = select(Death, Person).join(Person, Person.id == Death.person_id)
    if status:
        stmt = stmt.where(Death.status == status)
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    rows = (await session.execute(stmt.order_by(Death.created_at.desc(), Death.id).limit(limit).offset(offset))).all()
    return total, [(d, p) for d, p in rows]
