"""The warning rules, each on a worked example a caseworker can check by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.monitoring.domain import warnings as w

TODAY = date(2022, 10, 15)
T = w.Thresholds(effective_from=date(2022, 1, 1), dibao_standard=Decimal("780.00"))


def sit(**kw: object) -> w.Situation:
    return w.Situation(today=TODAY, **kw)  # type: ignore[arg-type]


def kinds(s: w.Situation) -> set[str]:
    return set(w.evaluate(s, T))


def test_the_thresholds_in_force_are_the_latest_not_after_the_day() -> None:
    later = w.Thresholds(effective_from=date(2023, 1, 1), dibao_standard=Decimal("830.00"))
    assert w.thresholds_on([later, T], date(2022, 12, 31)) is T
    assert w.thresholds_on([later, T], date(2023, 1, 1)) is later
    with pytest.raises(LookupError):
        w.thresholds_on([later], date(2022, 6, 1))


def test_a_dead_beneficiary_is_found_and_a_revoked_death_clears_it() -> None:
    dead = sit(status="deceased", date_of_death=date(2022, 9, 3), programs={"dibao": "suspended"})
    finding = w.evaluate(dead, T)["beneficiary_died"]
    assert finding.severity == w.Severity.HIGH and "2022-09-03" in finding.summary and "dibao" in finding.summary
    # Revoked: alive again, the suspended case resumed.
    plan = w.reconcile(["beneficiary_died"], w.evaluate(sit(programs={"dibao": "active"}), T))
    assert plan.close == {"beneficiary_died": "the death was revoked"}


def test_a_death_with_every_benefit_terminated_stays_found_until_revoked() -> None:
    s = sit(status="deceased", programs={"tekun": "terminated"}, benefits_at_death=("tekun",))
    assert "beneficiary_died" in kinds(s)
    assert "beneficiary_died" not in kinds(sit(status="deceased"))  # nobody was paying: nothing to do


def test_a_move_out_with_benefits_is_found_but_not_for_the_dead() -> None:
    assert "beneficiary_moved_out" in kinds(sit(in_district=False, programs={"old_age_allowance": "active"}))
    assert "beneficiary_moved_out" not in kinds(sit(in_district=False))
    assert "beneficiary_moved_out" not in kinds(sit(status="deceased", in_district=False, programs={"dibao": "active"}))


def test_paid_after_death_until_recovered() -> None:
    assert w.evaluate(sit(open_overpayments=Decimal("1560.00")), T)["paid_after_death"].details["amount"] == "1560.00"
    plan = w.reconcile(["paid_after_death"], w.evaluate(sit(open_overpayments=Decimal("0")), T))
    assert plan.close == {"paid_after_death": "the overpayment was recovered or written off"}


def test_income_at_the_standard_starts_gradual_exit_and_says_where_it_leads() -> None:
    at = w.evaluate(sit(programs={"dibao": "active"}, per_capita_income=Decimal("780.00")), T)["income_above_standard"]
    assert "低保边缘" in at.summary  # 780 < 1.5 x 780 = 1170: a marginal family after exit
    high = w.evaluate(sit(programs={"dibao": "active"}, per_capita_income=Decimal("1170.00")), T)[
        "income_above_standard"
    ]
    assert "stop after the gradual exit" in high.summary
    assert "income_above_standard" not in kinds(sit(programs={"dibao": "active"}, per_capita_income=Decimal("779.99")))
    assert "income_above_standard" not in kinds(sit(per_capita_income=Decimal("5000")))  # not on dibao


def test_a_large_medical_bill_matters_only_in_a_low_income_household() -> None:
    bill = Decimal("5000.00")
    assert "high_medical_expense" in kinds(sit(programs={"dibao": "active"}, latest_medical_expense=bill))
    assert "high_medical_expense" in kinds(sit(categories=frozenset({"marginal"}), latest_medical_expense=bill))
    assert "high_medical_expense" not in kinds(sit(latest_medical_expense=bill))
    assert "high_medical_expense" not in kinds(
        sit(programs={"dibao": "active"}, latest_medical_expense=Decimal("4999.99"))
    )


def test_a_household_change_needs_a_review_after_it() -> None:
    changed = dict(programs={"dibao": "active"}, household_changed_on=date(2022, 8, 1))
    assert "household_changed" in kinds(sit(**changed))
    assert "household_changed" in kinds(sit(**changed, last_review_on=date(2022, 7, 31)))
    assert "household_changed" not in kinds(sit(**changed, last_review_on=date(2022, 8, 1)))


def test_a_review_is_overdue_the_day_after_it_was_due() -> None:
    assert "review_overdue" not in kinds(sit(programs={"dibao": "active"}, review_due_on=TODAY))
    assert "review_overdue" in kinds(sit(programs={"dibao": "active"}, review_due_on=date(2022, 10, 14)))


def test_a_review_done_on_or_after_the_due_date_is_no_longer_overdue() -> None:
    due = {"programs": {"dibao": "active"}, "review_due_on": date(2022, 10, 14)}
    assert "review_overdue" in kinds(sit(**due, last_review_on=date(2022, 10, 13)))  # before it fell due
    assert "review_overdue" not in kinds(sit(**due, last_review_on=date(2022, 10, 14)))


def test_listed_but_uncovered() -> None:
    listed = frozenset({"anti_poverty_monitoring"})
    assert "uncovered_need" in kinds(sit(categories=listed))
    assert "uncovered_need" not in kinds(sit(categories=listed, programs={"dibao": "active"}))
    assert "uncovered_need" not in kinds(sit(categories=listed, status="deceased"))


def test_an_elder_of_80_without_the_allowance_and_29_february() -> None:
    assert "elder_without_allowance" in kinds(sit(birth_date=date(1942, 10, 15)))  # 80 today
    assert "elder_without_allowance" not in kinds(sit(birth_date=date(1942, 10, 16)))  # 80 tomorrow
    assert "elder_without_allowance" not in kinds(
        sit(birth_date=date(1940, 1, 1), programs={"old_age_allowance": "active"})
    )
    assert "elder_without_allowance" not in kinds(sit(birth_date=date(1940, 1, 1), in_district=False))
    leap = w.Situation(today=date(2024, 2, 28), birth_date=date(1944, 2, 29))
    assert leap.age_on(date(2024, 2, 28)) == 79 and leap.age_on(date(2024, 2, 29)) == 80
    assert leap.age_on(date(2025, 3, 1)) == 81


def test_a_child_in_a_program_turning_18() -> None:
    assert "child_turning_18" in kinds(sit(birth_date=date(2004, 10, 15), programs={"orphan": "active"}))
    assert "child_turning_18" not in kinds(sit(birth_date=date(2004, 10, 16), programs={"orphan": "active"}))
    assert "child_turning_18" not in kinds(sit(birth_date=date(1950, 1, 1), programs={"tekun": "active"}))


def test_reconcile_raises_new_closes_cleared_keeps_the_rest_and_leaves_foreign_kinds() -> None:
    found = w.evaluate(sit(status="deceased", programs={"dibao": "suspended"}, open_overpayments=Decimal("10")), T)
    plan = w.reconcile(["paid_after_death", "review_overdue", "raised_by_hand"], found)
    assert set(plan.raise_) == {"beneficiary_died"}
    assert plan.close == {"review_overdue": "the review was done"}
    assert plan.keep == {"paid_after_death"}


statuses = st.sampled_from(["active", "deceased", "moved_away"])
program_states = st.dictionaries(
    st.sampled_from(["dibao", "tekun", "orphan", "temporary", "old_age_allowance"]),
    st.sampled_from(["active", "suspended", "terminated"]),
)
money = st.decimals(min_value=0, max_value=10**6, places=2)


@given(
    status=statuses,
    programs=program_states,
    in_district=st.booleans(),
    income=st.none() | money,
    expense=st.none() | money,
    owed=money,
    born=st.none() | st.dates(date(1900, 1, 1), TODAY),
)
def test_rules_are_pure_and_one_situation_gives_one_finding_per_kind(
    status: str,
    programs: dict[str, str],
    in_district: bool,
    income: Decimal | None,
    expense: Decimal | None,
    owed: Decimal,
    born: date | None,
) -> None:
    s = sit(
        status=status,
        programs=programs,
        in_district=in_district,
        per_capita_income=income,
        latest_medical_expense=expense,
        open_overpayments=owed,
        birth_date=born,
    )
    first, second = w.evaluate(s, T), w.evaluate(s, T)
    assert first == second and set(first) <= set(w.KINDS)
    assert all(f.kind == k for k, f in first.items())
    # Applying the plan leaves nothing more to do.
    plan = w.reconcile(w.reconcile([], first).raise_, first)
    assert not plan.raise_ and not plan.close


@given(
    status=st.sampled_from(["deceased", "moved_away"]),
    programs=program_states,
    categories=st.frozensets(st.sampled_from(["anti_poverty_monitoring", "marginal", "rigid_expense"])),
    income=st.none() | money,
    expense=st.none() | money,
    born=st.none() | st.dates(date(1900, 1, 1), TODAY),
    due=st.none() | st.dates(date(2020, 1, 1), TODAY),
    changed=st.none() | st.dates(date(2020, 1, 1), TODAY),
)
def test_the_rules_skipped_unless_a_person_is_active_would_find_nothing(
    status: str,
    programs: dict[str, str],
    categories: frozenset[str],
    income: Decimal | None,
    expense: Decimal | None,
    born: date | None,
    due: date | None,
    changed: date | None,
) -> None:
    """`evaluate` asks only the other rules of the dead and the moved away: the skipped ones answer None for them."""
    s = sit(
        status=status, programs=programs, categories=categories, per_capita_income=income,
        latest_medical_expense=expense, birth_date=born, review_due_on=due, household_changed_on=changed,
    )  # fmt: skip
    assert all(rule.check(s, T) is None for rule in w.RULES if rule.active_only)
    assert w.evaluate(s, T) == {r.kind: f for r in w.RULES if (f := r.check(s, T)) is not None}
