"""The workflow's status machine and time limits, by hand (seeded: dibao review 10 and whole procedure
20 working days, tekun 15 and 30, 45 with objections, a 7-day notice; working days are Monday-Friday)."""

from __future__ import annotations

from datetime import date

import pytest

from services.assistance.domain import workflow
from services.assistance.domain.workflow import Status, StepRefused
from tests.assistance.rules_support import standards

FRIDAY = date(2026, 11, 27)


def test_working_days_skip_weekends() -> None:
    assert workflow.add_working_days(FRIDAY, 1) == date(2026, 11, 30)  # Monday
    assert workflow.add_working_days(FRIDAY, 5) == date(2026, 12, 4)
    assert workflow.add_working_days(FRIDAY, 20) == date(2026, 12, 25)


def test_due_dates_by_program_and_the_extension_for_objections() -> None:
    s = standards()
    assert workflow.due_dates("dibao", FRIDAY, s) == (date(2026, 12, 11), date(2026, 12, 25))
    assert workflow.due_dates("tekun", FRIDAY, s) == (date(2026, 12, 18), date(2027, 1, 8))
    assert workflow.extended_due(FRIDAY, s) == date(2027, 1, 29)


def test_dibao_and_tekun_go_on_notice_orphans_do_not() -> None:
    assert workflow.after_review(Status.SUBMITTED, "dibao") == Status.NOTICE
    assert workflow.after_review(Status.SUBMITTED, "orphan") == Status.REVIEWED
    with pytest.raises(StepRefused, match="only a submitted application"):
        workflow.after_review(Status.NOTICE, "dibao")


def test_confirmation_waits_for_the_seven_days_and_settled_objections() -> None:
    ends = workflow.notice_ends(FRIDAY, standards())
    assert ends == date(2026, 12, 4)
    with pytest.raises(StepRefused, match="runs until 2026-12-03"):
        workflow.check_confirm(Status.NOTICE, date(2026, 12, 3), ends, 0, True)
    with pytest.raises(StepRefused, match="1 objection"):
        workflow.check_confirm(Status.NOTICE, ends, ends, 1, True)
    with pytest.raises(StepRefused, match="not eligible"):
        workflow.check_confirm(Status.NOTICE, ends, ends, 0, False)
    workflow.check_confirm(Status.NOTICE, ends, ends, 0, True)
    with pytest.raises(StepRefused, match="already rejected"):
        workflow.check_reject(Status.REJECTED)


def test_paid_from_the_month_after_confirmation() -> None:
    assert workflow.first_paid_month(date(2026, 11, 30)) == date(2026, 12, 1)
    assert workflow.first_paid_month(date(2026, 12, 1)) == date(2027, 1, 1)


def test_the_late_step_is_named() -> None:
    dues = date(2026, 12, 11), date(2026, 12, 25)
    assert workflow.overdue_step(Status.SUBMITTED, date(2026, 12, 11), *dues) is None
    assert workflow.overdue_step(Status.SUBMITTED, date(2026, 12, 14), *dues) == "review was due by 2026-12-11"
    assert workflow.overdue_step(Status.NOTICE, date(2026, 12, 28), *dues) == "confirmation was due by 2026-12-25"
    assert workflow.overdue_step(Status.CONFIRMED, date(2027, 6, 1), *dues) is None
