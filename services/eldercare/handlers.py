"""What eldercare does when registry events arrive: a chunk at a time, set-based."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.eldercare import effects, households
from services.eldercare.allowances import deaths
from services.eldercare.guarantees import assistance_events  # noqa: F401 - registered here so the contract lists it
from shared import event_types as ev
from shared import people
from shared.consumer import Consumer
from shared.events import ReceivedEvent

registry_events = Consumer(name="eldercare.registry-events", topics=[ev.REGISTRY_EVENTS])

HANDLED = (
    "registry.person.registered",
    "registry.person.died",
    "registry.death.revoked",
    "registry.hukou.moved-in",
    "registry.hukou.moved-out",
    "registry.hukou.transferred",
    "registry.person.milestone",
    "registry.death.confirmed",
    "registry.household.changed",
)


@registry_events.batch
async def on_registry_events(session: AsyncSession, events: list[ReceivedEvent]) -> dict[str, str]:
    """A chunk of registry events: the people copy, the allowances, the deaths, in a fixed number of statements."""
    payloads = [e.payload for e in events if e.type in HANDLED]
    if died := effects.deaths_only(payloads):  # the common chunk: its allowances stopped in SQL, one statement
        await people.learn_many(session, payloads)
        await effects.stop_for_deaths(session, died)
    else:
        chunk = await effects.read(session, payloads)  # the people copy as it stood, and the allowances, locked
        await people.learn_many(session, payloads, known=chunk.people)
        await effects.apply(session, payloads, chunk)
    await deaths.learn(session, payloads)  # the payroll gate's deaths in review; a confirmed one's overpayments
    await households.learn(session, payloads)  # who lives alone
    return {}  # nothing here is refused: the catalogue has already checked every payload


@registry_events.on(*HANDLED)
async def on_registry_event(session: AsyncSession, event: ReceivedEvent) -> None:
    """One event alone: the runner's fallback when a chunk fails, and its retries."""
    await on_registry_events(session, [event])
