"""临时救助 (temporary assistance): one-off grants, never a monthly case.

Two types (民发〔2018〕23号):
- 急难型 emergency (fire, accident, sudden serious illness): at least
  `temporary.emergency_min_multiple` × the monthly dibao standard, and paid
  first, reviewed after (先行救助: checks, evaluation and notice may follow);
- 支出型 expenditure (a rise in necessary spending): only when per-capita
  income is below the previous year's per-capita disposable income.

Any grant is at most `temporary.max_multiple` × the standard; more needs a
case-by-case decision (一事一议) outside this rule. A town approves alone up
to `temporary.town_limit_multiple` × the standard, paying from its reserve
fund (备用金) while the fund lasts; above that, or once the fund is spent, the
district approves.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from services.assistance.domain.assessment import Assessment, MemberAmount, refused
from services.assistance.domain.income import ZERO
from services.assistance.domain.standards import Standards
from shared.money import round_yuan

PROGRAM = "temporary"


class TemporaryType(StrEnum):
    EMERGENCY = "emergency"  # 急难型
    EXPENDITURE = "expenditure"  # 支出型


@dataclass(frozen=True)
class Grant:
    """The assessment, who approves it, and whether the town's reserve pays it now."""

    assessment: Assessment
    approver: str  # "town" or "district"
    from_reserve: bool
    pay_first: bool  # 先行救助: paid before the review is completed


def assess(
    kind: TemporaryType,
    need: Decimal,
    per_capita_income: Decimal,
    reserve_left: Decimal,
    standards: Standards,
) -> Grant:
    """The one-off grant for a documented need, capped and routed to its approver."""
    standard = standards.get("dibao.standard")
    if kind == TemporaryType.EXPENDITURE:
        line = standards.get("income.prev_year_disposable")
        if per_capita_income >= line:
            reasons = [
                f"支出型: per-capita income {per_capita_income} is not below last year's "
                f"per-capita disposable income {line}"
            ]
            return Grant(
                refused(PROGRAM, standards.on, reasons, standards.used(), standard=standard), "town", False, False
            )
    cap = round_yuan(standards.get("temporary.max_multiple") * standard)
    grant, why = need, f"documented need {need}"
    if kind == TemporaryType.EMERGENCY:
        least = round_yuan(standards.get("temporary.emergency_min_multiple") * standard)
        if grant < least:
            grant, why = least, f"{why}, raised to the emergency minimum {least}"
    if grant > cap:
        grant, why = cap, f"{why}, capped at {cap} (more only by case-by-case decision, 一事一议)"
    town_limit = round_yuan(standards.get("temporary.town_limit_multiple") * standard)
    approver = "town" if grant <= town_limit else "district"
    from_reserve = approver == "town" and grant <= reserve_left
    route = (
        f"the town approves alone (up to {town_limit})"
        if approver == "town"
        else f"above the town's limit {town_limit}: the district approves"
    )
    if approver == "town":
        route += "; paid from the town reserve fund" if from_reserve else "; the reserve fund is spent"
    assessment = Assessment(
        PROGRAM,
        standards.on,
        True,
        kind.value,
        (f"{kind.value} grant {grant}: {route}",),
        standard,
        per_capita_income,
        (),
        (MemberAmount(0, grant, ZERO, grant, why),),
        grant,
        tuple(standards.used()),
    )
    return Grant(assessment, approver, from_reserve, kind == TemporaryType.EMERGENCY)
