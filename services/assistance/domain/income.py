"""The household and its per-capita monthly income, computed line by line.

A caseworker must be able to redo the sum by hand, so every item of income
becomes a line saying whether it was counted, deducted or left out, and why
(社会救助暂行办法 Art 13; 最低生活保障审核确认办法 Arts 7, 13-14):

- counted: wages (工资性收入), net business income (经营净收入), net property
  income (财产净收入), transfers received (转移性收入);
- deducted: transfers paid (taxes, social-insurance contributions, support paid
  to others), the necessary cost of employment (就业成本, up to the cap in force
  per working member), and rigid expenses (刚性支出: out-of-pocket medical,
  education and rehabilitation costs). The law lets localities set these
  deductions; this code deducts documented rigid expenses in full and caps
  employment costs, both assumptions a bureau can change;
- not counted: 优抚金, family-planning awards, scholarships and awards for
  bravery, government social assistance, the central basic pension, the
  de-facto orphan subsidy; for tekun also the old-age allowance (高龄津贴).

Pure: no I/O. Money is Decimal yuan; the per-capita figure is rounded half-up
to the fen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from services.assistance.domain.standards import Standards
from shared.money import round_yuan

ZERO = Decimal("0.00")
ADULT_AGE = 18  # 未成年人: under 18 (民法典 Art 17)


class IncomeKind(StrEnum):
    WAGE = "wage"  # 工资性收入
    BUSINESS = "business"  # 经营净收入
    PROPERTY = "property"  # 财产净收入
    TRANSFER = "transfer"  # 转移性收入 received
    TRANSFER_PAID = "transfer_paid"  # 转移性支出: taxes, contributions, 赡养支出
    YOUFU = "youfu"  # 优抚金
    FAMILY_PLANNING = "family_planning"  # 计划生育奖励与扶助金
    SCHOLARSHIP = "scholarship"  # 奖学金
    BRAVERY_AWARD = "bravery_award"  # 见义勇为奖励
    SOCIAL_ASSISTANCE = "social_assistance"  # 政府发放的社会救助款物
    BASIC_PENSION = "basic_pension"  # 城乡居民基础养老金 (central part)
    DE_FACTO_ORPHAN_SUBSIDY = "de_facto_orphan_subsidy"  # 事实无人抚养儿童生活补贴
    ELDERLY_ALLOWANCE = "elderly_allowance"  # 高龄津贴


COUNTED = {IncomeKind.WAGE, IncomeKind.BUSINESS, IncomeKind.PROPERTY, IncomeKind.TRANSFER}

NOT_COUNTED_WHY: dict[IncomeKind, str] = {
    IncomeKind.YOUFU: "优抚金 is not income (社会救助暂行办法 Art 13)",
    IncomeKind.FAMILY_PLANNING: "计划生育奖励与扶助金 is not income (Art 13)",
    IncomeKind.SCHOLARSHIP: "奖学金 is not income (Art 13)",
    IncomeKind.BRAVERY_AWARD: "见义勇为 awards are not income (Art 13)",
    IncomeKind.SOCIAL_ASSISTANCE: "government social assistance is not income (Art 13)",
    IncomeKind.BASIC_PENSION: "the central basic pension is not income during the 14th Five-Year Plan",
    IncomeKind.DE_FACTO_ORPHAN_SUBSIDY: "the de-facto orphan subsidy is not income (民发〔2019〕62号)",
    IncomeKind.ELDERLY_ALLOWANCE: "高龄津贴 is not income for tekun (特困人员认定办法 Art 6)",
}

DIBAO_EXEMPT = frozenset(NOT_COUNTED_WHY) - {IncomeKind.ELDERLY_ALLOWANCE}
TEKUN_EXEMPT = frozenset(NOT_COUNTED_WHY)


class DisabilityKind(StrEnum):
    PHYSICAL = "physical"  # 肢体
    VISUAL = "visual"  # 视力
    HEARING = "hearing"  # 听力
    SPEECH = "speech"  # 言语
    INTELLECTUAL = "intellectual"  # 智力
    MENTAL = "mental"  # 精神
    MULTIPLE = "multiple"  # 多重


class LabourCapacity(StrEnum):
    FULL = "full"
    PARTIAL = "partial"
    NONE = "none"


class ExpenseKind(StrEnum):
    MEDICAL = "medical"  # 医疗, out of pocket after insurance and medical assistance
    EDUCATION = "education"  # 教育
    REHABILITATION = "rehabilitation"  # 残疾康复


@dataclass(frozen=True)
class Disability:
    """A 残疾人证: grade 1 (most severe) to 4."""

    grade: int
    kind: DisabilityKind

    @property
    def severe(self) -> bool:
        """重度残疾 for the 单人户 rule: grade 1-2, or grade 3 intellectual or mental (Art 8)."""
        if self.grade <= 2:
            return True
        return self.grade == 3 and self.kind in (DisabilityKind.INTELLECTUAL, DisabilityKind.MENTAL)


@dataclass(frozen=True)
class Income:
    kind: IncomeKind
    monthly_amount: Decimal
    note: str = ""


@dataclass(frozen=True)
class Member:
    """One 共同生活的家庭成员 as the assessment sees them."""

    relation: str
    age: int
    incomes: tuple[Income, ...] = ()
    employment_cost: Decimal = ZERO
    disability: Disability | None = None
    seriously_ill: bool = False
    labour_capacity: LabourCapacity = LabourCapacity.FULL


@dataclass(frozen=True)
class RigidExpense:
    member: int
    kind: ExpenseKind
    monthly_amount: Decimal
    note: str = ""


@dataclass(frozen=True)
class Assets:
    financial: Decimal = ZERO  # deposits, securities, funds, insurance, claims
    homes: int = 0
    vehicles: int = 0  # vehicles not needed for the family's living or work


@dataclass(frozen=True)
class Household:
    members: tuple[Member, ...]
    rigid_expenses: tuple[RigidExpense, ...] = ()
    assets: Assets = field(default_factory=Assets)

    def alone(self, index: int) -> Household:
        """The household of one member (单人户): their own incomes and rigid expenses only."""
        mine = tuple(
            RigidExpense(0, e.kind, e.monthly_amount, e.note) for e in self.rigid_expenses if e.member == index
        )
        return Household((self.members[index],), mine, self.assets)


@dataclass(frozen=True)
class IncomeLine:
    """One line of the sum: `amount` is added (income), subtracted (deduction) or left out."""

    member: int | None
    item: str
    amount: Decimal
    treatment: str  # "counted", "deducted", "not counted"
    why: str


@dataclass(frozen=True)
class IncomeResult:
    lines: tuple[IncomeLine, ...]
    counted: Decimal
    deducted: Decimal
    net: Decimal
    size: int
    per_capita: Decimal


def _income_lines(i: int, member: Member, exempt: frozenset[IncomeKind]) -> list[IncomeLine]:
    lines = []
    for inc in member.incomes:
        label = f"{inc.kind.value}" + (f" ({inc.note})" if inc.note else "")
        if inc.kind in COUNTED:
            lines.append(IncomeLine(i, label, inc.monthly_amount, "counted", "income (Art 13)"))
        elif inc.kind == IncomeKind.TRANSFER_PAID:
            why = "transfers paid (taxes, social insurance, support paid) are subtracted (Art 13)"
            lines.append(IncomeLine(i, label, inc.monthly_amount, "deducted", why))
        elif inc.kind in exempt:
            lines.append(IncomeLine(i, label, inc.monthly_amount, "not counted", NOT_COUNTED_WHY[inc.kind]))
        else:
            lines.append(IncomeLine(i, label, inc.monthly_amount, "counted", "income for this program"))
    return lines


def _employment_line(i: int, member: Member, cap: Decimal) -> IncomeLine | None:
    wages = sum((x.monthly_amount for x in member.incomes if x.kind == IncomeKind.WAGE), ZERO)
    if member.employment_cost <= 0 or wages <= 0:
        return None
    allowed = min(member.employment_cost, cap, wages)
    why = (
        f"必要的就业成本 (Art 13): declared {member.employment_cost}, deducted {allowed} "
        f"(at most {cap} per working member, and never more than the wages)"
    )
    return IncomeLine(i, "employment cost", allowed, "deducted", why)


def _expense_line(e: RigidExpense) -> IncomeLine:
    label = f"rigid expense: {e.kind.value}" + (f" ({e.note})" if e.note else "")
    why = "刚性支出 out of pocket, deducted in full (Art 13, last paragraph)"
    return IncomeLine(e.member, label, e.monthly_amount, "deducted", why)


def per_capita_income(
    household: Household, standards: Standards, exempt: frozenset[IncomeKind] = DIBAO_EXEMPT
) -> IncomeResult:
    """Household monthly income net of deductions, divided by the number of members."""
    cap = standards.get("dibao.employment_cost_cap")
    lines: list[IncomeLine] = []
    for i, member in enumerate(household.members):
        lines += _income_lines(i, member, exempt)
        employment = _employment_line(i, member, cap)
        if employment:
            lines.append(employment)
    lines += [_expense_line(e) for e in household.rigid_expenses]
    counted = sum((x.amount for x in lines if x.treatment == "counted"), ZERO)
    deducted = sum((x.amount for x in lines if x.treatment == "deducted"), ZERO)
    net = max(counted - deducted, ZERO)  # deductions can use up income, not make it negative
    size = len(household.members)
    return IncomeResult(tuple(lines), counted, deducted, net, size, round_yuan(net / size))
