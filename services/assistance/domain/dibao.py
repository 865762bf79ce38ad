"""最低生活保障 (dibao): who qualifies and how much each member receives.

- Income test: household per-capita monthly income below the standard
  (社会救助暂行办法 Art 9); property within the limits in force (Art 14).
- Amount per member: standard − per-capita income (Art 12; 审核确认办法 Art 23),
  plus one 分类施保 add-on for an elderly, minor, severely disabled or
  seriously ill member (Art 27; the highest that applies: add-ons do not stack,
  an assumption), and never less than the floor per member.
- 单人户 (审核确认办法 Art 8): when the household is not eligible but its
  per-capita income is below the marginal limit (1.5 × the standard: 低保边缘),
  a severely disabled or seriously ill member may be enrolled alone, assessed
  on their own income.

Pure: no I/O. Worked examples are in tests/assistance/test_dibao_rules.py.
"""

from __future__ import annotations

from decimal import Decimal

from services.assistance.domain.assessment import Assessment, MemberAmount, refused
from services.assistance.domain.income import (
    ADULT_AGE,
    ZERO,
    Household,
    IncomeResult,
    LabourCapacity,
    Member,
    per_capita_income,
)
from services.assistance.domain.standards import Standards
from shared.money import round_yuan

PROGRAM = "dibao"


def property_refusals(household: Household, standards: Standards, standard: Decimal) -> list[str]:
    """Why the household's property is over the limits in force (Art 14), or nothing."""
    reasons = []
    months = standards.get("dibao.asset_months")
    per_capita_assets = round_yuan(household.assets.financial / len(household.members))
    if per_capita_assets > months * standard:
        reasons.append(
            f"financial assets of {per_capita_assets} per member exceed {months} months "
            f"of the standard ({round_yuan(months * standard)})"
        )
    if household.assets.homes > standards.get("dibao.max_homes"):
        reasons.append(f"{household.assets.homes} homes owned; the limit is {standards.get('dibao.max_homes')}")
    if household.assets.vehicles > standards.get("dibao.max_vehicles"):
        reasons.append(
            f"{household.assets.vehicles} non-essential vehicles owned; "
            f"the limit is {standards.get('dibao.max_vehicles')}"
        )
    return reasons


def addon(member: Member, standards: Standards, standard: Decimal) -> tuple[Decimal, str]:
    """The 分类施保 add-on of one member: the highest category that applies, as a share of the standard."""
    categories: list[tuple[str, str]] = []
    if member.age >= standards.get("dibao.elderly_age"):
        categories.append(("dibao.addon.elderly", f"aged {member.age}"))
    if member.age < ADULT_AGE:
        categories.append(("dibao.addon.minor", f"a minor aged {member.age}"))
    if member.disability and member.disability.severe:
        d = member.disability
        categories.append(("dibao.addon.severely_disabled", f"disability grade {d.grade} ({d.kind.value})"))
    if member.seriously_ill:
        categories.append(("dibao.addon.seriously_ill", "seriously ill"))
    best, why = ZERO, ""
    for key, reason in categories:
        share = standards.get(key)
        amount = round_yuan(share * standard)
        if amount > best:
            best, why = amount, f"add-on {amount} ({share} of the standard: {reason})"
    return best, why


def member_amounts(
    household: Household, standards: Standards, standard: Decimal, per_capita: Decimal
) -> list[MemberAmount]:
    floor = standards.get("dibao.floor")
    base = standard - per_capita
    amounts = []
    for i, member in enumerate(household.members):
        extra, extra_why = addon(member, standards, standard)
        amount = max(base + extra, floor)
        why = f"standard {standard} − per-capita income {per_capita} = {base}"
        if extra:
            why += f"; {extra_why}"
        if amount == floor and base + extra < floor:
            why += f"; raised to the floor of {floor}"
        amounts.append(MemberAmount(i, base, extra, round_yuan(amount), why))
    return amounts


