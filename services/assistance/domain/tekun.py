"""特困人员救助供养 (tekun): the 三无 test and the monthly support (特困人员认定办法, 2021).

三无 (Art 4), all three required:
1. no ability to work (Art 5): aged 60 or over, under 16, an intellectual or
   mental disability of grade 1-3, a physical disability of grade 1-2, or a
   visual disability of grade 1;
2. no source of livelihood (Arts 6-7): own income below the dibao standard
   (the old-age allowance and other items not counted) and property within
   the limits;
3. no legal supporter, or one unable to support (Art 8).

Amount: the basic living standard, at least `tekun.basic_multiple` × the dibao
standard (`max(configured, multiple × standard)`), plus a care subsidy: a share
of the previous year's minimum monthly wage by form (centralised 集中 or
dispersed 分散) and care level (全护理 full, 半护理 partial, 全自理 nothing).
The care level comes from the six ADL items (Arts 20-23): 0 items failed is
self-care, up to 3 partial, 4 or more full.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from services.assistance.domain.assessment import Assessment, MemberAmount, refused
from services.assistance.domain.dibao import property_refusals
from services.assistance.domain.income import (
    TEKUN_EXEMPT,
    ZERO,
    DisabilityKind,
    Household,
    Member,
    per_capita_income,
)
from services.assistance.domain.standards import Standards
from shared.money import round_yuan

PROGRAM = "tekun"


class Placement(StrEnum):
    CENTRALISED = "centralised"  # 集中供养
    DISPERSED = "dispersed"  # 分散供养


class CareLevel(StrEnum):
    SELF_CARE = "self_care"  # 全自理
    PARTIAL = "partial"  # 半护理
    FULL = "full"  # 全护理


class Supporter(StrEnum):
    NONE = "none"  # no legal supporter
    UNABLE = "unable"  # a supporter who cannot support (Art 8)
    ABLE = "able"


def care_level(adl_items_failed: int) -> CareLevel:
    """Care level from the six ADL items the person cannot do (Art 21)."""
    if not 0 <= adl_items_failed <= 6:
        raise ValueError("there are six ADL items")
    if adl_items_failed == 0:
        return CareLevel.SELF_CARE
    return CareLevel.PARTIAL if adl_items_failed <= 3 else CareLevel.FULL


def no_ability_to_work(member: Member, standards: Standards) -> str | None:
    """Why the person has no ability to work (Art 5), or None when they have it."""
    if member.age >= standards.get("tekun.elderly_age"):
        return f"aged {member.age}"
    if member.age < standards.get("tekun.child_age"):
        return f"aged {member.age}, under {standards.get('tekun.child_age')}"
    d = member.disability
    if d is None:
        return None
    if d.kind in (DisabilityKind.INTELLECTUAL, DisabilityKind.MENTAL) and d.grade <= 3:
        return f"{d.kind.value} disability grade {d.grade}"
    if d.kind == DisabilityKind.PHYSICAL and d.grade <= 2:
        return f"physical disability grade {d.grade}"
    if d.kind == DisabilityKind.VISUAL and d.grade == 1:
        return "visual disability grade 1"
    return None


def care_subsidy(placement: Placement, level: CareLevel, standards: Standards) -> tuple[str, Decimal]:
    """The care subsidy and its explanation; self-care persons get none (不作调整)."""
    if level == CareLevel.SELF_CARE:
        return "self-care: no care subsidy", ZERO
    share = standards.get(f"tekun.care.{placement.value}.{level.value}")
    wage = standards.get("minimum_wage")
    amount = round_yuan(share * wage)
    return f"care subsidy {amount} ({share} of the minimum wage {wage}, {placement.value}, {level.value})", amount


def assess(
    person: Household, supporter: Supporter, placement: Placement, level: CareLevel, standards: Standards
) -> Assessment:
    """The tekun assessment of one person (a household of one: their own income and property)."""
    member = person.members[0]
    standard = standards.get("dibao.standard")
    income = per_capita_income(person, standards, TEKUN_EXEMPT)
    reasons: list[str] = []
    why_unable = no_ability_to_work(member, standards)
    if why_unable is None:
        reasons.append("has the ability to work (特困人员认定办法 Art 5)")
    if income.per_capita >= standard:
        reasons.append(f"own income {income.per_capita} is not below the dibao standard {standard} (Art 6)")
    reasons += property_refusals(person, standards, standard)
    if supporter == Supporter.ABLE:
        reasons.append("has a legal supporter able to support (Art 8)")
    if reasons:
        return refused(PROGRAM, standards.on, reasons, standards.used(), standard=standard, income=income)
    multiple = standards.get("tekun.basic_multiple")
    basic = max(standards.get("tekun.basic_amount"), round_yuan(multiple * standard))
    care_why, care = care_subsidy(placement, level, standards)
    total = round_yuan(basic + care)
    why = f"basic standard {basic} (at least {multiple} × the dibao standard {standard}); {care_why}"
    return Assessment(
        PROGRAM,
        standards.on,
        True,
        placement.value,
        (
            f"三无: no ability to work ({why_unable}), own income below the standard, "
            f"no supporter able to support ({supporter.value})",
        ),
        standard,
        income.per_capita,
        income.lines,
        (MemberAmount(0, basic, care, total, why),),
        total,
        tuple(standards.used()),
    )
