"""What the other services' events do to monitoring's records and alerts, a chunk at a time.

Every event about a person keeps their record in step (made on first
hearing of them): a death marks it deceased, a case or allowance changes the
programs and categories; each change leaves a history row and a
`monitoring.record.changed` event. A death, or a benefit stopped because of
one, raises the person's one open `beneficiary_died` alert, whose list of
benefits grows as later news arrives, whichever order it comes in.

A chunk takes a fixed number of statements whatever its size: the records
are made where missing and locked at once, the open alerts read at once,
each person's events folded in order in Python (`Fold`, no I/O), and the
records, history rows, alerts and events written in bulk.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import BaseModel
from sqlalchemy import any_, cast, select
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.domain import alerts as rules
from services.monitoring.models import Alert, Record
from shared import bulk
from shared import event_types as ev
from shared.events import ReceivedEvent, publish_many

CATEGORY_OF_PROGRAM = {
    "dibao": "dibao",
    "tekun": "tekun",
    "orphan": "orphan",
    "de_facto_orphan": "orphan",
    "disability_living": "disabled",
    "disability_care": "disabled",
    "old_age_allowance": "elder",
}
ALLOWANCE = "old_age_allowance"
DEATH_ALERT = rules.AlertKind.BENEFICIARY_DIED

HANDLED = (
    "registry.person.registered",
    "registry.person.died",
    "assistance.case.enrolled",
    "assistance.case.resumed",
    "assistance.case.suspended",
    "assistance.case.terminated",
    "eldercare.allowance.enrolled",
    "eldercare.allowance.stopped",
)

RECORD_COLUMNS = {
    "id": "uuid",
    "name": "text",
    "status": "text",
    "date_of_death": "date",
    "categories": "jsonb",
    "programs": "jsonb",
}
NEW_RECORD_COLUMNS = {
    "id": "uuid",
    "person_id": "uuid",
    "id_number": "text",
    "hukou_division": "text",
    "status": "text",
    "categories": "jsonb",
    "programs": "jsonb",
}
HISTORY_COLUMNS = {"record_id": "uuid", "event_id": "text", "event_type": "text", "change": "jsonb"}
ALERT_COLUMNS = {
    "id": "uuid",
    "kind": "text",
    "status": "text",
    "person_id": "uuid",
    "id_number": "text",
    "hukou_division": "text",
    "benefits": "jsonb",
    "summary": "text",
    "details": "jsonb",
}
ALERT_CHANGE_COLUMNS = {"id": "uuid", "benefits": "jsonb", "summary": "text"}


@dataclass
class RecordRow:
    id: uuid.UUID
    person_id: uuid.UUID
    id_number: str
    hukou_division: str
    name: str | None
    status: str
    date_of_death: date | None
    categories: list[str]
    programs: dict[str, str]
    changed: bool = False


@dataclass
class AlertRow:
    id: uuid.UUID
    kind: str
    status: str
    person_id: uuid.UUID
    id_number: str
    hukou_division: str
    benefits: list[str]
    summary: str
    details: dict[str, Any]
    new: bool = False
    changed: bool = False


@dataclass
class Fold:
    """A chunk's events applied in order to the records and open alerts read for it (pure: no I/O)."""

    records: dict[uuid.UUID, RecordRow]
    alerts: dict[uuid.UUID, AlertRow]  # the open death alert of a person, by person id
    history: list[dict[str, Any]] = field(default_factory=list)
    emitted: list[BaseModel] = field(default_factory=list)

    def apply(self, event: ReceivedEvent) -> None:
        p = event.payload
        record = self.records[p.person_id]
        if isinstance(p, ev.PersonRegistered):
            record.name, record.changed = p.name, True
        elif isinstance(p, ev.PersonDied):
            self._died(record, event, p)
        elif isinstance(p, ev.CaseEvent):
            self._benefit(record, event, p.program, p)
        elif isinstance(p, ev.AllowanceEvent):
            self._benefit(record, event, ALLOWANCE, p)

    def _died(self, record: RecordRow, event: ReceivedEvent, p: ev.PersonDied) -> None:
        record.status, record.date_of_death = "deceased", p.date_of_death
        self._changed(record, event, {"status": "deceased", "date_of_death": p.date_of_death.isoformat()})
        benefits = rules.active_benefits(record.programs)
        if benefits:
            self._death_alert(record, benefits)

    def _benefit(
        self, record: RecordRow, event: ReceivedEvent, program: str, p: ev.CaseEvent | ev.AllowanceEvent
    ) -> None:
        """A case or allowance changed: the program's status; a stop because of a death also raises the alert."""
        stopped = isinstance(p, ev.CaseSuspended | ev.CaseTerminated | ev.AllowanceStopped)
        if stopped and p.reason == "death":
            self._set_program(record, event, program, "suspended")
            record.date_of_death = record.date_of_death or p.effective_date
            self._death_alert(record, [program])
        elif isinstance(p, ev.AllowanceStopped):
            self._set_program(record, event, program, "stopped")
        else:
            self._set_program(record, event, program, "active" if not stopped else p.status)

    def _set_program(self, record: RecordRow, event: ReceivedEvent, program: str, status: str) -> None:
        record.programs = {**record.programs, program: status}
        active = {p for p, s in record.programs.items() if s == "active"}
        record.categories = sorted({CATEGORY_OF_PROGRAM[p] for p in active if p in CATEGORY_OF_PROGRAM})
        self._changed(record, event, {"program": program, "status": status})

    def _changed(self, record: RecordRow, event: ReceivedEvent, change: dict[str, Any]) -> None:
        record.changed = True
        self.history.append({"record_id": record.id, "event_id": event.id, "event_type": event.type, "change": change})
        self.emitted.append(
            ev.RecordChanged(
                person_id=record.person_id,
                id_number=record.id_number,
                hukou_division=record.hukou_division,
                record_id=record.id,
                status=record.status,
                categories=list(record.categories),
                programs=sorted(record.programs),
            )
        )

    def _death_alert(self, record: RecordRow, benefits: list[str]) -> None:
        """One open alert per dead beneficiary; later news of stopped benefits joins it (no new event)."""
        dod = record.date_of_death.isoformat() if record.date_of_death else "unknown"
        alert = self.alerts.get(record.person_id)
        if alert is not None:
            merged = sorted(set(alert.benefits) | set(benefits))
            if merged != alert.benefits:
                alert.benefits, alert.summary, alert.changed = merged, rules.death_summary(merged, dod), True
            return
        alert = AlertRow(
            id=uuid.uuid4(),
            kind=DEATH_ALERT,
            status=rules.AlertStatus.OPEN,
            person_id=record.person_id,
            id_number=record.id_number,
            hukou_division=record.hukou_division,
            benefits=sorted(benefits),
            summary=rules.death_summary(sorted(benefits), dod),
            details={"date_of_death": dod},
            new=True,
        )
        self.alerts[record.person_id] = alert
        self.emitted.append(
            ev.AlertRaised(
                alert_id=alert.id,
                kind=alert.kind,
                status=alert.status,
                person_id=alert.person_id,
                hukou_division=alert.hukou_division,
                summary=alert.summary,
                benefits=alert.benefits,
            )
        )


