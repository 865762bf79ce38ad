"""Response models of the monitoring API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from shared.money import Money
from shared.paging import Page  # noqa: F401 - re-exported for the routers


class RecordOut(BaseModel):
    record_id: uuid.UUID
    person_id: uuid.UUID
    id_number: str
    name: str | None
    hukou_division: str
    status: str
    date_of_death: date | None
    categories: list[str] = Field(
        description="dibao, tekun, anti_poverty_monitoring, marginal, rigid_expense, other_low_income"
    )
    markers: list[str] = Field(description="orphan, disability, guaranteed_elder")
    programs: dict[str, str]
    amounts: dict[str, str] = Field(description="monthly amount in force per active program (yuan)")
    household_id: uuid.UUID | None
    in_district: bool
    review_due_on: date | None
    monthly_income: Decimal | None = Field(None, description="the person's own income, the latest a partner reported")
    per_capita_income: Decimal | None = Field(
        None, description="the household's: its living members' reported incomes over their number, monthly"
    )
    medical_expense: Decimal | None
    updated_at: datetime


class AlertOut(BaseModel):
    alert_id: uuid.UUID
    kind: str
    status: str
    severity: str
    person_id: uuid.UUID | None
    id_number: str | None
    hukou_division: str | None
    summary: str
    benefits: list[str]
    details: dict[str, Any]
    raised_at: datetime
    assignee: str | None
    resolved_at: datetime | None
    resolution: str | None
    open_seconds: int = Field(description="how long the alert has been (or was) open")


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assignee: str = Field(min_length=1, max_length=200, description="the caseworker who follows the alert up")


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resolution: str = Field(
        min_length=1, max_length=2000, description="what was done (e.g. payments after death recovered)"
    )


class HistoryOut(BaseModel):
    at: datetime
    event_id: str = Field(description="the event's id, or `import:<reference>:<line>` for a staff import")
    event_type: str
    change: dict[str, Any]


class HouseholdOut(BaseModel):
    household_id: uuid.UUID
    members: list[RecordOut]


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=2000)


class CommentOut(BaseModel):
    at: datetime
    author: str
    text: str


class ThresholdsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    effective_from: date
    dibao_standard: Money
    marginal_multiplier: Annotated[
        Decimal,
        Field(gt=1, le=5, max_digits=4, decimal_places=3),
        WithJsonSchema({"type": "string", "pattern": r"^[0-9](\.[0-9]{1,3})?$", "maxLength": 5, "examples": ["1.5"]}),
    ]
    medical_expense_threshold: Money
    allowance_age: int = Field(80, ge=60, le=120)
    child_exit_age: int = Field(18, ge=16, le=25)
    review_grace_days: int = Field(0, ge=0, le=365)
    source: str = Field(min_length=1, max_length=500, description="the decision or document the figures come from")


class ThresholdsOut(ThresholdsIn):
    model_config = ConfigDict(extra="ignore")

    created_by: str
    created_at: datetime


class WarningsRunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_of: date


class WarningsRunOut(BaseModel):
    as_of: date
    records: int
    raised: int
    closed: int


class ImportOut(BaseModel):
    import_id: uuid.UUID
    reference: str
    kind: str
    created_at: datetime
    counts: dict[str, int]
    lines: list[dict[str, Any]]


class ProgramPaidOut(BaseModel):
    paid: str = Field(description="yuan paid by the month's payment lines, exact (overpayments not subtracted)")
    payments: int
    overpaid: str = Field(description="yuan found paid after death in the month (to recover), exact")
    overpayments: int
    recovered: str = Field(description="yuan of overpayments recovered in the month, exact")
    recoveries: int
    written_off: str = Field(description="yuan of overpayments written off in the month (a death revoked), exact")
    write_offs: int


class StatsOut(BaseModel):
    month: str | None
    date: date | None
    division: str
    people_by_category: dict[str, int]
    people_by_program: dict[str, int]
    people_by_division: dict[str, int]
    households_by_category: dict[str, int] = Field(description="households with a living member in the category")
    monthly_amounts_by_program: dict[str, str] = Field(description="the monthly amounts in force, yuan, exact")
    alerts_by_kind: dict[str, dict[str, int]]
    open_alerts_by_age: dict[str, int] = Field(description="alerts still open, by days since raised: 0-7, 8-30, ...")
    figures_month: str = Field(description="the month (YYYY-MM) of the paid, entered and exited figures")
    paid_by_program: dict[str, ProgramPaidOut] = Field(description="payments of the month, by program")
    people_entered_by_program: dict[str, int] = Field(description="persons enrolled in the month (effective date)")
    people_exited_by_program: dict[str, int] = Field(description="persons whose case or allowance ended in the month")


class FindingOut(BaseModel):
    line: int
    person_id: uuid.UUID
    rule: str
    summary: str


class ComparisonOut(BaseModel):
    id: uuid.UUID
    source: str
    status: str = Field(description="running, then finished")
    lines: int = Field(description="lines read so far: the progress while it runs")
    matched: int
    rejected: int = Field(description="lines without a valid identity number")
    findings: int
    alerts: int
    started_at: datetime
    finished_at: datetime | None
    items: list[FindingOut] = Field(description="the findings, a page at a time (limit, offset)")


class ReconciliationOut(BaseModel):
    id: uuid.UUID
    hukou_division: str = Field(description="the scope reconciled: the caller's division")
    status: str = Field(description="running, finished, or failed (an owner could not be read: nothing repaired)")
    started_at: datetime
    finished_at: datetime | None
    counts: dict[str, int] = Field(description="cases and allowances read, records compared, repairs, alerts")
    repairs: list[dict[str, Any]] = Field(description="each benefit repaired: person, program, before, after")
    error: str | None = None


class LeadOut(BaseModel):
    lead_id: uuid.UUID
    person_id: uuid.UUID
    id_number: str
    hukou_division: str
    reason: str = Field(description="income_below_standard, high_medical_expense, uncovered_listed, marginal_uncovered")
    program: str = Field(description="the program to assess first: the pre-filled application's program")
    summary: str
    figures: dict[str, str] = Field(description="the figures behind the lead (income, standard, expense, lists)")
    application: dict[str, Any] = Field(
        description="the application the lead pre-fills: the body of assistance's POST /v1/applications"
    )
    status: str = Field(description="open, or closed when a case opens or the data no longer say so")
    raised_at: datetime
    closed_at: datetime | None
    closed_reason: str | None
