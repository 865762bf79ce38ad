"""Dibao worked examples a caseworker can redo by hand (seeded figures: standard 800,
add-ons 10% elderly/minor and 20% severely disabled/seriously ill, floor 50, employment
cost cap 200, marginal limit 1.5 × the standard, assets up to 24 months of the standard)."""

from __future__ import annotations

from decimal import Decimal as D

from services.assistance.domain import dibao
from services.assistance.domain.income import (
    Assets,
    Disability,
    DisabilityKind,
    ExpenseKind,
    Household,
    Income,
    IncomeKind,
    Member,
    RigidExpense,
    per_capita_income,
)
from tests.assistance.rules_support import standards


def family_of_three() -> Household:
    return Household(
        members=(
            Member("self", 45, (Income(IncomeKind.WAGE, D("1200.00")),), employment_cost=D("300.00")),
            Member("spouse", 43, seriously_ill=True),
            Member("child", 12, (Income(IncomeKind.SCHOLARSHIP, D("100.00")),)),
        ),
        rigid_expenses=(RigidExpense(1, ExpenseKind.MEDICAL, D("150.00"), "dialysis"),),
    )


def test_income_is_computed_line_by_line_with_each_deduction_and_why() -> None:
    result = per_capita_income(family_of_three(), standards())
    # 1200 wages − 200 employment cost (300 declared, capped at 200) − 150 medical = 850; 850 / 3
    assert (result.counted, result.deducted, result.net, result.per_capita) == (
        D("1200.00"),
        D("350.00"),
        D("850.00"),
        D("283.33"),
    )
    by_item = {line.item: line for line in result.lines}
    assert by_item["employment cost"].amount == D("200.00")
    assert "declared 300.00, deducted 200" in by_item["employment cost"].why
    assert by_item["scholarship"].treatment == "not counted" and "奖学金" in by_item["scholarship"].why
    assert by_item["rigid expense: medical (dialysis)"].treatment == "deducted"


def test_family_below_the_standard_gets_the_gap_per_member_plus_add_ons() -> None:
    a = dibao.assess(family_of_three(), standards())
    assert a.eligible and a.kind == "household" and a.standard == D("800")
    # base 800 − 283.33 = 516.67; spouse +160 (20%, seriously ill); child +80 (10%, a minor)
    assert [m.amount for m in a.members] == [D("516.67"), D("676.67"), D("596.67")]
    assert a.total == D("1790.01")
    assert "seriously ill" in a.members[1].why
    used = {f.key: f for f in a.figures}
    assert used["dibao.standard"].value == D("800") and str(used["dibao.standard"].effective_from) == "2022-01-01"
    assert "dibao.addon.seriously_ill" in used and "dibao.employment_cost_cap" in used


def test_a_small_gap_is_raised_to_the_floor() -> None:
    a = dibao.assess(Household((Member("self", 40, (Income(IncomeKind.WAGE, D("780.00")),)),)), standards())
    assert a.eligible and a.members[0].base == D("20.00") and a.total == D("50")
    assert "floor" in a.members[0].why


def test_transfers_paid_are_subtracted_and_pensions_counted() -> None:
    elder = Member(
        "self",
        70,
        (
            Income(IncomeKind.TRANSFER, D("900.00"), "enterprise pension"),
            Income(IncomeKind.TRANSFER_PAID, D("140.00"), "medical insurance contribution"),
            Income(IncomeKind.BASIC_PENSION, D("150.00")),
        ),
    )
    a = dibao.assess(Household((elder,)), standards())
    # 900 − 140 = 760 (the basic pension is not counted); 800 − 760 = 40, +80 elderly add-on
    assert a.per_capita_income == D("760.00") and a.total == D("120.00")


def test_income_at_the_standard_is_not_eligible() -> None:
    a = dibao.assess(Household((Member("self", 40, (Income(IncomeKind.WAGE, D("800.00")),)),)), standards())
    assert not a.eligible and "not below the standard 800" in a.reasons[0]


def test_severely_disabled_member_of_a_marginal_family_is_enrolled_alone() -> None:
    household = Household(
        (
            Member("self", 50, (Income(IncomeKind.WAGE, D("2000.00")),)),
            Member("child", 24, disability=Disability(1, DisabilityKind.INTELLECTUAL)),
        )
    )
    a = dibao.assess(household, standards())
    # per capita 1000: not below 800, below the marginal limit 1200; the child has no income of his own
    assert a.eligible and a.kind == "single_person" and a.per_capita_income == D("1000.00")
    assert [(m.member, m.amount) for m in a.members] == [(1, D("960.00"))]  # 800 + 160 add-on
    assert "单人户" in a.reasons[0]


def test_marginal_family_without_a_severely_disabled_or_ill_member_is_refused() -> None:
    household = Household(
        (
            Member("self", 50, (Income(IncomeKind.WAGE, D("2000.00")),)),
            Member("child", 24, disability=Disability(4, DisabilityKind.PHYSICAL)),
        )
    )
    a = dibao.assess(household, standards())
    assert not a.eligible and a.kind == "marginal" and "单人户" in a.reasons[1]


def test_above_the_marginal_limit_is_refused() -> None:
    a = dibao.assess(
        Household((Member("self", 50, (Income(IncomeKind.WAGE, D("1300.00")),), seriously_ill=True),)), standards()
    )
    assert not a.eligible and "marginal limit 1200.00" in a.reasons[0]


def test_property_over_the_limits_is_refused_with_each_reason() -> None:
    household = Household(
        (Member("self", 60), Member("spouse", 58)), assets=Assets(financial=D("50000.00"), homes=2, vehicles=1)
    )
    a = dibao.assess(household, standards())
    assert not a.eligible
    assert "25000.00 per member exceed 24" in a.reasons[0] and "19200.00" in a.reasons[0]
    assert "2 homes" in a.reasons[1] and "vehicles" in a.reasons[2]


def test_a_new_standard_applies_from_its_effective_date_and_is_named() -> None:
    household = Household((Member("self", 40, (Income(IncomeKind.WAGE, D("500.00")),)),))
    before = dibao.assess(household, standards())
    after = dibao.assess(household, standards(dibao__standard="850"))
    assert (before.total, after.total) == (D("300.00"), D("350.00"))
    used = {f.key: f for f in after.figures}
    assert used["dibao.standard"].source == "test" and used["dibao.standard"].effective_from == after.on


def test_review_every_six_months_with_a_member_able_to_work_else_every_year() -> None:
    working = dibao.assess(family_of_three(), standards())
    elder = dibao.assess(Household((Member("self", 70, (Income(IncomeKind.TRANSFER, D("300.00")),)),)), standards())
    assert working.review_every_months == 6 and "member(s) 0, 1 able to work" in working.reasons[1]
    assert elder.review_every_months == 12
