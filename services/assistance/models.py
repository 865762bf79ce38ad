"""Assistance tables."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import NAMING, DivisionScoped, new_id


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Case(DivisionScoped, Base):
    """救助对象: a person enrolled in a program."""

    __tablename__ = "cases"
    # Room for a death's new row version on its page, a HOT update (migration 0012).
    __table_args__ = {"postgresql_with": {"fillfactor": 80}}

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    id_number: Mapped[str] = mapped_column(String(18), index=True)
    program: Mapped[str] = mapped_column(String(30))
    monthly_amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    status: Mapped[str] = mapped_column(String(20), default="active")
    started_on: Mapped[date] = mapped_column(Date)
    status_changed_on: Mapped[date | None] = mapped_column(Date)
    status_reason: Mapped[str | None] = mapped_column(String(100))
    # While a death suspends or terminates the case: its status and reason before, which a revoked death restores.
    status_before_death: Mapped[str | None] = mapped_column(String(20))
    reason_before_death: Mapped[str | None] = mapped_column(String(100))
    # "migrated" (POST /v1/cases: the amount on file, reassessed at the next review) or "application"
    origin: Mapped[str] = mapped_column(String(20), default="migrated", server_default="migrated")
    application_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    # Moved out of the district: paid to the end of the month of the move, then handed to the new county.
    paid_until: Mapped[date | None] = mapped_column(Date)
    transfer_pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    review_due_on: Mapped[date | None] = mapped_column(Date)
    gradual_exit_until: Mapped[date | None] = mapped_column(Date)  # 渐退: the last month paid
    # Tekun only: centralised or dispersed, and the care level (from the application or eldercare's assessment).
    placement: Mapped[str | None] = mapped_column(String(20))
    care_level: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class CaseAmount(Base):
    """A case's monthly amount from a month on, with why it changed and the figures behind it.

    The payroll of a month pays the row in force that month (`from_month` <= month < `until_month`, the
    next row's month, kept by `amounts.record`); a case without rows is paid its `monthly_amount`. The
    first change of a case also records the amount on file before it, from the case's first month, so
    the history alone answers every month.
    """

    __tablename__ = "case_amounts"
    __table_args__ = (UniqueConstraint("case_id", "from_month"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    case_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    from_month: Mapped[date] = mapped_column(Date)
    until_month: Mapped[date | None] = mapped_column(Date)  # the next row's month; None for the latest
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    previous_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    reason: Mapped[str] = mapped_column(String(300))
    explanation: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class OneOffSubsidy(Base):
    """一次性补贴: a district decision to pay every payable person of a program an amount in one month."""

    __tablename__ = "one_off_subsidies"
    __table_args__ = (UniqueConstraint("program", "month"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    program: Mapped[str] = mapped_column(String(30))
    month: Mapped[date] = mapped_column(Date)  # the first day of the month paid
    amount_per_person: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    decision: Mapped[str] = mapped_column(String(300))  # the decision's reference and who took it
    decided_by: Mapped[str] = mapped_column(String(200))  # the staff member who recorded it
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Standard(Base):
    """A policy figure effective from a date (救助标准): see domain/standards.py for the keys."""

    __tablename__ = "standards"
    __table_args__ = (UniqueConstraint("key", "effective_from"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    key: Mapped[str] = mapped_column(String(60), index=True)
    value: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    effective_from: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(300))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class StandardChange(Base):
    """Audit of an edit to the standards: who, when, the figure, the value before and after."""

    __tablename__ = "standard_changes"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    key: Mapped[str] = mapped_column(String(60), index=True)
    effective_from: Mapped[date] = mapped_column(Date)
    old_value: Mapped[Decimal | None] = mapped_column(Numeric(14, 4))
    new_value: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    source: Mapped[str] = mapped_column(String(300))
    changed_by: Mapped[str] = mapped_column(String(200))
    changed_division: Mapped[str] = mapped_column(String(12))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Application(DivisionScoped, Base):
    """An application (申请) with the household as submitted and its assessment.

    `hukou_division` is the applicant's registration: the town that reviews
    and confirms it, and whose staff alone see it.
    """

    __tablename__ = "applications"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    program: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20), index=True)
    applicant_person_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    applicant_id_number: Mapped[str] = mapped_column(String(18), index=True)
    household: Mapped[dict[str, Any]] = mapped_column(JSONB)
    assessment: Mapped[dict[str, Any]] = mapped_column(JSONB)
    eligible: Mapped[bool] = mapped_column(Boolean)
    monthly_total: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    submitted_on: Mapped[date] = mapped_column(Date)
    review_due_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    survey_notes: Mapped[str | None] = mapped_column(Text)
    notice_from: Mapped[date | None] = mapped_column(Date)
    notice_until: Mapped[date | None] = mapped_column(Date)  # first day after the notice
    confirmed_on: Mapped[date | None] = mapped_column(Date)
    paid_from: Mapped[date | None] = mapped_column(Date)
    rejected_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ApplicationStep(DivisionScoped, Base):
    """One step of an application's workflow: what, who, when, with the note."""

    __tablename__ = "application_steps"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("applications.id"), index=True)
    step: Mapped[str] = mapped_column(String(30))
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    note: Mapped[str | None] = mapped_column(Text)


