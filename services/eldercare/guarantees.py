"""Who is a guaranteed elder: eldercare's copy of assistance's dibao and tekun cases, from `assistance.events.v1`.

Home care and the 60+ insurance roster need to know whether a person has an
active dibao or tekun case; eldercare never reads assistance's database, so
it keeps the last published state of each case. A chunk of events is applied
in one statement (the last event of each case wins; events of one case keep
their order on their partition).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.eldercare.domain.homecare import GUARANTEE_PROGRAMS
from shared import bulk
from shared import event_types as ev
from shared.consumer import Consumer
from shared.events import ReceivedEvent

CASE_EVENTS = (
    "assistance.case.enrolled",
    "assistance.case.amount-changed",
    "assistance.case.suspended",
    "assistance.case.resumed",
    "assistance.case.terminated",
)

_GUARANTEE_COLUMNS = {
    "case_id": "uuid",
    "person_id": "uuid",
    "program": "text",
    "status": "text",
    "effective_date": "date",
    "hukou_division": "text",
}
_UPSERT = (
    "ON CONFLICT (case_id) DO UPDATE SET person_id = excluded.person_id, program = excluded.program,"
    " status = excluded.status, effective_date = excluded.effective_date,"
    " hukou_division = excluded.hukou_division, updated_at = now()"
)

assistance_events = Consumer(name="eldercare.assistance-events", topics=[ev.ASSISTANCE_EVENTS])


async def apply_cases(session: AsyncSession, events: list[ReceivedEvent]) -> None:
    """Upsert the latest state of each dibao or tekun case named in the events (one statement).

    The rows travel as one array per column (`shared.bulk`): a multi-row VALUES
    list was compiled afresh for every chunk, a quarter of eldercare's CPU in a burst.
    """
    latest: dict[str, dict[str, object]] = {}
    for event in events:
        if event.type not in CASE_EVENTS:
            continue
        # The runner validated the payload against the catalogue: not validated again.
        case = event.payload if isinstance(event.payload, ev.CaseEvent) else ev.CaseEvent.model_validate(event.data)
        if case.program not in GUARANTEE_PROGRAMS:
            continue
        latest[str(case.case_id)] = {
            "case_id": case.case_id,
            "person_id": case.person_id,
            "program": case.program,
            "status": case.status,
            "effective_date": case.effective_date,
            "hukou_division": case.hukou_division,
        }
    await bulk.insert(session, "guarantees", _GUARANTEE_COLUMNS, list(latest.values()), on_conflict=_UPSERT)


@assistance_events.batch
async def on_chunk(session: AsyncSession, events: list[ReceivedEvent]) -> dict[str, str]:
    await apply_cases(session, events)
    return {}


@assistance_events.on(*CASE_EVENTS)
async def on_case(session: AsyncSession, event: ReceivedEvent) -> None:
    await apply_cases(session, [event])
