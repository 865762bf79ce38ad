"""Data comparison (比对) rules: what a line of another department's list means for a matched record.

Each source names one rule, a pure function of the line and what monitoring
knows of the person, returning a finding (rule, summary) when it matters or
None when the list agrees with the record. RULES.md §4.4 names the sources
(殡葬, 户籍, 不动产, vehicles, 市场主体, salaries and pensions); a finding
that matters raises an alert of kind `comparison_<rule>`, one open per person
and rule however many lists repeat it, closed by a caseworker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Any

GUARANTEED = frozenset({"dibao", "tekun"})


@dataclass(frozen=True)
class Known:
    """What a comparison reads of a matched record."""

    status: str
    programs: dict[str, str]

    @cached_property  # read by a rule for every matched line: computed once
    def active(self) -> set[str]:
        return {p for p, s in self.programs.items() if s == "active"}


@dataclass(frozen=True)
class Finding:
    rule: str
    summary: str


Rule = Callable[[dict[str, Any], Known, Decimal], Finding | None]


def death_not_on_file(line: dict[str, Any], known: Known, standard: Decimal) -> Finding | None:
    """A cremation or a cancelled registration of someone still paid, whose death the registry has not recorded."""
    if known.status == "deceased" or not known.active:
        return None
    return Finding(
        "death_not_on_file",
        f"listed as dead by another department while {', '.join(sorted(known.active))} still pay: "
        "check with the registry and stop the benefits",
    )


def asset_on_guarantee(line: dict[str, Any], known: Known, standard: Decimal) -> Finding | None:
    """A vehicle, a property or a business registered to someone on dibao or tekun: re-check the assets."""
    programs = known.active & GUARANTEED
    if not programs:
        return None
    what = line.get("description") or "an asset"
    return Finding("asset_on_guarantee", f"{what} registered while on {', '.join(sorted(programs))}: re-check assets")


def income_above_standard(line: dict[str, Any], known: Known, standard: Decimal) -> Finding | None:
    """A salary or pension at or above the dibao standard of someone on dibao."""
    amount = _money(line.get("monthly_amount"))
    if "dibao" not in known.active or amount is None or amount < standard:
        return None
    return Finding(
        "income_above_standard", f"monthly {amount:.2f} reported, at or above the dibao standard {standard:.2f}"
    )


def _money(value: object) -> Decimal | None:
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


RULE_OF_SOURCE: dict[str, Rule] = {
    "cremation": death_not_on_file,
    "hukou_cancellation": death_not_on_file,
    "vehicle": asset_on_guarantee,
    "property": asset_on_guarantee,
    "business": asset_on_guarantee,
    "salary": income_above_standard,
    "pension": income_above_standard,
}
SOURCES = tuple(RULE_OF_SOURCE)
FIELDS = ("monthly_amount", "description")  # every field of a line a rule reads (besides the identity number)
# The active programs without which a rule finds nothing (None: any program): the matching reads only those lines.
NEEDS: dict[Rule, frozenset[str] | None] = {
    death_not_on_file: None,
    asset_on_guarantee: GUARANTEED,
    income_above_standard: frozenset({"dibao"}),
}