class Objection(DivisionScoped, Base):
    """An objection (异议) raised during the public notice, and how it was settled."""

    __tablename__ = "objections"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("applications.id"), index=True)
    content: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    outcome: Mapped[str | None] = mapped_column(String(20))  # "dismissed" or "upheld"
    settlement: Mapped[str | None] = mapped_column(Text)
    settled_by: Mapped[str | None] = mapped_column(String(200))
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Payroll(Base):
    """A month's payroll (发放): built once per month, its lines never paid twice.

    District-wide: a town reads it, but its totals and lines only as far as its division.
    """

    __tablename__ = "payrolls"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    month: Mapped[date] = mapped_column(Date, unique=True)  # the first day of the month paid
    standards: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)  # the figures the amounts used
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PayrollLine(DivisionScoped, Base):
    """One case's payment for one month: paid, or withheld by the pre-payment gate with the reason.

    `kind` is `regular` (the payroll's own month), `back_pay` (a month withheld
    earlier and owed after all, e.g. a revoked death), `one_off` (a district's one-off
    subsidy riding on a paid regular line) or `grant` (a confirmed temporary-assistance
    grant, paid once: it names its application and no case); `for_month` the month paid for.
    """

    __tablename__ = "payroll_lines"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    payroll_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))  # no foreign key: see migration 0004
    case_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    application_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    person_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    id_number: Mapped[str] = mapped_column(String(18))
    program: Mapped[str] = mapped_column(String(30))
    for_month: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(10))
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    status: Mapped[str] = mapped_column(String(10))
    reason_code: Mapped[str | None] = mapped_column(String(30))
    reason: Mapped[str | None] = mapped_column(String(200))


class PayrollTotal(DivisionScoped, Base):
    """A payroll's sums by community, status, program and kind, written when it is built.

    The lines never change once written, so the totals are summed once: the same month asked for again,
    and every read of a payroll, sums a few hundred of these (scoped to the caller's division like the
    lines) instead of 100,000 lines.
    """

    __tablename__ = "payroll_totals"

    payroll_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    hukou_division: Mapped[str] = mapped_column(String(12), primary_key=True)
    status: Mapped[str] = mapped_column(String(10), primary_key=True)
    program: Mapped[str] = mapped_column(String(30), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    lines: Mapped[int] = mapped_column(Integer)


class Overpayment(DivisionScoped, Base):
    """Money paid that was not due (months paid after a confirmed death), tracked until recovered or written off."""

    __tablename__ = "overpayments"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    case_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True)
    person_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    id_number: Mapped[str] = mapped_column(String(18), index=True)
    program: Mapped[str] = mapped_column(String(30))
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    months: Mapped[list[str]] = mapped_column(ARRAY(String(7)))
    reason: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))  # open, recovered, written_off
    detected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolution_note: Mapped[str | None] = mapped_column(Text)


class DeathReport(Base):
    """A death as assistance heard of it: reported or in conflict (in review), confirmed, or revoked."""

    __tablename__ = "death_reports"

    death_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    date_of_death: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class LeadDraft(DivisionScoped, Base):
    """A draft application from monitoring's proactive discovery (主动发现), waiting for a caseworker's decision.

    `application` is the body `POST /v1/applications` takes, as monitoring pre-filled it. A caseworker of
    the household's town submits it (then `application_id` names the application) or dismisses it; the
    system never applies for anyone on its own. A lead for someone whose open application, case in force
    or open draft of the program already covers it is kept as `covered`, naming what covers it.
    """

    __tablename__ = "lead_drafts"
    # One open draft per person and program: a second lead meanwhile is recorded as covered by it.
    __table_args__ = (
        Index("uq_lead_drafts_open", "person_id", "program", unique=True, postgresql_where=text("status = 'open'")),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    lead_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True)  # the same lead twice: one draft
    person_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    id_number: Mapped[str] = mapped_column(String(18), index=True)
    program: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str] = mapped_column(String(50))
    summary: Mapped[str] = mapped_column(Text)
    figures: Mapped[dict[str, str]] = mapped_column(JSONB)
    application: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(20), index=True)  # open, covered, submitted, dismissed
    covered_by: Mapped[str | None] = mapped_column(String(100))
    application_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_note: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
