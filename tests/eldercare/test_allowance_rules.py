"""The old-age allowance: brackets by age, effective-dated."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from services.eldercare.domain.allowance import Bracket, age_on, entitlement

BRACKETS = [
    Bracket(date(2022, 1, 1), 80, 89, Decimal("30.00")),
    Bracket(date(2022, 1, 1), 90, 99, Decimal("100.00")),
    Bracket(date(2022, 1, 1), 100, None, Decimal("500.00")),
    Bracket(date(2027, 1, 1), 80, 89, Decimal("50.00")),
]


def test_age_turns_on_the_birthday() -> None:
    assert age_on(date(1946, 12, 1), date(2026, 11, 30)) == 79
    assert age_on(date(1946, 12, 1), date(2026, 12, 1)) == 80


def test_brackets_by_age_and_date() -> None:
    assert entitlement(date(1946, 1, 1), date(2026, 6, 1), BRACKETS).monthly_amount == Decimal("30.00")
    assert entitlement(date(1930, 1, 1), date(2026, 6, 1), BRACKETS).monthly_amount == Decimal("100.00")
    assert entitlement(date(1920, 1, 1), date(2026, 6, 1), BRACKETS).monthly_amount == Decimal("500.00")
    later = entitlement(date(1946, 1, 1), date(2027, 2, 1), BRACKETS)
    assert later.monthly_amount == Decimal("50.00") and "2027-01-01" in later.explanation


def test_refusals_explain_themselves() -> None:
    young = entitlement(date(1960, 1, 1), date(2026, 6, 1), BRACKETS)
    assert not young.eligible and "starts at 80" in young.explanation
    assert not entitlement(date(1930, 1, 1), date(2026, 6, 1), BRACKETS, alive=False).eligible
    assert not entitlement(date(1930, 1, 1), date(2026, 6, 1), BRACKETS, in_district=False).eligible
    assert "no allowance standard" in entitlement(date(1930, 1, 1), date(2020, 6, 1), BRACKETS).explanation
