"""The old-age allowance (高龄津贴): residents with local household registration aged 80+.

Amounts are effective-dated brackets by age (seeded 80–89 / 90–99 / 100+ at
30 / 100 / 500 yuan a month, assumed figures, see POLICY.md), never constants.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class Bracket:
    effective_from: date
    min_age: int
    max_age: int | None
    monthly_amount: Decimal


@dataclass(frozen=True)
class Entitlement:
    eligible: bool
    age: int
    monthly_amount: Decimal
    explanation: str


def age_on(birth_date: date, on: date) -> int:
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def entitlement(
    birth_date: date, on: date, brackets: list[Bracket], *, in_district: bool = True, alive: bool = True
) -> Entitlement:
    age = age_on(birth_date, on)
    if not alive:
        return Entitlement(False, age, Decimal("0.00"), "the person is recorded as deceased")
    if not in_district:
        return Entitlement(False, age, Decimal("0.00"), "household registration is not in the district")
    in_force = [b for b in brackets if b.effective_from <= on]
    if not in_force:
        return Entitlement(False, age, Decimal("0.00"), f"no allowance standard in force on {on}")
    latest = max(b.effective_from for b in in_force)
    for b in sorted((b for b in in_force if b.effective_from == latest), key=lambda b: b.min_age):
        if age >= b.min_age and (b.max_age is None or age <= b.max_age):
            upper = f"–{b.max_age}" if b.max_age is not None else "+"
            return Entitlement(
                True,
                age,
                b.monthly_amount,
                f"aged {age}: bracket {b.min_age}{upper}, {b.monthly_amount} yuan a month (standard of {latest})",
            )
    youngest = min(b.min_age for b in in_force if b.effective_from == latest)
    return Entitlement(False, age, Decimal("0.00"), f"aged {age}: the allowance starts at {youngest}")
