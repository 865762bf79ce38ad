"""Eldercare tables."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, DateTime, Integer, MetaData, Numeric, String, func
from sqlalchemy.dialects.postgresql import UUID
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
    """高龄津贴 enrolment of one person."""

    __tablename__ = "allowances"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True)
    id_number: Mapped[str] = mapped_column(String(18), index=True)
    status: Mapped[str] = mapped_column(String(20))  # active | stopped
    monthly_amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    explanation: Mapped[str] = mapped_column(String(300))
    started_on: Mapped[date] = mapped_column(Date)
    stopped_on: Mapped[date | None] = mapped_column(Date)
    stop_reason: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), onupdate=func.now())
