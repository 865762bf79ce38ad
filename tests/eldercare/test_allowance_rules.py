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


def test_a_month_is_paid_at_the_bracket_of_the_age_reached_by_the_end_of_the_month_before() -> None:
    from services.eldercare.allowances.brackets import amount_case, reached_by

    assert reached_by(date(2030, 6, 1)) == date(2030, 5, 31)
    assert reached_by(date(2028, 3, 15)) == date(2028, 2, 29)
    case = amount_case([b for b in BRACKETS if b.effective_from.year == 2022], date(2030, 6, 1), otherwise=None)
    # Eldest first: born by 31 May 1930 is 100 by the end of May, by 31 May 1940 is 90, by 31 May 1950 is 80.
    assert [case.params[f"cut_{i}"] for i in range(3)] == [date(1930, 5, 31), date(1940, 5, 31), date(1950, 5, 31)]
    assert [case.params[f"amount_{i}"] for i in range(3)] == [Decimal("500.00"), Decimal("100.00"), Decimal("30.00")]


def test_born_on_29_february_is_a_year_older_on_1_march_of_a_common_year() -> None:
    from services.eldercare.care.rosters import born_by

    # The rule: in a year without 29 February the birthday is 1 March (not 28 February).
    assert age_on(date(1944, 2, 29), date(2034, 2, 28)) == 89
    assert age_on(date(1944, 2, 29), date(2034, 3, 1)) == 90
    assert born_by(date(2034, 2, 28), 90) < date(1944, 2, 29) <= born_by(date(2034, 3, 1), 90)
    # In a leap year the birthday is the day itself.
    assert born_by(date(2028, 2, 29), 80) == date(1948, 2, 29)
