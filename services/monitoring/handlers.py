"""What monitoring does with the events of every other service and the partners' reports: a chunk at a time."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring import effects
from services.monitoring.flows import flows as flows  # the month figures' consumer, listed with the others
from shared import event_types as ev
from shared.consumer import Consumer, Reject
from shared.events import ReceivedEvent

service_events = Consumer(
    name="monitoring.service-events",
    topics=[ev.REGISTRY_EVENTS, ev.ASSISTANCE_EVENTS, ev.ELDERCARE_EVENTS],
)
partner_reports = Consumer(
    name="monitoring.partner-reports",
    topics=[ev.PARTNER_INCOME, ev.PARTNER_MEDICAL_EXPENSES],
)


@service_events.batch
async def on_service_events(session: AsyncSession, events: list[ReceivedEvent]) -> dict[str, str]:
    """A chunk of one partition's events: records, history, alerts and their events in a fixed number of statements."""
    await effects.apply(session, events)
    return {}  # nothing here is refused: the catalogue has already checked every payload


@service_events.on(*effects.SERVICE_HANDLED)
async def on_service_event(session: AsyncSession, event: ReceivedEvent) -> None:
    """One event alone: the runner's fallback when a chunk fails, and its retries."""
    await effects.apply(session, [event])


@partner_reports.batch
async def on_partner_reports(session: AsyncSession, events: list[ReceivedEvent]) -> dict[str, str]:
    """Incomes and medical bills: recorded on the person's record and put through the rules.

    A report about someone monitoring has never heard of is refused (dead-lettered with the reason):
    partners report by identity number, and only the registry makes persons.
    """
    return (await effects.apply(session, events)).refused


@partner_reports.on(*effects.PARTNER_HANDLED)
async def on_partner_report(session: AsyncSession, event: ReceivedEvent) -> None:
    """One report alone: the runner's fallback when a chunk fails, and its retries."""
    refused = (await effects.apply(session, [event])).refused
    if event.id in refused:
        raise Reject(refused[event.id])
