"""What the registry does when a partner's event arrives: the same use cases as HTTP."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.domain import intake as intake_rules
from services.registry.usecases.reports import Intake, Item
from shared import clock
from shared import event_types as ev
from shared.consumer import Consumer, Reject
from shared.events import ReceivedEvent

partner_feeds = Consumer(name="registry.partner-feeds", topics=[ev.PARTNER_DEATHS, ev.PARTNER_HUKOU])


@partner_feeds.on("partner.death.reported", "partner.hukou.changed")
async def on_partner_report(session: AsyncSession, event: ReceivedEvent) -> None:
    """One report alone: the runner's fallback when a chunk fails, and its retries."""
    refused = await on_partner_reports(session, [event])
    if event.id in refused:
        raise Reject(refused[event.id])  # a rule refuses it: retrying cannot help


@partner_feeds.batch
async def on_partner_reports(session: AsyncSession, events: list[ReceivedEvent]) -> dict[str, str]:
    """A chunk of partner reports through the intake path in one go (bulk reads and writes).

    Returns the reports refused, with the field and reason, for the dead-letter topic.
    """
    today = clock.today()
    refused: dict[str, str] = {}
    items: list[Item] = []
    ids: list[str] = []
    for event in events:
        if event.type not in ("partner.death.reported", "partner.hukou.changed"):
            continue
        report = event.payload.model_dump(mode="json", exclude_unset=True)  # as sent, after the catalogue checked it
        items.append(Item(intake_rules.read({**report, "type": event.type}, today=today)))
        ids.append(event.id)
    outcomes = await Intake(session, channel="kafka", today=today).run(items) if items else []
    for event_id, outcome in zip(ids, outcomes, strict=True):
        if outcome.status == "rejected":
            refused[event_id] = f"{outcome.field or 'event'}: {outcome.reason}"
    return refused
