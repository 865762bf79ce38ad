"""Request and response models of the assistance API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, WithJsonSchema, field_validator

from services.assistance.domain.cases import Program
from services.assistance.domain.income import DisabilityKind, ExpenseKind, IncomeKind, LabourCapacity
from services.assistance.domain.orphan import Parent
from services.assistance.domain.orphan import Placement as OrphanPlacement
from services.assistance.domain.tekun import Placement as TekunPlacement
from services.assistance.domain.tekun import Supporter
from services.assistance.domain.temporary import TemporaryType
from shared.fields import CivilDate, IdNumberText
from shared.money import Money, NonNegativeMoney, PositiveMoney
from shared.paging import Page  # noqa: F401 - re-exported for the routers


class CaseIn(BaseModel):
    """Enrol a person in a program (a stand-in until the application workflow replaces it)."""

    model_config = ConfigDict(extra="forbid")

    id_number: IdNumberText
    program: Program
    monthly_amount: PositiveMoney = Field(description="decimal string, yuan per month")


class CaseOut(BaseModel):
    case_id: uuid.UUID
    person_id: uuid.UUID
    id_number: str
    program: str
    monthly_amount: Money
    status: str
    status_reason: str | None
    status_changed_on: date | None
    started_on: date
    hukou_division: str
    gradual_exit_until: date | None = Field(None, description="渐退: the last day paid")
    transfer_pending: bool = Field(False, description="moved out of the district: paid to the end of that month")
    paid_until: date | None = None
    review_due_on: date | None = None


# -- standards ----------------------------------------------------------------------------


def _figure_value(value: object) -> Decimal:
    """A figure is an exact decimal (a share, a multiple, yuan): floats are refused, four places at most."""
    if isinstance(value, bool | float):
        raise ValueError('a figure must be a decimal string such as "800" or "0.35", not a float')
    text = str(value).strip()
    if len(text) > 20:
        raise ValueError("a figure has at most 20 characters")
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError('a figure must be a decimal string such as "800" or "0.35"') from exc
    if not amount.is_finite() or abs(amount) >= Decimal(10) ** 10:
        raise ValueError("a figure must be finite and below 10,000,000,000")
    if amount != amount.quantize(Decimal("0.0001")):
        raise ValueError("a figure has at most four decimal places")
    return amount


FigureValue = Annotated[
    Decimal,
    BeforeValidator(_figure_value),
    PlainSerializer(lambda v: f"{v.normalize():f}", return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": r"^-?[0-9]{1,10}(\.[0-9]{1,4})?$", "examples": ["800", "0.35"]}),
]


class StandardIn(BaseModel):
    """A new row of a figure, in force from `effective_from` (district staff only)."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(max_length=60, description="one of the figures listed by GET /v1/standards")
    value: FigureValue
    effective_from: CivilDate
    source: str = Field(min_length=1, max_length=300, description="the notice or decision the figure comes from")


class FigureOut(BaseModel):
    key: str
    label: str
    unit: str
    value: FigureValue
    effective_from: date
    source: str


class StandardsOut(BaseModel):
    on: date
    items: list[FigureOut]


class StandardChangeOut(BaseModel):
    key: str
    effective_from: date
    old_value: FigureValue | None
    new_value: FigureValue
    source: str
    changed_by: str
    changed_division: str
    changed_at: datetime


# -- applications -------------------------------------------------------------------------


class ApplicationProgram(StrEnum):
    DIBAO = "dibao"
    TEKUN = "tekun"
    TEMPORARY = "temporary"
    ORPHAN = "orphan"
    DISABILITY_LIVING = "disability_living"
    DISABILITY_CARE = "disability_care"


class Relation(StrEnum):
    SELF = "self"
    SPOUSE = "spouse"
    CHILD = "child"
    PARENT = "parent"
    SIBLING = "sibling"
    GRANDCHILD = "grandchild"
    GRANDPARENT = "grandparent"
    OTHER = "other"


Note = Annotated[str, Field(max_length=200)]


class IncomeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: IncomeKind
    monthly_amount: NonNegativeMoney
    note: Note = ""


class DisabilityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grade: int = Field(ge=1, le=4, description="残疾人证 grade, 1 the most severe")
    kind: DisabilityKind


class MemberIn(BaseModel):
    """A 共同生活的家庭成员, resolved against the registry by identity number."""

    model_config = ConfigDict(extra="forbid")

    id_number: IdNumberText
    relation: Relation
    incomes: list[IncomeIn] = Field(default_factory=list, max_length=20)
    employment_cost: NonNegativeMoney = Field(default=Decimal("0.00"), description="就业成本 per month")
    disability: DisabilityIn | None = None
    seriously_ill: bool = False
    labour_capacity: LabourCapacity = LabourCapacity.FULL


class RigidExpenseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member: int = Field(ge=0, le=19, description="index of the member in `members`")
    kind: ExpenseKind
    monthly_amount: NonNegativeMoney
    note: Note = ""


class AssetsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    financial: NonNegativeMoney = Decimal("0.00")
    homes: int = Field(default=0, ge=0, le=99)
    vehicles: int = Field(default=0, ge=0, le=99, description="vehicles not needed for living or work")


class TekunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    supporter: Supporter
    placement: TekunPlacement
    adl_items_failed: int = Field(default=0, ge=0, le=6, description="of the six ADL items, how many cannot be done")


class TemporaryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: TemporaryType
    need: PositiveMoney = Field(description="the documented need, yuan")


class OrphanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parents: list[Parent] = Field(min_length=2, max_length=2)
    placement: OrphanPlacement


class ApplicationIn(BaseModel):
    """An application: members[0] is the applicant (the child for an orphan allowance)."""

    model_config = ConfigDict(extra="forbid")

    program: ApplicationProgram
    members: list[MemberIn] = Field(min_length=1, max_length=20)
    rigid_expenses: list[RigidExpenseIn] = Field(default_factory=list, max_length=50)
    assets: AssetsIn = Field(default_factory=AssetsIn)
    tekun: TekunIn | None = None
    temporary: TemporaryIn | None = None
    orphan: OrphanIn | None = None


class IncomeLineOut(BaseModel):
    member: int | None
    item: str
    amount: Money
    treatment: str
    why: str


class MemberAmountOut(BaseModel):
    member: int
    base: Money
    addon: Money
    amount: Money
    why: str


class FigureUsedOut(BaseModel):
    key: str
    value: FigureValue
    effective_from: date
    source: str


class AssessmentOut(BaseModel):
    """The explanation: income line by line, the standard, eligible or not and why, amounts, figures used."""

    program: str
    on: date
    eligible: bool
    kind: str
    reasons: list[str]
    standard: Money
    per_capita_income: Money
    income_lines: list[IncomeLineOut]
    members: list[MemberAmountOut]
    total: Money
    figures: list[FigureUsedOut]
    review_every_months: int | None = Field(default=None, description="复核 interval of the case")
    approver: str | None = Field(default=None, description="temporary assistance: town or district")
    from_reserve: bool | None = Field(default=None, description="temporary assistance: paid from the town's 备用金")
    pay_first: bool | None = Field(default=None, description="temporary assistance: 先行救助, review after")


class HouseholdMemberOut(BaseModel):
    member: int
    person_id: uuid.UUID
    id_number: str
    name: str | None
    relation: str
    hukou_division: str


class StepOut(BaseModel):
    step: str
    actor: str
    at: datetime
    note: str | None


class ObjectionOut(BaseModel):
    id: uuid.UUID
    content: str
    recorded_by: str
    recorded_at: datetime
    outcome: str | None
    settlement: str | None
    settled_by: str | None
    settled_at: datetime | None


