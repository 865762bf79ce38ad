"""Periodic review (复核) of a case from an application: its due date set at enrolment and announced.

The assessment names the interval of its class (dibao: every 6 months when a member of working age can work,
else every 12; domain/dibao.review_interval). A case enrolled from a confirmed application is due for review
that many months after the month it is first paid, and `assistance.review.due` announces the date, so
monitoring knows it and raises `review_overdue` when it passes unreviewed. A program that sets no interval
(the assessment says None) leaves the case without a periodic due date.

A case entered directly (`POST /v1/cases`, migrated from the old system) carries no household to classify,
so it gets its program's default interval: dibao the stable households' (`review.stable_months`, 12 unless
the standards in force on its first day say otherwise), counted from the month it starts.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.assistance.models import Case
from shared import event_types as ev
from shared.events import publish_many


def due_on(first_paid: date, every_months: int | None) -> date | None:
    """The first day of the month `every_months` after the month first paid; None without an interval."""
    if every_months is None:
        return None
    months = first_paid.year * 12 + first_paid.month - 1 + every_months
    return date(months // 12, months % 12 + 1, 1)


# The standard naming the default interval of a program's case entered without an assessment.
DEFAULT_INTERVAL = {"dibao": "review.stable_months"}

# `due_on` in SQL for a case entered directly: the first day of the month that many months after the month it
# starts, from the row of :review_key in force that day (NULL when the program has no default interval).
DEFAULT_DUE_ON = """(
    SELECT (date_trunc('month', CAST(:started_on AS date)) + make_interval(months => s.value::int))::date
    FROM standards AS s WHERE s.key = :review_key AND s.effective_from <= :started_on
    ORDER BY s.effective_from DESC LIMIT 1
)"""


def due_events(case: Any) -> list[ev.ReviewDue]:  # noqa: ANN401 - an ORM Case or a row read in bulk
    """The case's `assistance.review.due`, to publish with its other events (none without a due date)."""
    if case.review_due_on is None:
        return []
    return [
        ev.ReviewDue(
            person_id=case.person_id,
            id_number=case.id_number,
            hukou_division=case.hukou_division,
            case_id=case.id,
            program=case.program,
            due_on=case.review_due_on,
        )
    ]


async def announce(session: AsyncSession, case: Case) -> None:
    """Publish the case's periodic review date (`assistance.review.due`), when it has one."""
    await publish_many(session, due_events(case))
