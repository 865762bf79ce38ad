"""The assessment every program's rule returns: the result together with its explanation.

A caseworker reads it top to bottom: the income lines (each counted, deducted
or left out, and why), the per-capita income, the standard it was compared
with, eligible or not and the reasons, the amount of each member and the
total, and the figures used with the date each came into force.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from services.assistance.domain.income import ZERO, IncomeLine, IncomeResult
from services.assistance.domain.standards import FigureUsed


@dataclass(frozen=True)
class MemberAmount:
    """What one member receives: the base, the add-on and why."""

    member: int
    base: Decimal
    addon: Decimal
    amount: Decimal
    why: str


@dataclass(frozen=True)
class Assessment:
    program: str
    on: date
    eligible: bool
    kind: str  # e.g. "household", "single_person", "marginal", "not_eligible"
    reasons: tuple[str, ...]
    standard: Decimal = ZERO
    per_capita_income: Decimal = ZERO
    income_lines: tuple[IncomeLine, ...] = ()
    members: tuple[MemberAmount, ...] = ()
    total: Decimal = ZERO
    figures: tuple[FigureUsed, ...] = field(default=())
    review_every_months: int | None = None  # 复核 interval of the case, where the program sets one


def refused(
    program: str,
    on: date,
    reasons: list[str],
    figures: list[FigureUsed],
    *,
    standard: Decimal = ZERO,
    income: IncomeResult | None = None,
    kind: str = "not_eligible",
) -> Assessment:
    """A refusal that still shows the sums behind it."""
    return Assessment(
        program,
        on,
        False,
        kind,
        tuple(reasons),
        standard,
        income.per_capita if income else ZERO,
        income.lines if income else (),
        figures=tuple(figures),
    )
