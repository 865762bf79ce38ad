"""A case (救助对象): one person in one program, with its monthly amount and status.

Suspension on a death is reversible (the death may be revoked); termination
and recovery of overpayments wait for the death to be confirmed.
"""

from __future__ import annotations

from enum import StrEnum


class Program(StrEnum):
    DIBAO = "dibao"  # 最低生活保障
    TEKUN = "tekun"  # 特困人员救助供养
    TEMPORARY = "temporary"  # 临时救助
    ORPHAN = "orphan"  # 孤儿基本生活费
    DE_FACTO_ORPHAN = "de_facto_orphan"  # 事实无人抚养儿童
    DISABILITY_LIVING = "disability_living"  # 困难残疾人生活补贴
    DISABILITY_CARE = "disability_care"  # 重度残疾人护理补贴


class CaseStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    GRADUAL_EXIT = "gradual_exit"  # 渐退: income above the standard, paid for the configured months, then ends
    TERMINATED = "terminated"


def can_enrol(person_status: str) -> str | None:
    """Why a person cannot be enrolled, or None."""
    if person_status == "deceased":
        return "the person is recorded as deceased"
    return None


def suspend_for_death(status: CaseStatus) -> bool:
    """Only an active case is suspended; a terminated one stays terminated."""
    return status == CaseStatus.ACTIVE


def resume_after_revoked_death(status: CaseStatus, reason: str | None) -> bool:
    """A death recorded in error undoes what it did: the suspension, or the termination once it was confirmed."""
    return status in (CaseStatus.SUSPENDED, CaseStatus.TERMINATED) and reason == "death"


def can_start_gradual_exit(status: CaseStatus) -> str | None:
    """Why a case cannot enter gradual exit (渐退), or None: only an active case can."""
    if status != CaseStatus.ACTIVE:
        return f"only an active case enters gradual exit; this one is {status.value}"
    return None