class ApplicationOut(BaseModel):
    id: uuid.UUID
    program: str
    status: str
    hukou_division: str
    members: list[HouseholdMemberOut]
    assessment: AssessmentOut
    submitted_on: date
    review_due_on: date
    due_on: date
    overdue: str | None = Field(description="the late step and its limit, or null")
    survey_notes: str | None
    notice_from: date | None
    notice_until: date | None = Field(description="the first day after the public notice")
    confirmed_on: date | None
    paid_from: date | None
    rejected_reason: str | None
    steps: list[StepOut]
    objections: list[ObjectionOut]
    case_ids: list[uuid.UUID]


Text = Annotated[str, Field(min_length=1, max_length=4000)]


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    survey_notes: Text = Field(description="入户调查 findings of the household survey")
    household: ApplicationIn | None = Field(
        default=None, description="the household as the survey found it, when not as declared: assessed anew"
    )


class RejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(min_length=1, max_length=500)]


class ObjectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: Text


class SettleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal["dismissed", "upheld"] = Field(
        description="dismissed: the notice stands; upheld: the town investigates again and reviews anew"
    )
    settlement: Text


class ConfirmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Annotated[str, Field(max_length=4000)] = ""


# -- payrolls and overpayments --------------------------------------------------------


class PayrollIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    month: str = Field(
        pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", description="the month paid, YYYY-MM", examples=["2026-12"]
    )

    @field_validator("month")
    @classmethod
    def _a_month(cls, v: str) -> str:
        if v.startswith("0000"):  # the pattern's one form that is no date
            raise ValueError("there is no year 0")
        return v


class PayrollOut(BaseModel):
    """A payroll as far as the caller's division sees it: totals are of the lines it covers."""

    id: uuid.UUID
    month: str
    total: Money = Field(description="paid: regular, back-pay, one-off and grant lines")
    withheld_total: Money
    paid_lines: int
    withheld_lines: int
    by_program: dict[str, Money]
    by_division: dict[str, Money] = Field(description="paid, by town (9-digit division)")
    by_kind: dict[str, Money] = Field(description="paid, by kind of line: regular, back_pay, one_off, grant")
    standards: list[FigureUsedOut]
    created_by: str
    created_at: datetime


class PayrollLineOut(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID | None = Field(description="the case paid; none for a temporary grant (see application_id)")
    application_id: uuid.UUID | None = Field(description="a temporary grant's application")
    person_id: uuid.UUID
    id_number: str
    program: str
    month: str = Field(description="the month paid for (a back-pay line pays an earlier month)")
    kind: Literal["regular", "back_pay", "one_off", "grant"]
    amount: Money
    status: Literal["paid", "withheld"]
    reason_code: str | None
    reason: str | None
    hukou_division: str


MonthlyProgram = Literal["dibao", "tekun", "orphan", "de_facto_orphan", "disability_living", "disability_care"]


class OneOffIn(BaseModel):
    """一次性补贴: the district decides that every person paid in a program that month also gets this amount."""

    model_config = ConfigDict(extra="forbid")

    program: MonthlyProgram
    month: str = Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", description="the month paid, YYYY-MM")
    amount_per_person: PositiveMoney = Field(description="yuan, paid once to each person paid that month")
    decision: str = Field(
        min_length=1, max_length=300, description="the decision: its reference and who took it (e.g. 区政府常务会议)"
    )

    @field_validator("month")
    @classmethod
    def _a_month(cls, v: str) -> str:
        if v.startswith("0000"):
            raise ValueError("there is no year 0")
        return v


class OneOffOut(BaseModel):
    id: uuid.UUID
    program: str
    month: str
    amount_per_person: Money
    decision: str
    decided_by: str
    created_at: datetime


class OverpaymentOut(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    person_id: uuid.UUID
    id_number: str
    program: str
    amount: Money
    months: list[str]
    reason: str
    status: Literal["open", "recovered", "written_off"]
    detected_at: datetime
    resolved_by: str | None
    resolved_at: datetime | None
    resolution_note: str | None
    hukou_division: str


class ResolutionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(None, max_length=2000, description="e.g. the receipt of the recovered sum")


class GradualExitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        min_length=3, max_length=300, description="e.g. a member found work; income now above the standard"
    )
