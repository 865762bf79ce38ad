"""Request and response models of the eldercare API."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from shared.fields import CivilDate, DivisionCode, IdNumberText
from shared.money import Money, PositiveMoney
from shared.paging import Page  # noqa: F401 - re-exported for the routers


class AllowanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id_number: IdNumberText


class AllowanceOut(BaseModel):
    allowance_id: uuid.UUID
    person_id: uuid.UUID
    id_number: str
    status: str
    monthly_amount: Money
    explanation: str
    started_on: date
    stopped_on: date | None
    stop_reason: str | None
    hukou_division: str


# -- capacity assessments, institutions, home care, insurance rosters -------------------------


IdNumber = IdNumberText
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Month = Annotated[str, StringConstraints(pattern=r"^(19|20|21)[0-9]{2}-(0[1-9]|1[0-2])$")]


class AssessmentIn(BaseModel):
    """The assessor's score sheet; the level is computed by the service, never sent."""

    model_config = ConfigDict(extra="forbid")

    id_number: IdNumber
    scores: dict[Annotated[str, StringConstraints(max_length=50)], int] = Field(
        max_length=60,
        description="the 26 item scores of GB/T 42195-2022 by item name (the answer's `subtotals` give the domains)",
    )
    assessed_on: CivilDate | None = None
    reason: Literal["first", "routine", "immediate", "review"] = "first"
    coma: bool = False
    dementia_or_mental_disorder: bool = False
    risk_events_30d: list[Literal["fall", "wandering", "choking", "self_harm", "other"]] = Field(
        default_factory=list, max_length=50
    )


class AssessmentOut(BaseModel):
    assessment_id: uuid.UUID
    person_id: uuid.UUID
    id_number: str
    hukou_division: str
    assessed_on: date
    reason: str
    assessor: str
    level: int
    level_name: str
    total: int
    subtotals: dict[str, int]
    preliminary_level: int
    explanation: str
    scores: dict[str, int]
    coma: bool
    dementia_or_mental_disorder: bool
    risk_events_30d: list[str]
    current: bool
    superseded_by: uuid.UUID | None


class InstitutionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    ownership: Literal["public", "private", "public_built_private_run"]
    division: DivisionCode = Field(description="where the institution stands (town or community code)")
    address: Annotated[str, StringConstraints(max_length=300)] | None = None


class Occupancy(BaseModel):
    beds: int
    occupied: int
    free: int
    rate_percent: Decimal


class InstitutionOut(BaseModel):
    institution_id: uuid.UUID
    name: str
    ownership: str
    division: str
    address: str | None
    occupancy: Occupancy


class OccupancySummary(BaseModel):
    institutions: int
    beds: int
    occupied: int
    free: int
    rate_percent: Decimal
    by_ownership: dict[str, Occupancy]


BedCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


class BedsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    codes: list[BedCode] = Field(min_length=1, max_length=1000)


class BedOut(BaseModel):
    bed_id: uuid.UUID
    code: str
    occupied: bool


class AdmissionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id_number: IdNumber
    bed_id: uuid.UUID | None = Field(default=None, description="a chosen bed; else the first free one")
    admitted_on: CivilDate | None = None


class AdmissionOut(BaseModel):
    admission_id: uuid.UUID
    institution_id: uuid.UUID
    bed_id: uuid.UUID
    bed_code: str
    person_id: uuid.UUID
    id_number: str
    hukou_division: str
    admitted_on: date
    discharged_on: date | None
    discharge_reason: str | None


class DischargeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id_number: IdNumber
    discharged_on: CivilDate | None = None
    reason: Literal["returned_home", "transferred", "death", "other"]


