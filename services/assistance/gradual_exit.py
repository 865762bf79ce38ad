"""Gradual exit (渐退): a case whose household's income rose above the standard is paid on for the months
the standards configure (`gradual_exit.months`, 1-12, default 6), then ends.

The months are counted from the month after the decision (the decision's own month is paid as before);
the payroll pays a case in gradual exit while its month is on or before `gradual_exit_until`.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.assistance import standard_usecases
from services.assistance.domain import cases as rules
from services.assistance.models import Case
from services.assistance.payroll import month_end
from shared import clock
from shared.problems import Conflict, NotFound


def last_month_paid(decided_on: date, months: int) -> date:
    """The last day paid: `months` whole months after the month of the decision."""
    index = decided_on.year * 12 + decided_on.month - 1 + months
    return month_end(date(index // 12, index % 12 + 1, 1))


async def start(session: AsyncSession, case_id: uuid.UUID, reason: str, today: date | None = None) -> Case:
    """Put an active case into gradual exit with the months in force today."""
    today = today or clock.today()
    case = (await session.execute(select(Case).where(Case.id == case_id).with_for_update())).scalar_one_or_none()
    if case is None:  # also a case of another division: the session's filter hides it
        raise NotFound("no such case", field="case_id")
    why_not = rules.can_start_gradual_exit(rules.CaseStatus(case.status))
    if why_not:
        raise Conflict(why_not, field="case_id")
    months = int((await standard_usecases.load(session, today)).get("gradual_exit.months"))
    case.status, case.status_reason = rules.CaseStatus.GRADUAL_EXIT.value, f"gradual exit ({months} months): {reason}"
    case.status_changed_on, case.gradual_exit_until = today, last_month_paid(today, months)
    return case
