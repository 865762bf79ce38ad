"""Who is a guaranteed elder: eldercare's copy of assistance's dibao and tekun cases, from `assistance.events.v1`.

Home care and the 60+ insurance roster need to know whether a person has an
active dibao or tekun case; eldercare never reads assistance's database, so
it keeps the last published state of each case. A chunk of events is applied
in one statement (the last event of each case wins; events of one case keep
their order on their partition).
"""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.eldercare.domain.homecare import GUARANTEE_PROGRAMS
from services.eldercare.models import Guarantee
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

assistance_events = Consumer(name="eldercare.assistance-events", topics=[ev.ASSISTANCE_EVENTS])


async def apply_cases(session: AsyncSession, events: list[ReceivedEvent]) -> None:
    """Upsert the latest state of each dibao or tekun case named in the events (one statement)."""
    latest: dict[str, dict[str, object]] = {}
    for event in events:
        if event.type not in CASE_EVENTS:
            continue
        case = ev.CaseEvent.model_validate(event.data)
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
    if not latest:
        return
    stmt = pg_insert(Guarantee.__table__).values(list(latest.values()))
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["case_id"],
            set_={c: stmt.excluded[c] for c in ("person_id", "program", "status", "effective_date", "hukou_division")}
            | {"updated_at": func.now()},
        )
    )


@assistance_events.batch
async def on_chunk(session: AsyncSession, events: list[ReceivedEvent]) -> dict[str, str]:
    await apply_cases(session, events)
    return {}


@assistance_events.on(*CASE_EVENTS)
async def on_case(session: AsyncSession, event: ReceivedEvent) -> None:
    await apply_cases(session, [event])
