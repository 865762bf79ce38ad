"""An orphan's allowance ends at 18: the registry's milestone of 18 terminates the child's orphan case.

The orphan and de-facto orphan allowance is for children under 18 (民发〔2019〕62号; domain/orphan.py). The
registry publishes `registry.person.milestone` once per person and age (16, 18, 60, ...), so the milestone of
18 is the moment the allowance ends: every open orphan case of the person is terminated, effective the 18th
birthday, with the reason, and published (`assistance.case.terminated`). Months a payroll already paid stand;
no later payroll pays a terminated case. Tekun is not touched: a tekun minor keeps support past 18 while still
in school (RULES.md §2), which a caseworker decides at review.

A chunk's milestones are applied in one statement whatever their number; the other ages are ignored.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.assistance.domain.income import ADULT_AGE
from services.assistance.usecases import case_event
from shared import event_types as ev
from shared.clock import birthday
from shared.events import publish_many

REASON = "turned 18: the orphan allowance is for children under 18"

_END = text(
    """
    UPDATE cases SET status = 'terminated', status_reason = :reason, status_changed_on = m.birthday,
        updated_at = now()
    FROM unnest(CAST(:person_ids AS uuid[]), CAST(:birthdays AS date[])) AS m(person_id, birthday)
    WHERE cases.person_id = m.person_id AND cases.program = 'orphan'
      AND cases.status IN ('active', 'suspended', 'gradual_exit')
    RETURNING cases.id, cases.person_id, cases.id_number, cases.hukou_division, cases.program, cases.status,
              cases.monthly_amount, cases.started_on, cases.status_changed_on
    """
)


async def end_orphan_allowances(session: AsyncSession, milestones: Sequence[ev.PersonMilestone]) -> list[ev.Payload]:
    """Terminate the orphan cases of those who turned 18; publish each termination."""
    adults = {m.person_id: birthday(m.birth_date, m.age) for m in milestones if m.age == ADULT_AGE}
    if not adults:
        return []
    params = {"reason": REASON, "person_ids": list(adults), "birthdays": list(adults.values())}
    rows = (await session.execute(_END, params)).all()
    emitted: list[ev.Payload] = [case_event(ev.CaseTerminated, r, reason=REASON) for r in rows]
    await publish_many(session, emitted)
    return emitted