async def apply(session: AsyncSession, events: Sequence[ReceivedEvent]) -> Fold:
    """Apply a chunk of events to records and alerts, in order, in a fixed number of statements."""
    relevant = [e for e in events if e.type in HANDLED]
    fold = Fold(records={}, alerts={})
    if not relevant:
        return fold
    firsts = {e.payload.person_id: e.payload for e in reversed(relevant)}  # each person's first event
    fold.records = await _lock_records(session, list(firsts))
    missing = [firsts[pid] for pid in sorted(firsts) if pid not in fold.records]
    if missing:  # persons not heard of before: made, then locked like the others
        await _make_records(session, missing)
        fold.records |= await _lock_records(session, [p.person_id for p in missing])
    fold.alerts = await _open_death_alerts(session, list(firsts))
    for event in relevant:
        fold.apply(event)
    await _write(session, fold)
    return fold


async def _make_records(session: AsyncSession, firsts: list[ev.PersonRef]) -> None:
    """A record for each person (sorted by person, so concurrent chunks lock in one order); one made meanwhile stays."""
    rows = [
        {"id": uuid.uuid4(), "person_id": p.person_id, "id_number": p.id_number, "hukou_division": p.hukou_division,
         "status": "active", "categories": [], "programs": {}}
        for p in firsts
    ]  # fmt: skip
    await bulk.insert(session, "records", NEW_RECORD_COLUMNS, rows, on_conflict="ON CONFLICT (person_id) DO NOTHING")


async def _lock_records(session: AsyncSession, person_ids: list[uuid.UUID]) -> dict[uuid.UUID, RecordRow]:
    t = Record.__table__
    columns = [t.c[f] for f in RecordRow.__dataclass_fields__ if f != "changed"]
    stmt = (
        select(*columns)
        .where(t.c.person_id == any_(cast(person_ids, ARRAY(UUID()))))
        .order_by(t.c.person_id)
        .with_for_update()
    )
    return {row["person_id"]: RecordRow(**row) for row in (await session.execute(stmt)).mappings()}


async def _open_death_alerts(session: AsyncSession, person_ids: list[uuid.UUID]) -> dict[uuid.UUID, AlertRow]:
    """The persons' open death alerts (their records are locked, so nobody else adds one meanwhile)."""
    t = Alert.__table__
    columns = [t.c[f] for f in AlertRow.__dataclass_fields__ if f not in ("new", "changed")]
    stmt = select(*columns).where(
        t.c.person_id == any_(cast(person_ids, ARRAY(UUID()))), t.c.kind == DEATH_ALERT, t.c.status != "resolved"
    )
    return {row["person_id"]: AlertRow(**row) for row in (await session.execute(stmt)).mappings()}


async def _write(session: AsyncSession, fold: Fold) -> None:
    changed = [vars(r) for r in fold.records.values() if r.changed]
    await bulk.update(session, "records", "id", RECORD_COLUMNS, changed, also="updated_at = now()")
    await bulk.insert(session, "record_history", HISTORY_COLUMNS, fold.history)
    await bulk.insert(session, "alerts", ALERT_COLUMNS, [vars(a) for a in fold.alerts.values() if a.new])
    merged = [vars(a) for a in fold.alerts.values() if a.changed and not a.new]
    await bulk.update(session, "alerts", "id", ALERT_CHANGE_COLUMNS, merged)
    await publish_many(session, fold.emitted)
