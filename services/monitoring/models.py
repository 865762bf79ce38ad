"""Monitoring tables: one record per person heard of, its history, and alerts."""

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
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import NAMING, DivisionScoped, new_id


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Record(DivisionScoped, Base):
    """低收入人口 record: a person, their status and the programs they are in."""

    __tablename__ = "records"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True)
    id_number: Mapped[str] = mapped_column(String(18), index=True)
    name: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="active")  # active | deceased | moved_away
    date_of_death: Mapped[date | None] = mapped_column(Date)
    categories: Mapped[list[str]] = mapped_column(JSONB, default=list)
    programs: Mapped[dict[str, str]] = mapped_column(JSONB, default=dict)  # program -> status
    amounts: Mapped[dict[str, str]] = mapped_column(JSONB, default=dict)  # program -> monthly amount in force
    listed: Mapped[list[str]] = mapped_column(JSONB, default=list)  # categories from staff imports
    markers: Mapped[list[str]] = mapped_column(JSONB, default=list)  # orphan, disability, guaranteed_elder
    birth_date: Mapped[date | None] = mapped_column(Date)
    in_district: Mapped[bool] = mapped_column(Boolean, default=True)
    household_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    review_due_on: Mapped[date | None] = mapped_column(Date)
    household_changed_on: Mapped[date | None] = mapped_column(Date)
    monthly_income: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))  # the person's own, latest reported
    per_capita_income: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))  # the household's, monthly
    medical_expense: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))  # the latest out-of-pocket bill
    open_overpayments: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))  # paid after death
    last_review_on: Mapped[date | None] = mapped_column(Date)  # the last reassessment of a case (amount changed)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class RecordHistory(Base):
    """What changed a record, when, and which event said so."""

    __tablename__ = "record_history"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    record_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("records.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    event_id: Mapped[str] = mapped_column(String(200))
    event_type: Mapped[str] = mapped_column(String(200))
    change: Mapped[dict[str, Any]] = mapped_column(JSONB)


class Alert(DivisionScoped, Base):
    """预警: raised from events, tracked until a caseworker resolves it."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index(
            "uq_alerts_open_person_kind",
            "person_id",
            "kind",
            unique=True,
            postgresql_where=text("status <> 'resolved'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20), default="open")
    severity: Mapped[str] = mapped_column(String(10), default="high")
    person_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    id_number: Mapped[str | None] = mapped_column(String(18), index=True)
    summary: Mapped[str] = mapped_column(Text)
    benefits: Mapped[list[str]] = mapped_column(JSONB, default=list)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    raised_on: Mapped[date | None] = mapped_column(Date)  # the business day (a replay's), when known
    assignee: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolution: Mapped[str | None] = mapped_column(Text)


class AlertComment(Base):
    """A caseworker's note on an alert, in the order written."""

    __tablename__ = "alert_comments"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    alert_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("alerts.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    author: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)


class WarningThresholds(Base):
    """The warning rules' local figures, effective-dated: a change is a new row, so the old stays readable."""

    __tablename__ = "warning_thresholds"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    effective_from: Mapped[date] = mapped_column(Date, unique=True)
    dibao_standard: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    marginal_multiplier: Mapped[Decimal] = mapped_column(Numeric(6, 3))
    medical_expense_threshold: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    allowance_age: Mapped[int] = mapped_column(Integer)
    child_exit_age: Mapped[int] = mapped_column(Integer)
    review_grace_days: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Import(Base):
    """A list staff imported (anti-poverty monitoring, marginal families), with its report; once per reference."""

    __tablename__ = "imports"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    reference: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(50))  # anti_poverty_monitoring | marginal | rigid_expense
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    counts: Mapped[dict[str, int]] = mapped_column(JSONB)
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)


class Comparison(DivisionScoped, Base):
    """比对: a list from another department matched against the records; the caller's division is its scope."""

    __tablename__ = "comparisons"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    source: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20))  # running | finished
    created_by: Mapped[str] = mapped_column(String(200))
    lines: Mapped[int] = mapped_column(Integer, default=0)
    matched: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    findings: Mapped[int] = mapped_column(Integer, default=0)
    alerts: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ComparisonFinding(Base):
    """A line of a comparison that matters, with the rule that judged it."""

    __tablename__ = "comparison_findings"
    __table_args__ = (Index("ix_comparison_findings_comparison_id", "comparison_id", "line"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    comparison_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("comparisons.id"))
    line: Mapped[int] = mapped_column(Integer)
    person_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    rule: Mapped[str] = mapped_column(String(50))
    summary: Mapped[str] = mapped_column(Text)


class Reconciliation(DivisionScoped, Base):
    """对账: the records compared with what assistance and eldercare hold now, and exactly what was repaired."""

    __tablename__ = "reconciliations"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    status: Mapped[str] = mapped_column(String(20))  # running | finished | failed
    created_by: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    counts: Mapped[dict[str, int]] = mapped_column(JSONB, default=dict)
    repairs: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    error: Mapped[str | None] = mapped_column(Text)


class Lead(DivisionScoped, Base):
    """主动发现: a person whose data say they may qualify for a program, with the reason and the figures."""

    __tablename__ = "leads"
    __table_args__ = (
        Index(
            "uq_leads_open_person_reason", "person_id", "reason", unique=True, postgresql_where=text("status = 'open'")
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    id_number: Mapped[str] = mapped_column(String(18))
    reason: Mapped[str] = mapped_column(String(50))
    program: Mapped[str] = mapped_column(String(50))  # the program to assess first
    summary: Mapped[str] = mapped_column(Text)
    figures: Mapped[dict[str, str]] = mapped_column(JSONB, default=dict)
    status: Mapped[str] = mapped_column(String(20))  # open | closed
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_reason: Mapped[str | None] = mapped_column(Text)