class Finding(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    severity: Literal["minor", "major", "critical"]
    description: Annotated[str, StringConstraints(max_length=2000)] = ""


class InspectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    month: Month
    inspected_on: CivilDate
    inspector: Name
    findings: list[Finding] = Field(default_factory=list, max_length=200)


class FollowUpIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    done_on: CivilDate
    note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class InspectionOut(BaseModel):
    inspection_id: uuid.UUID
    institution_id: uuid.UUID
    month: str
    inspected_on: CivilDate
    inspector: str
    findings: list[Finding]
    follow_up_status: str
    follow_up_on: date | None
    follow_up_note: str | None


Service = Literal["meals", "cleaning", "bathing", "medical_care", "mobility_help", "emergency_call"]


CreditCode = Annotated[str, StringConstraints(pattern=r"^[0-9A-HJ-NPQRTUWXY]{18}$")]


class ProviderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    credit_code: CreditCode = Field(description="统一社会信用代码")
    services: list[Service] = Field(min_length=1, max_length=6)
    phone: Annotated[str, StringConstraints(max_length=40)] | None = None


class ProviderOut(BaseModel):
    provider_id: uuid.UUID
    name: str
    credit_code: str
    services: list[str]
    phone: str | None


class ServiceOrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id_number: IdNumber
    provider_id: uuid.UUID
    service: Service
    scheduled_on: CivilDate
    amount: PositiveMoney


EARLIEST_TIME = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(2199, 12, 31, tzinfo=UTC)
VisitTime = Annotated[AwareDatetime, Field(ge=EARLIEST_TIME, le=LATEST_TIME)]


class DeliveryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    started_at: VisitTime
    ended_at: VisitTime
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None


class ServiceOrderOut(BaseModel):
    order_id: uuid.UUID
    person_id: uuid.UUID
    id_number: str
    hukou_division: str
    provider_id: uuid.UUID
    service: str
    scheduled_on: date
    month: str
    amount: Money
    status: str
    started_at: datetime | None
    ended_at: datetime | None
    delivery_note: str | None
    cancelled_on: date | None
    cancel_reason: str | None
    budget: Money | None = Field(default=None, description="the month's budget (on placing an order)")
    committed_in_month: Money | None = Field(
        default=None, description="what the elder's orders of the month hold, this one included"
    )


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class SettlementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    month: Month


class SettlementOut(BaseModel):
    settlement_id: uuid.UUID
    provider_id: uuid.UUID
    month: str
    total: Money
    orders: int
    elders: int
    refused: list[dict[str, str]]


class RosterEntry(BaseModel):
    person_id: uuid.UUID
    id_number: str
    name: str | None
    hukou_division: str
    age: int
    basis: str


class Roster(BaseModel):
    code: str
    rule: str
    annual_premium: Money
    insured: int
    premium_total: Money
    items: list[RosterEntry]


class Rosters(BaseModel):
    as_of: date
    rosters: list[Roster]
    premium_total: Money


# -- elders, allowance discovery, payroll, overpayments ----------------------------------------


class DiscoverIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_of: CivilDate = Field(description="the day eligibility is judged on (the month's bracket: see /v1/payrolls)")


class DiscoverOut(BaseModel):
    as_of: date
    enrolled: int = Field(description="eligible residents without an active allowance, now enrolled")
    raised: int = Field(description="active allowances moved to a higher bracket (90, 100) from this month")
    stopped: int = Field(description="active allowances of residents now dead or moved out, stopped")


class ElderOut(BaseModel):
    person_id: uuid.UUID
    id_number: str
    name: str | None
    sex: str | None
    birth_date: date
    age: int
    hukou_division: str
    status: str = Field(description="alive | deceased")
    living_alone: bool | None = Field(
        description="no other living member in their household (from the registry's household changes); "
        "null when no household of theirs is known"
    )
    guarantee: str | None = Field(description="dibao or tekun when an active case is known, else null")
    care_level: int | None = Field(description="the level of the current capacity assessment, if any")
    allowance_status: str | None
    allowance_monthly_amount: Money | None


class PayrollIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    month: str = Field(
        pattern=r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])$", description="the month paid, YYYY-MM", examples=["2026-12"]
    )  # as assistance's payroll takes it


class BracketUsedOut(BaseModel):
    min_age: str
    max_age: str
    monthly_amount: str
    effective_from: str


class PayrollOut(BaseModel):
    """A payroll as far as the caller's division sees it: totals are of the lines it covers."""

    id: uuid.UUID
    month: str
    total: Money = Field(description="paid, regular and back-pay lines")
    withheld_total: Money
    paid_lines: int
    withheld_lines: int
    by_division: dict[str, Money] = Field(description="paid, by town (9-digit division)")
    standards: list[BracketUsedOut]
    created_by: str
    created_at: datetime


class PayrollLineOut(BaseModel):
    id: uuid.UUID
    allowance_id: uuid.UUID
    person_id: uuid.UUID
    id_number: str
    month: str = Field(description="the month paid for (a back-pay line pays an earlier month)")
    kind: Literal["regular", "back_pay"]
    amount: Money
    status: Literal["paid", "withheld"]
    reason_code: str | None
    reason: str | None
    hukou_division: str


class OverpaymentOut(BaseModel):
    id: uuid.UUID
    allowance_id: uuid.UUID
    person_id: uuid.UUID
    id_number: str
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
