"""Monitoring use cases: the alert workflow, thresholds, the warnings run and imports; the caller commits.

What other services' events do to records and alerts is in effects.py (set-based).
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring import effects
from services.monitoring.domain import alerts as rules
from services.monitoring.models import Alert, AlertComment, Import, Record, WarningThresholds
from shared import divisions, identity, people
from shared import event_types as ev
from shared.auth import Principal
from shared.db import utcnow
from shared.events import ReceivedEvent, publish
from shared.problems import Conflict, Invalid, NotFound
from shared.settings import Settings


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
    if alert.kind == "paid_after_death" and alert.person_id is not None:
        # Nobody publishes a recovery: the caseworker's resolution is the news that the money is settled,
        # so the next event about the person does not raise the same overpayment again.
        await session.execute(
            update(Record).where(Record.person_id == alert.person_id).values(open_overpayments=Decimal("0"))
        )
    await session.flush()
    await _publish_alert(session, alert, ev.AlertResolved)
    return alert


async def _publish_alert(session: AsyncSession, alert: Alert, model: type[ev.AlertEvent]) -> None:
    await publish(
        session,
        model(
            alert_id=alert.id,
            kind=alert.kind,
            status=alert.status,
            person_id=alert.person_id,
            hukou_division=alert.hukou_division,
            summary=alert.summary,
            benefits=alert.benefits,
        ),
    )


async def comment_alert(session: AsyncSession, alert_id: uuid.UUID, *, text: str, by: str) -> AlertComment:
    """A note on an alert, open or resolved (follow-up often continues after the money is recovered)."""
    alert = (await session.execute(select(Alert).where(Alert.id == alert_id))).scalar_one_or_none()
    if alert is None:
        raise NotFound("no such alert in your division")
    comment = AlertComment(alert_id=alert_id, author=by, text=text)
    session.add(comment)
    await session.flush()
    await session.refresh(comment)
    return comment


async def add_thresholds(session: AsyncSession, values: dict[str, Any], *, by: str) -> WarningThresholds:
    """A new effective-dated row of thresholds; the rows before it stay, so every change is on file with its author."""
    exists = await session.execute(
        select(WarningThresholds.id).where(WarningThresholds.effective_from == values["effective_from"])
    )
    if exists.first() is not None:
        raise Conflict("thresholds already start on that date: add a row with another date", field="effective_from")
    row = WarningThresholds(**values, created_by=by)
    session.add(row)
    await session.flush()
    await session.refresh(row)
    return row


async def run_warnings(session: AsyncSession, as_of: date, scope: str, page: int = 2000) -> dict[str, int]:
    """Every record through every rule on `as_of`, a page of records per transaction (set-based within a page)."""
    totals = {"records": 0, "raised": 0, "closed": 0}
    after: uuid.UUID | None = None
    while True:
        fold, after = await effects.review_all(session, as_of, after, page, scope)
        await session.commit()
        totals["records"] += len(fold.records)
        totals["raised"] += fold.raised
        totals["closed"] += fold.closed
        if after is None or len(fold.records) < page:
            return totals


def read_list(body: bytes, fmt: str) -> list[dict[str, Any]]:
    """The lines of an imported list: CSV with a header naming `id_number`, or one JSON object per line."""
    text = body.decode("utf-8-sig")
    if fmt == "csv":
        reader = csv.DictReader(io.StringIO(text))
        if "id_number" not in (reader.fieldnames or []):
            raise Invalid("the CSV header must name an id_number column", field="body")
        return [dict(row) for row in reader]
    lines: list[dict[str, Any]] = []
    for raw in text.splitlines():
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = None
        lines.append(value if isinstance(value, dict) else {"id_number": None})
    return lines


async def import_list(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    *,
    kind: str,
    reference: str,
    lines: list[dict[str, Any]],
) -> tuple[Import, bool]:
    """Mark the persons of a staff list with its category; once per reference (the same file again answers the first).

    Each line is resolved by identity number through the records, then the people copy or the registry;
    a person outside the caller's division is as unknown as one nobody registered.
    """
    done = (await session.execute(select(Import).where(Import.reference == reference))).scalar_one_or_none()
    if done is not None:
        return done, False
    report: list[dict[str, Any]] = []
    listed: list[ReceivedEvent] = []
    for n, line in enumerate(lines, start=1):
        outcome, person = await _resolve_line(session, settings, principal, line.get("id_number"))
        report.append({"line": n, "id_number": identity.mask(str(line.get("id_number") or "")), **outcome})
        if person is not None:
            payload = effects.ListedPerson(
                person_id=person.person_id, id_number=person.id_number, hukou_division=person.hukou_division,
                list=kind, reference=reference,
            )  # fmt: skip
            listed.append(ReceivedEvent(
                id=f"import:{reference}:{n}", type=effects.LISTED_TYPE, source="/minzheng/monitoring/imports",
                subject=None, time=None, data={}, key=None, payload=payload,
            ))  # fmt: skip
    await effects.apply(session, listed)
    counts = {"lines": len(report), "listed": len(listed), "rejected": len(report) - len(listed)}
    row = Import(reference=reference, kind=kind, created_by=principal.sub, counts=counts, lines=report)
    session.add(row)
    await session.flush()
    await session.refresh(row)
    return row, True


async def _resolve_line(
    session: AsyncSession, settings: Settings, principal: Principal, raw: object
) -> tuple[dict[str, Any], people.KnownPerson | None]:
    try:
        number = identity.parse(str(raw or "")).value
    except identity.InvalidIdNumber as exc:
        return {"status": "rejected", "reason": f"invalid identity number: {exc}"}, None
    person = await _known(session, number)
    if person is None:  # not heard of yet: the people copy, else the registry
        try:
            person = await people.resolve(session, settings, number)
        except NotFound:
            person = None
    if person is None or not divisions.covers(principal.division, person.hukou_division):
        return {"status": "rejected", "reason": people.UNKNOWN}, None
    return {"status": "listed", "person_id": str(person.person_id)}, person


async def _known(session: AsyncSession, id_number: str) -> people.KnownPerson | None:
    """The person of a record monitoring holds (any division: the caller's scope is judged after)."""
    t = Record.__table__
    stmt = select(t.c.person_id, t.c.id_number, t.c.name, t.c.birth_date, t.c.hukou_division, t.c.status,
                  t.c.date_of_death, t.c.in_district).where(t.c.id_number == id_number)  # fmt: skip
    row = (await session.execute(stmt)).mappings().first()
    return people.KnownPerson(**row) if row else None
