"""残疾人两项补贴: the living subsidy and the care subsidy (国发〔2015〕52号).

- 困难残疾人生活补贴 (living): a holder of a disability certificate (grades
  1-4) in a dibao family. Not paid to a child who receives the full orphan
  allowance (民发〔2019〕62号), nor, as commonly done, to a tekun person, whose
  support already covers living (unverified for Anhui; see RULES.md §6.2).
- 重度残疾人护理补贴 (care): a certificate of grade 1 or 2, whatever the
  family's income. Both may be received together.
"""

from __future__ import annotations

from enum import StrEnum

from services.assistance.domain.assessment import Assessment, MemberAmount, refused
from services.assistance.domain.income import ZERO, Disability
from services.assistance.domain.standards import Standards


class FamilyStatus(StrEnum):
    DIBAO = "dibao"
    MARGINAL = "marginal"  # 低保边缘
    TEKUN = "tekun"
    OTHER = "other"


def _granted(program: str, standards: Standards, key: str, why: str) -> Assessment:
    amount = standards.get(key)
    return Assessment(
        program,
        standards.on,
        True,
        program,
        (why,),
        amount,
        ZERO,
        (),
        (MemberAmount(0, amount, ZERO, amount, why),),
        amount,
        tuple(standards.used()),
    )


def living_subsidy(
    disability: Disability | None, family: FamilyStatus, full_orphan_allowance: bool, standards: Standards
) -> Assessment:
    program = "disability_living"
    reasons = []
    if disability is None:
        reasons.append("no disability certificate")
    if family == FamilyStatus.TEKUN:
        reasons.append("tekun support already covers living (特困 persons are not paid the living subsidy)")
    elif family != FamilyStatus.DIBAO:
        reasons.append(f"family status {family.value}: the living subsidy is for dibao families")
    if full_orphan_allowance:
        reasons.append("receives the full orphan allowance (民发〔2019〕62号)")
    if reasons:
        return refused(program, standards.on, reasons, standards.used())
    assert disability is not None
    return _granted(program, standards, "disability.living", f"disability grade {disability.grade} in a dibao family")


def care_subsidy(disability: Disability | None, standards: Standards) -> Assessment:
    program = "disability_care"
    if disability is None or disability.grade > 2:
        grade = "no certificate" if disability is None else f"grade {disability.grade}"
        return refused(program, standards.on, [f"{grade}: the care subsidy is for grades 1 and 2"], standards.used())
    return _granted(program, standards, "disability.care", f"severe disability, grade {disability.grade}")
