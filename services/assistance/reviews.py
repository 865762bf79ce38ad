"""Periodic review (复核) of a case from an application: its due date set at enrolment and announced.

The assessment names the interval of its class (dibao: every 6 months when a member of working age can work,
else every 12; domain/dibao.review_interval). A case enrolled from a confirmed application is due for review
that many months after the month it is first paid, and `assistance.review.due` announces the date, so
monitoring knows it and raises `review_overdue` when it passes unreviewed. A program that sets no interval
(the assessment says None) leaves the case without a periodic due date.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from services.assistance.models import Case
from shared import event_types as ev
from shared.events import publish


def due_on(first_paid: date, every_months: int | None) -> date | None:
    """The first day of the month `every_months` after the month first paid; None without an interval."""
    if every_months is None:
        return None
    months = first_paid.year * 12 + first_paid.month - 1 + every_months
    return date(months // 12, months % 12 + 1, 1)


async def announce(session: AsyncSession, case: Case) -> None:
    """Publish the case's periodic review date (`assistance.review.due`), when it has one."""
    if case.review_due_on is None:
        return
    await publish(
        session,
        ev.ReviewDue(
            person_id=case.person_id,
            id_number=case.id_number,
            hukou_division=case.hukou_division,
            case_id=case.id,
            program=case.program,
            due_on=case.review_due_on,
        ),
    )
