"""Monitoring use cases: keep records in step with every event, raise alerts; the caller commits."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.domain import alerts as rules
from services.monitoring.models import Alert, Record, RecordHistory
from shared import event_types as ev
from shared.db import utcnow
from shared.events import ReceivedEvent, publish
from shared.problems import Conflict, NotFound

CATEGORY_OF_PROGRAM = {
    "dibao": "dibao",
    "tekun": "tekun",
    "orphan": "orphan",
    "de_facto_orphan": "orphan",
    "disability_living": "disabled",
    "disability_care": "disabled",
    "old_age_allowance": "elder",
}


async def record_for(session: AsyncSession, data: dict[str, Any]) -> Record:
    """The person's record, made on first hearing of them (any event carrying a person)."""
    person_id = uuid.UUID(str(data["person_id"]))
    record = (await session.execute(select(Record).where(Record.person_id == person_id).with_for_update())).scalar_one_or_none()
    if record is None:
        record = Record(
            id=uuid.uuid4(), person_id=person_id, id_number=data["id_number"], hukou_division=data["hukou_division"],
            status="active", categories=[], programs={},
        )
        session.add(record)
        await session.flush()
    return record


async def changed(session: AsyncSession, record: Record, event: ReceivedEvent, change: dict[str, Any]) -> None:
    session.add(RecordHistory(record_id=record.id, event_id=event.id, event_type=event.type, change=change))
    await session.flush()
    await publish(
        session,
        ev.RecordChanged(
            person_id=record.person_id, id_number=record.id_number, hukou_division=record.hukou_division,
            record_id=record.id, status=record.status, categories=list(record.categories), programs=sorted(record.programs),
        ),
    )


async def set_program(session: AsyncSession, event: ReceivedEvent, program: str, status: str) -> Record:
    record = await record_for(session, event.data)
    record.programs = {**record.programs, program: status}
    cats = {CATEGORY_OF_PROGRAM[p] for p, s in record.programs.items() if s == "active" and p in CATEGORY_OF_PROGRAM}
    record.categories = sorted(cats)
    await changed(session, record, event, {"program": program, "status": status})
    return record


async def person_died(session: AsyncSession, event: ReceivedEvent) -> None:
    record = await record_for(session, event.data)
    record.status = "deceased"
    record.date_of_death = date.fromisoformat(event.data["date_of_death"])
    await changed(session, record, event, {"status": "deceased", "date_of_death": event.data["date_of_death"]})
    benefits = rules.active_benefits(record.programs)
    if benefits:
        await raise_death_alert(session, record, benefits)


async def benefit_stopped_by_death(session: AsyncSession, event: ReceivedEvent, program: str) -> None:
    record = await set_program(session, event, program, "suspended")
    if record.date_of_death is None:
        record.date_of_death = date.fromisoformat(event.data["effective_date"])
    await raise_death_alert(session, record, [program])


async def raise_death_alert(session: AsyncSession, record: Record, benefits: list[str]) -> Alert:
    """One open alert per dead beneficiary; later news of stopped benefits joins it."""
    kind = rules.AlertKind.BENEFICIARY_DIED
    alert = (
        await session.execute(
            select(Alert).where(Alert.person_id == record.person_id, Alert.kind == kind, Alert.status != "resolved").with_for_update()
        )
    ).scalar_one_or_none()
    dod = record.date_of_death.isoformat() if record.date_of_death else "unknown"
    if alert is not None:
        merged = sorted(set(alert.benefits) | set(benefits))
        if merged != alert.benefits:
            alert.benefits = merged
            alert.summary = rules.death_summary(merged, dod)
        return alert
    alert = Alert(
        id=uuid.uuid4(), kind=kind, status="open", person_id=record.person_id, id_number=record.id_number,
        hukou_division=record.hukou_division, benefits=sorted(benefits), summary=rules.death_summary(sorted(benefits), dod),
        details={"date_of_death": dod},
    )
    session.add(alert)
    await session.flush()
    await _publish_alert(session, alert, ev.AlertRaised)
    return alert


async def _open_alert(session: AsyncSession, alert_id: uuid.UUID) -> Alert:
    alert = (await session.execute(select(Alert).where(Alert.id == alert_id).with_for_update())).scalar_one_or_none()
    if alert is None:
        raise NotFound("no such alert in your division")
    if alert.status == rules.AlertStatus.RESOLVED:
        raise Conflict("the alert is already resolved")
    return alert


async def assign_alert(session: AsyncSession, alert_id: uuid.UUID, *, assignee: str, by: str) -> Alert:
    alert = await _open_alert(session, alert_id)
    alert.assignee = assignee
    alert.status = rules.AlertStatus.ASSIGNED
    alert.details = {**alert.details, "assigned_by": by}
    await session.flush()
    return alert


async def resolve_alert(session: AsyncSession, alert_id: uuid.UUID, *, resolution: str, by: str) -> Alert:
    """Close the alert with what was done; partners hear of it on monitoring.alerts.v1."""
    alert = await _open_alert(session, alert_id)
    alert.status = rules.AlertStatus.RESOLVED
    alert.resolution = resolution
    alert.resolved_at = utcnow()
    alert.details = {**alert.details, "resolved_by": by}
    await session.flush()
    await _publish_alert(session, alert, ev.AlertResolved)
    return alert


async def _publish_alert(session: AsyncSession, alert: Alert, model: type[ev.AlertEvent]) -> None:
    await publish(
        session,
        model(
            alert_id=alert.id, kind=alert.kind, status=alert.status, person_id=alert.person_id,
            hukou_division=alert.hukou_division, summary=alert.summary, benefits=alert.benefits,
        ),
    )
