"""Eldercare tables."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
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


class AllowanceBracket(Base):
    """An age bracket of the old-age allowance, effective from a date (policy data)."""

    __tablename__ = "allowance_brackets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    effective_from: Mapped[date] = mapped_column(Date)
    min_age: Mapped[int] = mapped_column(Integer)
    max_age: Mapped[int | None] = mapped_column(Integer)
    monthly_amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    source: Mapped[str] = mapped_column(String(200))


class Allowance(DivisionScoped, Base):
    """高龄津贴 enrolment of one person, keyed by the person.

    The id is derived from the person id (`allowances.discover.allowance_id`; enrolments by hand before
    migration 0007 drew a uuid4), so the primary key on the person keeps it unique too. Nothing looks an
    allowance up by its id or by its identity number alone (the list's `?id_number=` reads the person id from
    the people copy), so neither has a B-tree of its own.
    """

    __tablename__ = "allowances"
    # Room for a stop's new row version on its page, a HOT update (migration 0009).
    __table_args__ = {"postgresql_with": {"fillfactor": 80}}

    person_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    id_number: Mapped[str] = mapped_column(String(18))
    status: Mapped[str] = mapped_column(String(20))  # active | stopped
    monthly_amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    explanation: Mapped[str] = mapped_column(String(300))
    started_on: Mapped[date] = mapped_column(Date)
    stopped_on: Mapped[date | None] = mapped_column(Date)
    stop_reason: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


# -- capacity assessments, institutions, home care, insurance rosters -------------------------


class Assessment(DivisionScoped, Base):
    """A GB/T 42195-2022 capacity assessment; the level is computed from the stored item scores."""

    __tablename__ = "assessments"
    __table_args__ = (
        # One current assessment per person: a reassessment supersedes the last in the same transaction.
        Index(
            "uq_assessments_current_person", "person_id", unique=True, postgresql_where=text("superseded_by IS NULL")
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    id_number: Mapped[str] = mapped_column(String(18), index=True)
    assessed_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(20))  # first | routine | immediate | review
    assessor: Mapped[str] = mapped_column(String(200))
    scores: Mapped[dict[str, int]] = mapped_column(JSONB)
    coma: Mapped[bool] = mapped_column(Boolean, default=False)
    dementia_or_mental_disorder: Mapped[bool] = mapped_column(Boolean, default=False)
    risk_events_30d: Mapped[list[str]] = mapped_column(JSONB, default=list)
    subtotals: Mapped[dict[str, int]] = mapped_column(JSONB)
    total: Mapped[int] = mapped_column(Integer)
    preliminary_level: Mapped[int] = mapped_column(Integer)
    level: Mapped[int] = mapped_column(Integer)
    explanation: Mapped[str] = mapped_column(Text)
    superseded_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Institution(DivisionScoped, Base):
    """An eldercare institution; `hukou_division` is where it stands (a town's staff see their town's)."""

    __tablename__ = "institutions"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    ownership: Mapped[str] = mapped_column(String(30))  # public | private | public_built_private_run
    address: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Bed(Base):
    __tablename__ = "beds"
    __table_args__ = (UniqueConstraint("institution_id", "code", name="uq_beds_institution_code"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    institution_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("institutions.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))


class Admission(DivisionScoped, Base):
    """A stay in a bed; open while `discharged_on` is null. `hukou_division` is the resident's."""

    __tablename__ = "admissions"
    __table_args__ = (
        Index("uq_admissions_open_bed", "bed_id", unique=True, postgresql_where=text("discharged_on IS NULL")),
        Index("uq_admissions_open_person", "person_id", unique=True, postgresql_where=text("discharged_on IS NULL")),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    institution_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("institutions.id"), index=True)
    bed_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("beds.id"))
    person_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    id_number: Mapped[str] = mapped_column(String(18))
    admitted_on: Mapped[date] = mapped_column(Date)
    discharged_on: Mapped[date | None] = mapped_column(Date)
    discharge_reason: Mapped[str | None] = mapped_column(String(30))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Inspection(Base):
    """The monthly safety inspection of an institution, its findings and their follow-up."""

    __tablename__ = "inspections"
    __table_args__ = (UniqueConstraint("institution_id", "month", name="uq_inspections_institution_month"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    institution_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("institutions.id"), index=True)
    month: Mapped[str] = mapped_column(String(7))
    inspected_on: Mapped[date] = mapped_column(Date)
    inspector: Mapped[str] = mapped_column(String(200))
    findings: Mapped[list[dict[str, str]]] = mapped_column(JSONB)
    follow_up_status: Mapped[str] = mapped_column(String(20))  # none_needed | open | closed
    follow_up_on: Mapped[date | None] = mapped_column(Date)
    follow_up_note: Mapped[str | None] = mapped_column(Text)


class Guarantee(DivisionScoped, Base):
    """A person's dibao or tekun case as assistance last published it (who is a guaranteed elder)."""

    __tablename__ = "guarantees"

    case_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    program: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20))
    effective_date: Mapped[date] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class HomeCareBudget(Base):
    """The monthly home-care service budget per guaranteed elder, effective from a date (policy data)."""

    __tablename__ = "homecare_budgets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    effective_from: Mapped[date] = mapped_column(Date, unique=True)
    monthly_amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    source: Mapped[str] = mapped_column(String(200))


