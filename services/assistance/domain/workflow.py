"""The application workflow (审核确认办法 Arts 16-24; 特困人员认定办法 Arts 13-17) as a status machine.

submitted → reviewed by the town (审核, after the household survey) → public
notice (公示, 7 days; objections recorded and settled) → confirmed by the town
(确认, delegated authority) → the case is paid from the month after
confirmation. Rejection is possible at any step before confirmation, with a
reason. Orphans, de-facto orphans and disability subsidies have no public
notice (privacy, 民发〔2019〕62号): they go from review to confirmation.

Time limits are working days (Monday to Friday; public holidays are not
modelled) counted from submission, with the figures in force on that day:
the town's review, then the whole procedure (longer once an objection is
raised). Pure: no I/O.
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum

from services.assistance.domain.standards import Standards


class Status(StrEnum):
    SUBMITTED = "submitted"
    NOTICE = "notice"  # reviewed, on public notice
    REVIEWED = "reviewed"  # reviewed, no notice needed: awaiting confirmation
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


OPEN = (Status.SUBMITTED, Status.NOTICE, Status.REVIEWED)
NOTICE_PROGRAMS = {"dibao", "tekun"}


class StepRefused(ValueError):
    """The step cannot be taken now; the message says why."""


def add_working_days(start: date, days: int) -> date:
    """The date `days` working days (Mon-Fri) after `start`."""
    current, left = start, days
    while left > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            left -= 1
    return current


def due_dates(program: str, submitted_on: date, standards: Standards) -> tuple[date, date]:
    """(review due, whole procedure due) for an application submitted on a date."""
    if program == "dibao" or program == "temporary" or program.startswith("disability"):
        review = standards.get("workflow.dibao.review_working_days")
        total = standards.get("workflow.dibao.total_working_days")
    else:  # tekun; orphans follow the same 15 + 15 working days
        review = standards.get("workflow.tekun.review_working_days")
        total = standards.get("workflow.tekun.total_working_days")
    return add_working_days(submitted_on, int(review)), add_working_days(submitted_on, int(total))


def extended_due(submitted_on: date, standards: Standards) -> date:
    """The whole procedure's limit once an objection is raised (up to 45 working days)."""
    return add_working_days(submitted_on, int(standards.get("workflow.extended_working_days")))


def after_review(status: Status, program: str) -> Status:
    if status != Status.SUBMITTED:
        raise StepRefused(f"the application is {status.value}: only a submitted application is reviewed")
    return Status.NOTICE if program in NOTICE_PROGRAMS else Status.REVIEWED


def notice_ends(started: date, standards: Standards) -> date:
    """The first day after the notice: confirmation is possible from then on."""
    return started + timedelta(days=int(standards.get("notice.days")))


def check_objection(status: Status) -> None:
    if status != Status.NOTICE:
        raise StepRefused("objections are recorded during the public notice")


def check_confirm(status: Status, today: date, notice_until: date | None, open_objections: int, eligible: bool) -> None:
    if status not in (Status.NOTICE, Status.REVIEWED):
        raise StepRefused(f"the application is {status.value}: it is confirmed after review")
    if status == Status.NOTICE and notice_until is not None and today < notice_until:
        raise StepRefused(f"the public notice runs until {notice_until - timedelta(days=1)}")
    if open_objections:
        raise StepRefused(f"{open_objections} objection(s) raised during the notice are not settled")
    if not eligible:
        raise StepRefused("the assessment found the household not eligible: reject it with the reason instead")


def check_reject(status: Status) -> None:
    if status not in OPEN:
        raise StepRefused(f"the application is already {status.value}")


def first_paid_month(confirmed_on: date) -> date:
    """Support is paid from the month after confirmation (审核确认办法 Art 21; 特困认定办法 Art 17)."""
    return date(confirmed_on.year + confirmed_on.month // 12, confirmed_on.month % 12 + 1, 1)


def overdue_step(status: Status, today: date, review_due: date, due: date) -> str | None:
    """Which step is late on `today`, or None."""
    if status == Status.SUBMITTED and today > review_due:
        return f"review was due by {review_due}"
    if status in OPEN and today > due:
        return f"confirmation was due by {due}"
    return None