def review_interval(household: Household, standards: Standards) -> tuple[int, str]:
    """复核 every 6 months for a household with members of working age able to work, else every 12.

    Art 31 asks for six months where income is unstable and members can work; whether income is
    unstable is the caseworker's finding, so members able to work stand for it here (an assumption).
    """
    workers = [
        i
        for i, m in enumerate(household.members)
        if m.labour_capacity != LabourCapacity.NONE and ADULT_AGE <= m.age < standards.get("dibao.elderly_age")
    ]
    if workers:
        months = int(standards.get("review.unstable_months"))
        return months, f"reviewed every {months} months: member(s) {', '.join(map(str, workers))} able to work"
    months = int(standards.get("review.stable_months"))
    return months, f"reviewed every {months} months: no member of working age able to work"


def _eligible(
    household: Household, standards: Standards, standard: Decimal, income: IncomeResult, kind: str, why: str
) -> Assessment:
    members = member_amounts(household, standards, standard, income.per_capita)
    total = sum((m.amount for m in members), ZERO)
    months, review_why = review_interval(household, standards)
    return Assessment(
        PROGRAM,
        standards.on,
        True,
        kind,
        (why, review_why),
        standard,
        income.per_capita,
        income.lines,
        tuple(members),
        total,
        tuple(standards.used()),
        months,
    )


def single_person(household: Household, standards: Standards, standard: Decimal, income: IncomeResult) -> Assessment:
    """单人户: the severely disabled or seriously ill members of a 低保边缘 family, each on their own income."""
    candidates = [
        i for i, m in enumerate(household.members) if (m.disability and m.disability.severe) or m.seriously_ill
    ]
    chosen = [i for i in candidates if per_capita_income(household.alone(i), standards).per_capita < standard]
    if not chosen:
        return refused(
            PROGRAM,
            standards.on,
            [
                f"per-capita income {income.per_capita} is not below the standard {standard}",
                "低保边缘家庭 (below the marginal limit), but no severely disabled or seriously ill member "
                "whose own income is below the standard (单人户, 审核确认办法 Art 8)",
            ],
            standards.used(),
            standard=standard,
            income=income,
            kind="marginal",
        )
    members: list[MemberAmount] = []
    lines = list(income.lines)
    for i in chosen:
        own = per_capita_income(household.alone(i), standards)
        amount = member_amounts(household.alone(i), standards, standard, own.per_capita)[0]
        members.append(MemberAmount(i, amount.base, amount.addon, amount.amount, f"单人户 on own income: {amount.why}"))
    why = (
        f"per-capita income {income.per_capita} is not below the standard {standard} but below the "
        f"marginal limit: member(s) {', '.join(str(i) for i in chosen)} enrolled as 单人户 (Art 8)"
    )
    total = sum((m.amount for m in members), ZERO)
    months = int(standards.get("review.stable_months"))
    return Assessment(
        PROGRAM,
        standards.on,
        True,
        "single_person",
        (why, f"reviewed every {months} months"),
        standard,
        income.per_capita,
        tuple(lines),
        tuple(members),
        total,
        tuple(standards.used()),
        months,
    )


def assess(household: Household, standards: Standards) -> Assessment:
    """The dibao assessment of a household on the standards' date."""
    standard = standards.get("dibao.standard")
    income = per_capita_income(household, standards)
    property_reasons = property_refusals(household, standards, standard)
    if property_reasons:
        return refused(PROGRAM, standards.on, property_reasons, standards.used(), standard=standard, income=income)
    if income.per_capita < standard:
        why = f"per-capita income {income.per_capita} is below the standard {standard} (Art 9)"
        return _eligible(household, standards, standard, income, "household", why)
    marginal = round_yuan(standards.get("dibao.marginal_multiple") * standard)
    if income.per_capita < marginal:
        return single_person(household, standards, standard, income)
    return refused(
        PROGRAM,
        standards.on,
        [
            f"per-capita income {income.per_capita} is not below the standard {standard}, "
            f"nor below the marginal limit {marginal}",
        ],
        standards.used(),
        standard=standard,
        income=income,
    )
