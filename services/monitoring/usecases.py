"""Monitoring use cases: the alert workflow; the caller commits.

What other services' events do to records and alerts is in effects.py (set-based).
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.domain import alerts as rules
from services.monitoring.models import Alert
from shared import event_types as ev
from shared.db import utcnow
from shared.events import publish
from shared.problems import Conflict, NotFound


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
