"""Proactive discovery (主动发现): persons whose data say they may qualify, as leads for assistance.

A lead is not an alert about money going wrong: it is a person nobody has
asked about yet whose figures say a program may apply, with the reason, the
program to assess first and the figures behind it, so assistance can open a
pre-filled application instead of retyping what monitoring already knows.
Each is a pure function of the person's situation and the thresholds in
force; a lead closes itself when a case opens (any assistance program in
force) or when the data stop saying so.

Sources: RULES.md §4.4 (uncovered need, 应保未保), §1.1 (dibao: per-capita
income under the standard), §4.1 (marginal families: up to the multiplier of
the standard), §3 (expenditure-type temporary assistance after medical bills).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.monitoring.domain.warnings import LIST_CATEGORIES, Situation, Thresholds, marginal_income

ASSISTANCE_PROGRAMS = frozenset(
    {"dibao", "tekun", "temporary", "orphan", "de_facto_orphan", "disability_living", "disability_care"}
)
GUARANTEED = frozenset({"dibao", "tekun"})
CASE_OPENED = "a case opened"
DATA_CHANGED = "the data no longer say so"


@dataclass(frozen=True)
class Lead:
    reason: str
    program: str  # the program to assess first: the pre-filled application's
    summary: str
    figures: dict[str, str] = field(default_factory=dict)


def _eligible_person(s: Situation) -> bool:
    return s.status == "active" and s.in_district


def income_below_standard(s: Situation, t: Thresholds) -> Lead | None:
    """Per-capita household income under the dibao standard, and neither dibao nor tekun in force."""
    pc = s.per_capita_income
    if not _eligible_person(s) or pc is None or pc >= t.dibao_standard or set(s.active_programs) & GUARANTEED:
        return None
    return Lead(
        "income_below_standard",
        "dibao",
        f"per-capita household income {pc:.2f} is under the dibao standard {t.dibao_standard:.2f}: assess dibao",
        {"per_capita_income": f"{pc:.2f}", "dibao_standard": f"{t.dibao_standard:.2f}"},
    )


def high_medical_expense(s: Situation, t: Thresholds) -> Lead | None:
    """A medical bill above the threshold in a low-income household without temporary assistance in force."""
    expense = s.latest_medical_expense
    low_income = bool(s.active_programs) or bool(s.categories & LIST_CATEGORIES) or marginal_income(s, t)
    low_income |= s.per_capita_income is not None and s.per_capita_income < t.dibao_standard
    if not _eligible_person(s) or expense is None or expense < t.medical_expense_threshold or not low_income:
        return None
    if "temporary" in s.active_programs:
        return None
    figures = {"medical_expense": f"{expense:.2f}", "threshold": f"{t.medical_expense_threshold:.2f}"}
    if s.per_capita_income is not None:
        figures["per_capita_income"] = f"{s.per_capita_income:.2f}"
    return Lead(
        "high_medical_expense",
        "temporary",
        f"out-of-pocket medical expense {expense:.2f} above {t.medical_expense_threshold:.2f} in a low-income "
        "household: assess expenditure-type temporary assistance",
        figures,
    )


def uncovered_listed(s: Situation, t: Thresholds) -> Lead | None:
    """On the anti-poverty monitoring list or a listed marginal family, and covered by no program."""
    lists = s.categories & LIST_CATEGORIES
    if not _eligible_person(s) or not lists or set(s.active_programs) & ASSISTANCE_PROGRAMS:
        return None
    return Lead(
        "uncovered_listed",
        "dibao",
        f"listed as {', '.join(sorted(lists))} and covered by no program: assess dibao",
        {"lists": ", ".join(sorted(lists))},
    )


def marginal_uncovered(s: Situation, t: Thresholds) -> Lead | None:
    """A marginal family by its income (the standard up to the multiplier of it), in no program."""
    if not _eligible_person(s) or not marginal_income(s, t) or set(s.active_programs) & ASSISTANCE_PROGRAMS:
        return None
    pc = s.per_capita_income
    ceiling = t.dibao_standard * t.marginal_multiplier
    return Lead(
        "marginal_uncovered",
        "temporary",
        f"per-capita household income {pc:.2f} makes a marginal family (under {ceiling:.2f}) covered by no program: "
        "assess temporary, medical and single-person dibao assistance",
        {"per_capita_income": f"{pc:.2f}", "dibao_standard": f"{t.dibao_standard:.2f}", "ceiling": f"{ceiling:.2f}"},
    )


RULES = (income_below_standard, high_medical_expense, uncovered_listed, marginal_uncovered)


def find(s: Situation, t: Thresholds) -> dict[str, Lead]:
    """Every lead the person's data give: reason -> lead (none for the dead or moved away: every rule asks that)."""
    if not _eligible_person(s):
        return {}
    found = (rule(s, t) for rule in RULES)
    return {lead.reason: lead for lead in found if lead is not None}


def closed_reason(s: Situation) -> str:
    """Why an open lead no longer holds: a case opened, or the figures changed."""
    opened = sorted(set(s.active_programs) & ASSISTANCE_PROGRAMS)
    return f"{CASE_OPENED}: {', '.join(opened)}" if opened else DATA_CHANGED


def application_draft(program: str, id_number: str, figures: dict[str, str]) -> dict[str, Any]:
    """The application a lead pre-fills, in the shape assistance's `POST /v1/applications` takes.

    The applicant alone (the town's survey finds the household as it is), the program to assess first, the
    income partners reported (HR or tax: a wage) and, for expenditure-type temporary assistance, the medical
    bill as the need. What monitoring cannot know (assets, other members) the caseworker adds.
    """
    member: dict[str, Any] = {"id_number": id_number, "relation": "self", "incomes": []}
    if "per_capita_income" in figures:
        income = {"kind": "wage", "monthly_amount": figures["per_capita_income"], "note": "reported by HR or tax"}
        member["incomes"] = [income]
    draft: dict[str, Any] = {"program": program, "members": [member]}
    if program == "temporary" and "medical_expense" in figures:
        draft["temporary"] = {"type": "expenditure", "need": figures["medical_expense"]}
    return draft
