"""Deaths as eldercare hears of them, and the overpayments a confirmed death reveals.

The payroll's gate needs to know whether a death is still in review (reported
or in conflict) or confirmed, which the people copy does not say: the reports
are kept here, the last event of each death winning (one upsert per chunk).
When a death is confirmed, allowance paid for months after the month of death
is an overpayment: the reports of a chunk are upserted and the paid lines of
the persons confirmed dead summed into overpayments, with their
`eldercare.overpayment.detected` events, all by one statement. An allowance
has at most one overpayment (unique), so a death confirmed twice (a second
source, then a registrar) records it once.

A confirmed death later revoked (recorded for the wrong person) overpaid
nothing: the same statement closes its open overpayment as `written_off`,
resolved by `registry.death.revoked` with the reason and announced by
`eldercare.overpayment.resolved`, as assistance does. Not
deleted, nor a new status: the contract's statuses are open, recovered and
written_off, and an auditor finds the record, who closed it and why. The
months the death kept from the payroll are paid back by the next one
(payroll.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared import clock
from shared import event_types as ev
from shared.events import OutboxInsert, notify_relay

# The chunk's deaths upserted (the last event of each death wins); the paid lines after a death confirmed
# in this chunk recorded as an overpayment, in the same statement as its events (deaths.learn).
_LEARN_AND_DETECT = """
    WITH learned AS (
        INSERT INTO death_reports AS r (death_id, person_id, date_of_death, status)
        SELECT * FROM unnest(CAST(:death_ids AS uuid[]), CAST(:person_ids AS uuid[]), CAST(:dates AS date[]),
                             CAST(:statuses AS text[]))
        ON CONFLICT (death_id) DO UPDATE
            SET status = EXCLUDED.status, date_of_death = EXCLUDED.date_of_death, updated_at = now()
        RETURNING r.person_id, r.date_of_death, r.status
    ), detected AS (
        INSERT INTO overpayments AS o (id, allowance_id, person_id, id_number, hukou_division, amount, months,
                                       reason, status)
        SELECT uuidv7(), l.allowance_id, l.person_id, min(l.id_number), min(l.hukou_division), sum(l.amount),
               array_agg(to_char(l.for_month, 'YYYY-MM') ORDER BY l.for_month),
               'paid for months after the death on ' || to_char(d.date_of_death, 'YYYY-MM-DD') || ' (confirmed)',
               'open'
        FROM payroll_lines l
        JOIN learned d ON d.person_id = l.person_id AND d.status = 'confirmed'
        WHERE l.status = 'paid' AND l.for_month > d.date_of_death
        GROUP BY l.allowance_id, l.person_id, d.date_of_death
        ON CONFLICT (allowance_id) DO NOTHING
        RETURNING o.id, o.person_id, o.id_number, o.hukou_division, o.amount, o.reason
    ), withdrawn AS (
        UPDATE overpayments o SET status = 'written_off', resolved_by = 'registry.death.revoked', resolved_at = now(),
            resolution_note = 'the death on ' || to_char(d.date_of_death, 'YYYY-MM-DD')
                              || ' was revoked: the months were due'
        FROM learned d
        WHERE o.person_id = d.person_id AND d.status = 'revoked' AND o.status = 'open'
        RETURNING o.id, o.person_id, o.id_number, o.hukou_division, o.amount, o.resolved_by
    ), announced AS (
        SELECT 'eldercare.overpayment.detected' AS type, s.person_id, jsonb_build_object(
            'person_id', s.person_id, 'id_number', s.id_number, 'hukou_division', s.hukou_division,
            'overpayment_id', s.id, 'program', 'old_age_allowance', 'amount', s.amount::text,
            'reason', s.reason) AS data
        FROM detected s
        UNION ALL
        SELECT 'eldercare.overpayment.resolved', s.person_id, jsonb_build_object(
            'person_id', s.person_id, 'id_number', s.id_number, 'hukou_division', s.hukou_division,
            'overpayment_id', s.id, 'program', 'old_age_allowance', 'amount', s.amount::text,
            'outcome', 'written_off', 'resolved_on', CAST(:today AS text), 'resolved_by', s.resolved_by) AS data
        FROM withdrawn s
    )
"""

# An overpayment found is announced (`detected`); one written off because its death was revoked is announced
# too (`resolved`), so monitoring's paid-after-death alert closes itself as it does for a caseworker's recovery.
_ANNOUNCED = OutboxInsert("announced", "s.data", type_column="s.type")
_ANNOUNCED_TYPES = ("eldercare.overpayment.detected", "eldercare.overpayment.resolved")


def _status(payload: BaseModel) -> str | None:
    """The state of a death after this event (None: the event is not about a death)."""
    if isinstance(payload, ev.DeathConfirmed):
        return "confirmed"
    if isinstance(payload, ev.PersonDied):
        return payload.status
    if isinstance(payload, ev.DeathRevoked):
        return "revoked"
    return None


async def learn(session: AsyncSession, payloads: Sequence[BaseModel]) -> None:
    """Keep the death reports in step with a chunk, and record what a confirmed death shows overpaid (one statement)."""
    latest: dict[Any, tuple[Any, Any, Any, str]] = {}
    for p in payloads:
        if (status := _status(p)) is not None:
            death: Any = p
            latest[death.death_id] = (death.death_id, death.person_id, death.date_of_death, status)
    if not latest:
        return
    death_ids, person_ids, dates, statuses = (list(column) for column in zip(*latest.values(), strict=True))
    await session.execute(
        text(_LEARN_AND_DETECT + _ANNOUNCED.sql()),
        {
            "death_ids": death_ids,
            "person_ids": person_ids,
            "dates": dates,
            "statuses": statuses,
            "today": clock.today().isoformat(),
            **_ANNOUNCED.params(*_ANNOUNCED_TYPES),
        },
    )
    await notify_relay(session)
