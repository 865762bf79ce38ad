"""What assistance does when registry events (and eldercare's capacity assessments) arrive: a chunk at a time."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.assistance import amounts, coming_of_age, effects, lead_drafts
from shared import event_types as ev
from shared import people
from shared.consumer import Consumer
from shared.events import ReceivedEvent

# One consumer for both topics: eldercare's assessments are few, and a tekun person's care level is one more
# fact about a case, applied in the same transaction discipline as the registry's.
registry_events = Consumer(name="assistance.registry-events", topics=[ev.REGISTRY_EVENTS, ev.ELDERCARE_EVENTS])

HANDLED = (
    "registry.person.registered",
    "registry.person.died",
    "registry.death.confirmed",
    "registry.death.revoked",
    "registry.hukou.moved-in",
    "registry.hukou.moved-out",
    "registry.hukou.transferred",
    "registry.household.changed",
    "registry.person.milestone",
    "eldercare.assessment.completed",
)


@registry_events.batch
async def on_registry_events(session: AsyncSession, events: list[ReceivedEvent]) -> dict[str, str]:
    """A chunk of registry events: the people copy, then the cases, each in a fixed number of statements."""
    payloads = [e.payload for e in events if e.type in HANDLED]
    # Milestones only end orphan allowances at 18 (the person is known from their case): kept out of the rest.
    await coming_of_age.end_orphan_allowances(session, [p for p in payloads if isinstance(p, ev.PersonMilestone)])
    payloads = [p for p in payloads if not isinstance(p, ev.PersonMilestone)]
    await people.learn_many(session, payloads)
    if died := effects.deaths_only(payloads):  # the common chunk: its cases suspended in SQL, one statement
        await effects.suspend_for_deaths(session, died)
        return {}
    await effects.apply(session, payloads)
    await amounts.after_assessments(session, [p for p in payloads if isinstance(p, ev.AssessmentCompleted)])
    return {}  # nothing here is refused: the catalogue has already checked every payload


@registry_events.on(*HANDLED)
async def on_registry_event(session: AsyncSession, event: ReceivedEvent) -> None:
    """One event alone: the runner's fallback when a chunk fails, and its retries."""
    await on_registry_events(session, [event])


# Monitoring's proactive discovery: each lead kept as a draft application for a caseworker to decide on.
# The topic's other types (monitoring.record.changed) are skipped unread by the runner.
lead_events = Consumer(name="assistance.monitoring-leads", topics=[ev.MONITORING_LOW_INCOME])


@lead_events.batch
async def on_leads(session: AsyncSession, events: list[ReceivedEvent]) -> dict[str, str]:
    """A chunk of leads, recorded as drafts in one statement (the same lead twice: one draft)."""
    await lead_drafts.record(session, [e.payload for e in events if isinstance(e.payload, ev.LeadRaised)])
    return {}


@lead_events.on("monitoring.lead.raised")
async def on_lead(session: AsyncSession, event: ReceivedEvent) -> None:
    """One lead alone: the runner's fallback when a chunk fails, and its retries."""
    await on_leads(session, [event])
