"""Property-based: whatever the household, no program's amount is negative or a float,
every amount is whole fen, and the total is the sum of the members' amounts."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from services.assistance.domain import dibao, orphan, tekun, temporary
from services.assistance.domain.assessment import Assessment
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
)
from tests.assistance.rules_support import standards

money = st.decimals(min_value=0, max_value=200_000, places=2, allow_nan=False, allow_infinity=False)
incomes = st.builds(Income, st.sampled_from(list(IncomeKind)), money)
disabilities = st.none() | st.builds(Disability, st.integers(1, 4), st.sampled_from(list(DisabilityKind)))
members = st.builds(
    Member,
    st.just("member"),
    st.integers(0, 110),
    st.lists(incomes, max_size=4).map(tuple),
    money,
    disabilities,
    st.booleans(),
)


@st.composite
def households(draw: st.DrawFn) -> Household:
    people = draw(st.lists(members, min_size=1, max_size=6))
    expenses = draw(
        st.lists(
            st.builds(RigidExpense, st.integers(0, len(people) - 1), st.sampled_from(list(ExpenseKind)), money),
            max_size=3,
        )
    )
    assets = draw(st.builds(Assets, money, st.integers(0, 3), st.integers(0, 2)))
    return Household(tuple(people), tuple(expenses), assets)


def exact(a: Assessment) -> None:
    amounts = [a.total, a.per_capita_income, *(m.amount for m in a.members)]
    for amount in amounts:
        assert isinstance(amount, Decimal) and not isinstance(amount, float)
        assert amount >= 0 and amount == amount.quantize(Decimal("0.01"))
    assert a.total == sum((m.amount for m in a.members), Decimal("0"))
    assert a.eligible == bool(a.members)


@settings(max_examples=100, deadline=None)
@given(households())
def test_dibao_amounts_are_never_negative_never_float(household: Household) -> None:
    exact(dibao.assess(household, standards()))


@settings(max_examples=60, deadline=None)
@given(
    members,
    st.sampled_from(list(tekun.Supporter)),
    st.sampled_from(list(tekun.Placement)),
    st.sampled_from(list(tekun.CareLevel)),
)
def test_tekun_amounts_are_never_negative_never_float(
    member: Member, supporter: tekun.Supporter, placement: tekun.Placement, level: tekun.CareLevel
) -> None:
    exact(tekun.assess(Household((member,)), supporter, placement, level, standards()))


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(list(temporary.TemporaryType)), money, money, money)
def test_temporary_grants_are_never_negative_and_never_above_ten_times(
    kind: temporary.TemporaryType, need: Decimal, income: Decimal, reserve: Decimal
) -> None:
    grant = temporary.assess(kind, need, income, reserve, standards())
    exact(grant.assessment)
    assert grant.assessment.total <= Decimal("8000")


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 20),
    st.tuples(st.sampled_from(list(orphan.Parent)), st.sampled_from(list(orphan.Parent))),
    st.sampled_from(list(orphan.Placement)),
    st.dictionaries(st.sampled_from(orphan.TOPPED_UP), money),
)
def test_orphan_allowance_is_never_negative(
    age: int, parents: tuple[orphan.Parent, orphan.Parent], placement: orphan.Placement, other: dict[str, Decimal]
) -> None:
    exact(orphan.assess(age, parents, placement, other, standards()))
