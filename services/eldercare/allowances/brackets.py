"""The allowance's brackets as SQL: an amount by birth date, for everyone at once.

Whose birthday falls when is turned into birth-date cut-offs computed once in
Python (`born_by`), so the database compares dates, index-friendly, instead of
working out an age per row. A bracket is raised "from the month after the
birthday": the amount of a month is the bracket of the age reached by the last
day of the month before. A birthday of 29 February counts, in a common year,
from 1 March (`born_by`: someone born on 29 February 1936 turns 90 on
1 March 2026, and is paid the 90+ bracket from April 2026).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.eldercare.care.rosters import born_by
from services.eldercare.domain.allowance import Bracket
from services.eldercare.models import AllowanceBracket


class NoStandard(LookupError):
    """No allowance bracket is in force on the date asked."""


async def in_force(session: AsyncSession, on: date) -> list[Bracket]:
    """The latest set of brackets in force on `on`, youngest first."""
    rows = (await session.execute(select(AllowanceBracket).where(AllowanceBracket.effective_from <= on))).scalars()
    brackets = [Bracket(r.effective_from, r.min_age, r.max_age, r.monthly_amount) for r in rows]
    if not brackets:
        raise NoStandard(f"no allowance standard in force on {on}")
    latest = max(b.effective_from for b in brackets)
    return sorted((b for b in brackets if b.effective_from == latest), key=lambda b: b.min_age)


def month_start(on: date) -> date:
    return on.replace(day=1)


def month_end(on: date) -> date:
    """The last day of `on`'s month."""
    following = date(on.year + on.month // 12, on.month % 12 + 1, 1)
    return following - timedelta(days=1)


def reached_by(month: date) -> date:
    """The day whose age sets a month's bracket: the last day of the month before."""
    return month_start(month) - timedelta(days=1)


@dataclass(frozen=True)
class AmountSql:
    """`CASE WHEN p.birth_date <= cut THEN amount ...` for the brackets, with its parameters."""

    sql: str
    params: dict[str, Any]


def amount_case(brackets: list[Bracket], month: date, *, otherwise: Decimal | None) -> AmountSql:
    """The amount of `month` for a person `p`; `otherwise` for someone under every bracket by then.

    Discovery passes the youngest bracket's amount as `otherwise` (someone
    eligible today who turned 80 this month is enrolled at the first bracket);
    the payroll passes None (no line before the month after the 80th birthday).
    """
    day = reached_by(month)
    whens, params = [], {}
    for i, b in enumerate(reversed(brackets)):  # eldest first: the first cut-off met is the bracket
        whens.append(f"WHEN p.birth_date <= :cut_{i} THEN CAST(:amount_{i} AS numeric)")
        params[f"cut_{i}"], params[f"amount_{i}"] = born_by(day, b.min_age), b.monthly_amount
    params["otherwise"] = otherwise
    return AmountSql("CASE " + " ".join(whens) + " ELSE CAST(:otherwise AS numeric) END", params)


def amount_for(brackets: list[Bracket], birth_date: date, month: date) -> Decimal:
    """`amount_case` for one person, as discovery computes it (the youngest bracket at least)."""
    day = reached_by(month)
    for b in reversed(brackets):
        if birth_date <= born_by(day, b.min_age):
            return b.monthly_amount
    return brackets[0].monthly_amount


def described(brackets: list[Bracket]) -> list[dict[str, str]]:
    """The brackets a payroll used, for its record."""
    return [
        {
            "min_age": str(b.min_age),
            "max_age": "" if b.max_age is None else str(b.max_age),
            "monthly_amount": str(b.monthly_amount),
            "effective_from": b.effective_from.isoformat(),
        }
        for b in brackets
    ]
