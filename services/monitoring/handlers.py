"""What monitoring does with the events of every other service: a chunk at a time, set-based."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring import effects
from shared import event_types as ev
from shared.consumer import Consumer
from shared.events import ReceivedEvent

service_events = Consumer(
    name="monitoring.service-events",
    topics=[ev.REGISTRY_EVENTS, ev.ASSISTANCE_EVENTS, ev.ELDERCARE_EVENTS],
)


@service_events.batch
async def on_service_events(session: AsyncSession, events: list[ReceivedEvent]) -> dict[str, str]:
    """A chunk of one partition's events: records, history, alerts and their events in a fixed number of statements."""
    await effects.apply(session, events)
    return {}  # nothing here is refused: the catalogue has already checked every payload


@service_events.on(*effects.HANDLED)
async def on_service_event(session: AsyncSession, event: ReceivedEvent) -> None:
    """One event alone: the runner's fallback when a chunk fails, and its retries."""
    await effects.apply(session, [event])
