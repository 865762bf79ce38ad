"""Worked examples of tekun, temporary assistance, orphans, disability subsidies and
which programs go together (seeded figures: dibao standard 800, tekun basic 1040 = 1.3 × 800,
minimum wage 1650, care shares 50/30 centralised and 35/20 dispersed, temporary grants 2× to
10× the standard with towns approving up to 3×, orphans 1180 dispersed / 1600 institutional,
disability subsidies 80)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from services.assistance.domain import disability, orphan, programs, tekun, temporary
from services.assistance.domain.income import (
    Disability,
    DisabilityKind,
    Household,
    Income,
    IncomeKind,
    Member,
)
from services.assistance.domain.standards import MissingStandard, StandardRow, Standards, check_edit
from tests.assistance.rules_support import SEED, standards


def alone(age: int, *incomes: Income, dis: Disability | None = None) -> Household:
    return Household((Member("self", age, incomes, disability=dis),))


# -- standards ------------------------------------------------------------------------


def test_the_figure_in_force_is_the_latest_row_on_or_before_the_date() -> None:
    rows = SEED + [StandardRow("dibao.standard", D("850"), date(2027, 7, 1), "2027 notice")]
    assert Standards(rows, date(2027, 6, 30)).get("dibao.standard") == D("800")
    s = Standards(rows, date(2027, 7, 1))
    assert s.get("dibao.standard") == D("850")
    assert [(f.key, f.effective_from, f.source) for f in s.used()] == [
        ("dibao.standard", date(2027, 7, 1), "2027 notice"),
    ]


def test_no_figure_before_the_first_effective_date() -> None:
    with pytest.raises(MissingStandard):
        Standards(SEED, date(2021, 12, 31)).get("dibao.standard")


def test_edits_must_stay_in_the_figure_s_range() -> None:
    assert check_edit("gradual_exit.months", D("12")) is None
    assert "between 1 and 12" in (check_edit("gradual_exit.months", D("13")) or "")
    assert "not a known figure" in (check_edit("dibao.bonus", D("1")) or "")
    assert "two decimal places" in (check_edit("dibao.standard", D("800.125")) or "")
    assert "whole number" in (check_edit("notice.days", D("7.5")) or "")
    assert check_edit("tekun.care.dispersed.full", D("0.3525")) is None


# -- tekun ------------------------------------------------------------------------------


@pytest.mark.parametrize(("failed", "level"), [(0, "self_care"), (1, "partial"), (3, "partial"), (4, "full")])
def test_care_level_from_the_six_adl_items(failed: int, level: str) -> None:
    assert tekun.care_level(failed) == level


def test_dispersed_elder_needing_partial_care() -> None:
    person = alone(72, Income(IncomeKind.ELDERLY_ALLOWANCE, D("30.00")), Income(IncomeKind.TRANSFER, D("200.00")))
    a = tekun.assess(person, tekun.Supporter.NONE, tekun.Placement.DISPERSED, tekun.CareLevel.PARTIAL, standards())
    # 1040 basic + 20% of 1650 = 330; the old-age allowance is not income for tekun
    assert a.eligible and a.per_capita_income == D("200.00") and a.total == D("1370.00")
    assert "aged 72" in a.reasons[0]


def test_centralised_full_care_and_self_care() -> None:
    s = standards()
    full = tekun.assess(alone(80), tekun.Supporter.UNABLE, tekun.Placement.CENTRALISED, tekun.CareLevel.FULL, s)
    own = tekun.assess(alone(80), tekun.Supporter.NONE, tekun.Placement.CENTRALISED, tekun.CareLevel.SELF_CARE, s)
    assert (full.total, own.total) == (D("1865.00"), D("1040.00"))


def test_the_basic_standard_follows_a_higher_dibao_standard() -> None:
    a = tekun.assess(
        alone(65),
        tekun.Supporter.NONE,
        tekun.Placement.DISPERSED,
        tekun.CareLevel.SELF_CARE,
        standards(dibao__standard="900"),
    )
    assert a.total == D("1170.00")  # 1.3 × 900 is more than the configured 1040


def test_tekun_refuses_with_every_failed_condition() -> None:
    a = tekun.assess(
        alone(45, Income(IncomeKind.WAGE, D("900.00"))),
        tekun.Supporter.ABLE,
        tekun.Placement.DISPERSED,
        tekun.CareLevel.SELF_CARE,
        standards(),
    )
    assert not a.eligible and len(a.reasons) == 3
    assert "ability to work" in a.reasons[0] and "900.00" in a.reasons[1] and "supporter" in a.reasons[2]


def test_a_grade_two_physical_disability_means_no_ability_to_work() -> None:
    a = tekun.assess(
        alone(40, dis=Disability(2, DisabilityKind.PHYSICAL)),
        tekun.Supporter.NONE,
        tekun.Placement.DISPERSED,
        tekun.CareLevel.FULL,
        standards(),
    )
    assert a.eligible and a.total == D("1617.50")  # 1040 + 35% of 1650 (577.50)


# -- temporary assistance --------------------------------------------------------------------


def test_emergency_grant_is_at_least_twice_the_standard_paid_first_from_the_town_reserve() -> None:
    g = temporary.assess(temporary.TemporaryType.EMERGENCY, D("1000.00"), D("0"), D("50000"), standards())
    assert g.assessment.total == D("1600.00") and g.approver == "town" and g.from_reserve and g.pay_first


def test_grant_above_the_town_limit_goes_to_the_district_and_is_capped_at_ten_times() -> None:
    s = standards()
    mid = temporary.assess(temporary.TemporaryType.EXPENDITURE, D("5000.00"), D("900"), D("50000"), s)
    big = temporary.assess(temporary.TemporaryType.EXPENDITURE, D("12000.00"), D("900"), D("50000"), s)
    assert (mid.assessment.total, mid.approver, mid.from_reserve, mid.pay_first) == (
        D("5000.00"),
        "district",
        False,
        False,
    )
    assert big.assessment.total == D("8000.00") and "一事一议" in big.assessment.members[0].why


def test_a_spent_reserve_cannot_pay_and_an_expenditure_grant_needs_low_income() -> None:
    s = standards()
    spent = temporary.assess(temporary.TemporaryType.EMERGENCY, D("1600.00"), D("0"), D("1000.00"), s)
    assert spent.approver == "town" and not spent.from_reserve
    rich = temporary.assess(temporary.TemporaryType.EXPENDITURE, D("2000.00"), D("3000.00"), D("50000"), s)
    assert not rich.assessment.eligible and "3000" in rich.assessment.reasons[0]


# -- orphans ------------------------------------------------------------------------------------


P = orphan.Parent


@pytest.mark.parametrize(
    ("parents", "expected"),
    [
        ((P.DEAD, P.DEAD), "orphan"),
        ((P.DEAD, P.IMPRISONED), "de_facto_orphan"),
        ((P.SEVERELY_DISABLED, P.OUT_OF_CONTACT), "de_facto_orphan"),
        ((P.PRESENT, P.IMPRISONED), None),
        ((P.DEAD, P.PRESENT), None),
    ],
)
def test_orphan_and_de_facto_orphan(parents: tuple[orphan.Parent, orphan.Parent], expected: str | None) -> None:
    assert orphan.status(parents) == expected


def test_orphan_allowance_by_placement_and_the_difference_when_on_dibao() -> None:
    s = standards()
    assert orphan.assess(9, (P.DEAD, P.DEAD), orphan.Placement.DISPERSED, {}, s).total == D("1180")
    assert orphan.assess(9, (P.DEAD, P.DEAD), orphan.Placement.INSTITUTIONAL, {}, s).total == D("1600")
    on_dibao = orphan.assess(9, (P.DEAD, P.DEAD), orphan.Placement.DISPERSED, {"dibao": D("596.67")}, s)
    assert on_dibao.total == D("583.33") and "补差" in on_dibao.members[0].why


def test_no_difference_to_pay_and_no_allowance_at_eighteen() -> None:
    s = standards()
    on_tekun = orphan.assess(15, (P.DEAD, P.DEAD), orphan.Placement.DISPERSED, {"tekun": D("1370.00")}, s)
    assert not on_tekun.eligible and "no difference" in on_tekun.reasons[0]
    adult = orphan.assess(18, (P.DEAD, P.DEAD), orphan.Placement.DISPERSED, {}, s)
    assert not adult.eligible and "under 18" in adult.reasons[0]


# -- disability subsidies -------------------------------------------------------------------------


def test_living_subsidy_only_in_a_dibao_family_care_subsidy_for_grades_one_and_two() -> None:
    s = standards()
    grade3 = Disability(3, DisabilityKind.HEARING)
    assert disability.living_subsidy(grade3, disability.FamilyStatus.DIBAO, False, s).total == D("80")
    assert not disability.living_subsidy(grade3, disability.FamilyStatus.OTHER, False, s).eligible
    assert not disability.living_subsidy(grade3, disability.FamilyStatus.DIBAO, True, s).eligible
    assert not disability.care_subsidy(grade3, s).eligible
    assert disability.care_subsidy(Disability(2, DisabilityKind.VISUAL), s).total == D("80")


# -- which programs go together ------------------------------------------------------------------


def test_one_active_case_per_program_and_dibao_with_tekun_refused() -> None:
    assert "already has an active dibao" in (programs.refusal("dibao", {"dibao"}) or "")
    assert "exclude each other" in (programs.refusal("tekun", {"dibao", "disability_care"}) or "")
    assert programs.refusal("temporary", {"temporary", "dibao"}) is None
    assert programs.refusal("disability_care", {"dibao", "disability_living"}) is None
