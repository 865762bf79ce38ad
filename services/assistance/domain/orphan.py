"""孤儿 and 事实无人抚养儿童 (orphans and de-facto orphans): the monthly allowance.

- An orphan has lost both parents (death or a court's declaration).
- A de-facto orphan (民发〔2019〕62号): both parents are severely disabled,
  seriously ill, imprisoned, in compulsory drug rehabilitation or otherwise
  deprived of liberty, or out of contact for six months or more; or one parent
  is dead or missing and the other is in one of those situations.
- Under 18 (the allowance ends at 18, on `registry.person.milestone`).
- Amount: the dispersed (散居) or institutional (集中) standard; a child who
  already receives dibao, tekun or the disability living subsidy gets the
  difference (补差) when that is below the standard, and nothing more when
  it is not.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from services.assistance.domain.assessment import Assessment, MemberAmount, refused
from services.assistance.domain.income import ADULT_AGE, ZERO
from services.assistance.domain.standards import Standards

PROGRAM = "orphan"

# The programs whose amount the allowance tops up rather than adds to.
TOPPED_UP = ("dibao", "tekun", "disability_living")


class Placement(StrEnum):
    DISPERSED = "dispersed"  # 社会散居
    INSTITUTIONAL = "institutional"  # 福利机构集中供养


class Parent(StrEnum):
    PRESENT = "present"
    DEAD = "dead"  # 死亡 (natural death or declared dead)
    MISSING = "missing"  # 宣告失踪
    SEVERELY_DISABLED = "severely_disabled"  # 重残
    SERIOUSLY_ILL = "seriously_ill"  # 重病
    IMPRISONED = "imprisoned"  # 服刑在押 (6 months or more)
    DETAINED = "detained"  # 强制隔离戒毒 or other restriction of liberty
    OUT_OF_CONTACT = "out_of_contact"  # 失联 6 months or more


GONE = {Parent.DEAD, Parent.MISSING}
UNABLE = {Parent.SEVERELY_DISABLED, Parent.SERIOUSLY_ILL, Parent.IMPRISONED, Parent.DETAINED, Parent.OUT_OF_CONTACT}


def status(parents: tuple[Parent, Parent]) -> str | None:
    """ "orphan", "de_facto_orphan" or None (the child has a parent able to care)."""
    a, b = parents
    if a == Parent.DEAD and b == Parent.DEAD:
        return "orphan"
    if (a in UNABLE | GONE and b in UNABLE) or (a in UNABLE and b in GONE):
        return "de_facto_orphan"
    if a in GONE and b in GONE:
        return "de_facto_orphan"  # a parent declared missing counts as gone, not as dead
    return None


def assess(
    age: int, parents: tuple[Parent, Parent], placement: Placement, other: dict[str, Decimal], standards: Standards
) -> Assessment:
    """The allowance of one child, given what the child already receives from other programs."""
    which = status(parents)
    reasons = []
    if age >= ADULT_AGE:
        reasons.append(f"aged {age}: the allowance is for children under {ADULT_AGE}")
    if which is None:
        reasons.append(
            f"parents {parents[0].value} and {parents[1].value}: neither an orphan nor a de-facto orphan "
            "(民发〔2019〕62号)"
        )
    if reasons:
        return refused(PROGRAM, standards.on, reasons, standards.used())
    standard = standards.get(f"orphan.{placement.value}")
    already = sum((other.get(p, ZERO) for p in TOPPED_UP), ZERO)
    if already >= standard:
        return refused(
            PROGRAM,
            standards.on,
            [
                f"already receives {already} from {', '.join(p for p in TOPPED_UP if p in other)}, "
                f"not below the {placement.value} standard {standard}: no difference to pay (补差)",
            ],
            standards.used(),
            standard=standard,
        )
    amount = standard - already
    why = f"{placement.value} standard {standard}"
    if already:
        why += f" − {already} already received from {', '.join(p for p in TOPPED_UP if p in other)} (补差)"
    return Assessment(
        PROGRAM,
        standards.on,
        True,
        which,
        (f"{which.replace('_', ' ')} aged {age}",),
        standard,
        ZERO,
        (),
        (MemberAmount(0, standard, -already, amount, why),),
        amount,
        tuple(standards.used()),
    )
