"""What monitoring does with the events of every other service."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring import usecases
from shared import event_types as ev
from shared.consumer import Consumer
from shared.events import ReceivedEvent

service_events = Consumer(
    name="monitoring.service-events",
    topics=[ev.REGISTRY_EVENTS, ev.ASSISTANCE_EVENTS, ev.ELDERCARE_EVENTS],
)


@service_events.on("registry.person.registered")
async def on_registered(session: AsyncSession, event: ReceivedEvent) -> None:
    record = await usecases.record_for(session, event.data)
    record.name = event.data.get("name")


@service_events.on("registry.person.died")
async def on_died(session: AsyncSession, event: ReceivedEvent) -> None:
    await usecases.person_died(session, event)


@service_events.on("assistance.case.enrolled", "assistance.case.resumed")
async def on_case_active(session: AsyncSession, event: ReceivedEvent) -> None:
    await usecases.set_program(session, event, event.data["program"], "active")


@service_events.on("assistance.case.suspended", "assistance.case.terminated")
async def on_case_stopped(session: AsyncSession, event: ReceivedEvent) -> None:
    if event.data.get("reason") == "death":
        await usecases.benefit_stopped_by_death(session, event, event.data["program"])
    else:
        await usecases.set_program(session, event, event.data["program"], event.data["status"])


@service_events.on("eldercare.allowance.enrolled")
async def on_allowance(session: AsyncSession, event: ReceivedEvent) -> None:
    await usecases.set_program(session, event, "old_age_allowance", "active")


@service_events.on("eldercare.allowance.stopped")
async def on_allowance_stopped(session: AsyncSession, event: ReceivedEvent) -> None:
    if event.data.get("reason") == "death":
        await usecases.benefit_stopped_by_death(session, event, "old_age_allowance")
    else:
        await usecases.set_program(session, event, "old_age_allowance", "stopped")
