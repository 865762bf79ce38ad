"""Cases that end by themselves: a gradual exit (渐退) after its months, a transfer after the month of the move.

A gradual exit pays on to `gradual_exit_until`, a case moved out of the district to `paid_until` (the end of
the month of the move); the day after, the case is terminated (`assistance.case.terminated`, effective the
last day paid), so it no longer shows as open, counts as held, or waits for a review. It is run with the
business clock's date each time a payroll is built, in two statements whatever the number of cases; a
payroll of a month the case was still due in, built late, still pays it (see payroll._INSERT_LINES).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.assistance.usecases import case_event
from shared import event_types as ev
from shared.events import publish_many

GRADUAL_EXIT_ENDED = "gradual exit ended"
TRANSFERRED = "moved out of the district: transferred"

_CLOSE = text(
    """
    UPDATE cases SET status = 'terminated', updated_at = now(),
        status_reason = CASE WHEN status = 'gradual_exit' THEN :ended ELSE :transferred END,
        status_changed_on = CASE WHEN status = 'gradual_exit' THEN gradual_exit_until ELSE paid_until END
    WHERE (status = 'gradual_exit' AND gradual_exit_until < :today)
       OR (status IN ('active', 'suspended', 'gradual_exit') AND transfer_pending AND paid_until < :today)
    RETURNING id, person_id, id_number, hukou_division, program, status, monthly_amount, started_on,
              status_changed_on, status_reason
    """
)


async def close(session: AsyncSession, today: date) -> list[ev.Payload]:
    """Terminate every case whose gradual exit or transfer ended before `today`; publish each."""
    rows = (
        await session.execute(_CLOSE, {"today": today, "ended": GRADUAL_EXIT_ENDED, "transferred": TRANSFERRED})
    ).all()
    emitted: list[ev.Payload] = [case_event(ev.CaseTerminated, r, reason=r.status_reason) for r in rows]
    await publish_many(session, emitted)
    return emitted
