"""What assistance does when a registry event arrives."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from services.assistance import usecases
from shared import event_types as ev
from shared import people
from shared.consumer import Consumer
from shared.events import ReceivedEvent

registry_events = Consumer(name="assistance.registry-events", topics=[ev.REGISTRY_EVENTS])


@registry_events.on("registry.person.registered", "registry.hukou.moved-in", "registry.hukou.moved-out", "registry.hukou.transferred")
async def on_person(session: AsyncSession, event: ReceivedEvent) -> None:
    await people.learn(session, event)
    if event.type.startswith("registry.hukou."):
        await usecases.follow_hukou(session, uuid.UUID(event.data["person_id"]), event.data["hukou_division"])


@registry_events.on("registry.person.died")
async def on_death(session: AsyncSession, event: ReceivedEvent) -> None:
    await people.learn(session, event)
    await usecases.suspend_for_death(session, uuid.UUID(event.data["person_id"]), date.fromisoformat(event.data["date_of_death"]))


@registry_events.on("registry.death.revoked")
async def on_death_revoked(session: AsyncSession, event: ReceivedEvent) -> None:
    await people.learn(session, event)
    await usecases.resume_after_revocation(session, uuid.UUID(event.data["person_id"]))
