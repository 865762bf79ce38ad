"""Home care (居家养老) for guaranteed elders: the monthly service budget and what fits in it.

A guaranteed elder is 60+ with an active dibao or tekun case (learned from
assistance's events). Each has a monthly service budget (POLICY.md: 125 yuan,
derived; an effective-dated row, never a constant). Orders are committed
against the month's budget when they are placed, so a provider's monthly
settlement can never pay more for an elder than the budget: what would exceed
it is refused with the figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

SERVICES = ("meals", "cleaning", "bathing", "medical_care", "mobility_help", "emergency_call")
GUARANTEE_PROGRAMS = frozenset({"dibao", "tekun"})
MIN_AGE = 60


@dataclass(frozen=True)
class Budget:
    effective_from: date
    monthly_amount: Decimal


def budget_on(budgets: list[Budget], on: date) -> Budget | None:
    """The budget row in force on a date (the latest effective on or before it)."""
    in_force = [b for b in budgets if b.effective_from <= on]
    return max(in_force, key=lambda b: b.effective_from) if in_force else None


def month_of(on: date) -> str:
    return f"{on.year:04d}-{on.month:02d}"


def first_day(month: str) -> date:
    year, mon = month.split("-")
    return date(int(year), int(mon), 1)


def refusal(budget: Decimal, committed: Decimal, amount: Decimal, month: str) -> str | None:
    """Why an amount does not fit the month's budget, or None when it does."""
    if committed + amount <= budget:
        return None
    left = max(budget - committed, Decimal("0.00"))
    return (
        f"would exceed the {month} service budget of {budget} yuan: "
        f"{committed} already committed, {left} left, this is {amount}"
    )
