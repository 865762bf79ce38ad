"""What the registry does when a partner's event arrives: the same use cases as HTTP."""

from __future__ import annotations

from datetime import date
from typing import TypeVar

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry import usecases
from services.registry.domain import intake as intake_rules
from services.registry.usecases.reports import Intake, Item
from shared import event_types as ev
from shared.consumer import Consumer, Reject
from shared.events import ReceivedEvent
from shared.problems import DomainError

M = TypeVar("M", bound=ev.Payload)

partner_feeds = Consumer(name="registry.partner-feeds", topics=["partner.deaths.v1", "partner.hukou.v1"])


def _payload(model: type[M], event: ReceivedEvent) -> M:
    try:
        return model.model_validate(event.data)
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors())
        raise Reject(f"invalid {event.type} payload: {fields}") from exc


@partner_feeds.on("partner.death.reported")
async def on_partner_death(session: AsyncSession, event: ReceivedEvent) -> None:
    data = _payload(ev.PartnerDeathReported, event)
    try:
        await usecases.report_death(
            session,
            id_number=data.id_number,
            date_of_death=data.date_of_death,
            source=data.source,
            reference=data.reference,
            name=data.name,
            channel="kafka",
        )
    except DomainError as exc:  # a rule refuses it: retrying cannot help
        raise Reject(f"{exc.field or 'event'}: {exc.detail}") from exc


@partner_feeds.on("partner.hukou.changed")
async def on_partner_hukou(session: AsyncSession, event: ReceivedEvent) -> None:
    data = _payload(ev.PartnerHukouChanged, event)
    try:
        await usecases.change_hukou(
            session,
            id_number=data.id_number,
            kind=data.kind,
            from_division=data.from_division,
            to_division=data.to_division,
            effective_date=data.effective_date,
            source=data.source,
            reference=data.reference,
            name=getattr(data, "name", None),
            channel="kafka",
        )
    except DomainError as exc:
        raise Reject(f"{exc.field or 'event'}: {exc.detail}") from exc


@partner_feeds.batch
async def on_partner_reports(session: AsyncSession, events: list[ReceivedEvent]) -> dict[str, str]:
    """A chunk of partner reports through the intake path in one go (bulk reads and writes).

    Returns the reports refused, with the field and reason, for the dead-letter topic.
    """
    today = date.today()
    refused: dict[str, str] = {}
    items: list[Item] = []
    ids: list[str] = []
    for event in events:
        if event.type not in ("partner.death.reported", "partner.hukou.changed"):
            continue
        try:
            record: intake_rules.Record | intake_rules.LineError = intake_rules.parse({**event.data, "type": event.type}, today=today)
        except intake_rules.LineError as exc:
            record = exc
        items.append(Item(record))
        ids.append(event.id)
    outcomes = await Intake(session, channel="kafka", today=today).run(items) if items else []
    for event_id, outcome in zip(ids, outcomes, strict=True):
        if outcome.status == "rejected":
            refused[event_id] = f"{outcome.field or 'event'}: {outcome.reason}"
    return refused