class Provider(Base):
    """A home-care provider under contract with the district bureau (district-wide, no division)."""

    __tablename__ = "providers"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)  # 统一社会信用代码
    services: Mapped[list[str]] = mapped_column(JSONB)
    phone: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ServiceOrder(DivisionScoped, Base):
    """One home-care service for one elder on one day, committed against the month's budget."""

    __tablename__ = "service_orders"
    __table_args__ = (Index("ix_service_orders_person_month", "person_id", "month"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    id_number: Mapped[str] = mapped_column(String(18))
    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id"), index=True)
    service: Mapped[str] = mapped_column(String(30))
    scheduled_on: Mapped[date] = mapped_column(Date)
    month: Mapped[str] = mapped_column(String(7))
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    status: Mapped[str] = mapped_column(String(20))  # open | delivered | cancelled
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivery_note: Mapped[str | None] = mapped_column(Text)
    cancelled_on: Mapped[date | None] = mapped_column(Date)
    cancel_reason: Mapped[str | None] = mapped_column(String(100))
    settlement_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Settlement(Base):
    """A provider's monthly settlement: the delivered orders of the month, paid within each elder's budget."""

    __tablename__ = "settlements"
    __table_args__ = (UniqueConstraint("provider_id", "month", name="uq_settlements_provider_month"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id"))
    month: Mapped[str] = mapped_column(String(7))
    total: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    orders: Mapped[int] = mapped_column(Integer)
    elders: Mapped[int] = mapped_column(Integer)
    refused: Mapped[list[dict[str, str]]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class InsuranceScheme(Base):
    """An accident-insurance roster's rule and premium, effective from a date (policy data)."""

    __tablename__ = "insurance_schemes"
    __table_args__ = (UniqueConstraint("code", "effective_from", name="uq_insurance_schemes_code_effective_from"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(30))  # guaranteed_60 | aged_80
    effective_from: Mapped[date] = mapped_column(Date)
    min_age: Mapped[int] = mapped_column(Integer)
    guaranteed_only: Mapped[bool] = mapped_column(Boolean)
    annual_premium: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    source: Mapped[str] = mapped_column(String(300))


# -- the allowance's payroll, deaths as eldercare heard of them, overpayments ------------------


class DeathReport(Base):
    """A death as eldercare heard of it: reported or in conflict (in review), confirmed, or revoked."""

    __tablename__ = "death_reports"

    death_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    date_of_death: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Payroll(Base):
    """A month's allowance payroll: built once per month; district-wide, read by a town as far as its division."""

    __tablename__ = "payrolls"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    month: Mapped[date] = mapped_column(Date, unique=True)  # the first day of the month paid
    standards: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)  # the brackets the amounts used
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PayrollLine(DivisionScoped, Base):
    """One allowance's payment for one month: paid, or withheld by the pre-payment gate with the reason."""

    __tablename__ = "payroll_lines"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    payroll_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    allowance_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    person_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    id_number: Mapped[str] = mapped_column(String(18))
    for_month: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(10))  # regular | back_pay
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    status: Mapped[str] = mapped_column(String(10))  # paid | withheld
    reason_code: Mapped[str | None] = mapped_column(String(30))
    reason: Mapped[str | None] = mapped_column(String(200))


class Overpayment(DivisionScoped, Base):
    """Allowance paid for months after a confirmed death, tracked until recovered or written off."""

    __tablename__ = "overpayments"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    allowance_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True)
    person_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    id_number: Mapped[str] = mapped_column(String(18), index=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    months: Mapped[list[str]] = mapped_column(ARRAY(String(7)))
    reason: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))  # open | recovered | written_off
    detected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolution_note: Mapped[str | None] = mapped_column(Text)


class HouseholdMemberRow(Base):
    """A member of a household as the registry's last `registry.household.changed` of it listed them."""

    __tablename__ = "household_members"

    household_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, index=True)
    relation: Mapped[str] = mapped_column(String(20))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
