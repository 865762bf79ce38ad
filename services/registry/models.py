"""Registry tables (SQLAlchemy 2, typed). Relationships raise if loaded implicitly."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Identity, Index, MetaData, String, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import NAMING, DivisionScoped, new_id


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Person(DivisionScoped, Base):
    """A resident (居民), keyed internally by a pseudonymous UUID; the identity number is unique."""

    __tablename__ = "persons"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    id_number: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    sex: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[date] = mapped_column(Date)
    registered_division: Mapped[str] = mapped_column(String(12))
    in_district: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(String(20), default="alive")  # alive | deceased
    date_of_death: Mapped[date | None] = mapped_column(Date)
    household_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("households.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), onupdate=func.now())


class Household(DivisionScoped, Base):
    """A household registration booklet (户): members and their relation to the head."""

    __tablename__ = "households"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    head_person_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    address: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class HouseholdMember(Base):
    __tablename__ = "household_members"

    household_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("households.id"), primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"), primary_key=True, unique=True)
    relation: Mapped[str] = mapped_column(String(30))  # head, spouse, child, parent, grandchild, other
    joined_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Death(Base):
    """One death per person, however many sources report it."""

    __tablename__ = "deaths"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"), unique=True)
    date_of_death: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))  # reported | confirmed | conflict | revoked
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DeathReport(Base):
    """Every report of a death as received, with what it did; kept for the audit trail.

    A report about a person the registry does not know yet is kept `pending`
    and applied when the person is registered.
    """

    __tablename__ = "death_reports"
    __table_args__ = (UniqueConstraint("source", "reference", name="uq_death_reports_source_reference"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    seq: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)
    death_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("deaths.id"), index=True)
    id_number: Mapped[str] = mapped_column(String(18), index=True)
    name: Mapped[str | None] = mapped_column(String(100))
    date_of_death: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(30))
    reference: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(20))  # http | kafka | batch
    outcome: Mapped[str] = mapped_column(String(20))  # recorded | confirmed | corroborated | duplicate | conflict | pending
    explanation: Mapped[str] = mapped_column(String(300), default="")
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class HukouChange(Base):
    """A household-registration change (迁入, 迁出, 区内迁移) as reported, with its effective date."""

    __tablename__ = "hukou_changes"
    __table_args__ = (
        UniqueConstraint("source", "reference", name="uq_hukou_changes_source_reference"),
        Index("ix_hukou_changes_person_effective", "person_id", "effective_date"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    seq: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"))
    kind: Mapped[str] = mapped_column(String(20))
    from_division: Mapped[str | None] = mapped_column(String(12))
    to_division: Mapped[str | None] = mapped_column(String(12))
    effective_date: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(30))
    reference: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(20))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
