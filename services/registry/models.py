"""Registry tables (SQLAlchemy 2, typed). Relationships raise if loaded implicitly."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import NAMING, DivisionScoped, new_id


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Person(DivisionScoped, Base):
    """A resident (居民), keyed internally by a pseudonymous UUID; the identity number is unique."""

    __tablename__ = "persons"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    id_number: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    sex: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[date] = mapped_column(Date)
    registered_division: Mapped[str] = mapped_column(String(12))
    in_district: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(String(20), default="alive")  # alive | deceased
    date_of_death: Mapped[date | None] = mapped_column(Date)
    household_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("households.id"), index=True)
    marital_status: Mapped[str] = mapped_column(
        String(20), default="unmarried", server_default="unmarried"
    )  # unmarried | married | divorced | widowed
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Household(DivisionScoped, Base):
    """A household registration booklet (户): members and their relation to the head."""

    __tablename__ = "households"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    head_person_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    address: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default="active", server_default="active")  # active | dissolved
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
    status: Mapped[str] = mapped_column(String(20), index=True)  # reported | confirmed | conflict | revoked
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    confirmed_by: Mapped[str | None] = mapped_column(String(200))  # a registrar, when not a second source
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_by: Mapped[str | None] = mapped_column(String(200))
    revoked_reason: Mapped[str | None] = mapped_column(String(300))


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
    id_number: Mapped[str] = mapped_column(String(18))  # no index: no query reads reports by it (migration 0008)
    name: Mapped[str | None] = mapped_column(String(100))
    date_of_death: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(30))
    reference: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(20))  # http | kafka | batch
    outcome: Mapped[str] = mapped_column(
        String(20)
    )  # recorded | confirmed | corroborated | duplicate | conflict | pending | review | rejected
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


class PersonEvent(Base):
    """One line of a person's history (个人事件记录): every life event the registry recorded about them."""

    __tablename__ = "person_events"
    __table_args__ = (Index("ix_person_events_person_seq", "person_id", "seq"),)

    seq: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    kind: Mapped[str] = mapped_column(String(40))
    occurred_on: Mapped[date | None] = mapped_column(Date)
    summary: Mapped[str] = mapped_column(String(300))
    ref_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class IntakePolicy(Base):
    """Which partner reports apply at once and which wait for review, per report type and source.

    `apply`: applied on arrival; `review`: always waits for staff;
    `review_first`: waits when it would be the first report (an unverified
    single report), applies when it corroborates a record already on file.
    A (type, source) pair without a row waits for review.
    """

    __tablename__ = "intake_policies"

    report_type: Mapped[str] = mapped_column(String(20), primary_key=True)  # death | hukou
    source: Mapped[str] = mapped_column(String(30), primary_key=True)
    action: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(String(300), default="")


class ReviewItem(DivisionScoped, Base):
    """A partner report that was not applied automatically (待核对): staff match it, reject it or let it wait.

    Its division is the candidate person's (or the report's district end), so
    town staff see their own; an unknown identity number lands at district level.
    """

    __tablename__ = "review_items"
    __table_args__ = (
        UniqueConstraint("kind", "source", "reference", name="uq_review_items_kind_source_reference"),
        Index("ix_review_items_status_created", "status", "created_at"),
        Index("ix_review_items_id_number", "id_number"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(20))  # death | hukou
    source: Mapped[str] = mapped_column(String(30))
    reference: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(20))
    id_number: Mapped[str] = mapped_column(String(18))
    name: Mapped[str | None] = mapped_column(String(100))
    payload: Mapped[dict[str, object]] = mapped_column(JSONB)
    reason_code: Mapped[str] = mapped_column(String(30))  # unknown_person | name_mismatch | policy
    reason: Mapped[str] = mapped_column(String(300))
    confidence: Mapped[int] = mapped_column(Integer)  # 0-100: how likely the candidate is the person meant
    candidate_person_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | waiting | matched | rejected | applied
    resolved_person_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    resolution_note: Mapped[str | None] = mapped_column(String(300))
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class IntakeBatch(DivisionScoped, Base):
    """A partner file sent to /v1/intake/batches, with its counts; the per-line report is IntakeLine."""

    __tablename__ = "intake_batches"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    submitted_by: Mapped[str] = mapped_column(String(200))
    format: Mapped[str] = mapped_column(String(10))  # ndjson | csv
    filename: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))  # processing | done | failed
    lines: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    duplicate: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    in_review: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(500))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class IntakeLine(Base):
    """What became of one line of a batch: accepted (with its outcome), duplicate or rejected (with the reason)."""

    __tablename__ = "intake_lines"
    __table_args__ = (Index("ix_intake_lines_batch_status_line", "batch_id", "status", "line_no"),)

    batch_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("intake_batches.id"), primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(20))  # accepted | duplicate | rejected
    outcome: Mapped[str | None] = mapped_column(String(20))
    record_type: Mapped[str | None] = mapped_column(String(10))
    reference: Mapped[str | None] = mapped_column(String(100))
    field: Mapped[str | None] = mapped_column(String(50))
    reason: Mapped[str | None] = mapped_column(String(300))
    person_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    review_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class Marriage(Base):
    """A marriage registration (结婚登记) and, when it ends, its divorce (离婚登记)."""

    __tablename__ = "marriages"
    __table_args__ = (
        Index("uq_marriages_party_a_married", "party_a", unique=True, postgresql_where=text("status = 'married'")),
        Index("uq_marriages_party_b_married", "party_b", unique=True, postgresql_where=text("status = 'married'")),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    party_a: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"), index=True)
    party_b: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"), index=True)
    registered_on: Mapped[date] = mapped_column(Date)
    registration_division: Mapped[str] = mapped_column(String(12))
    certificate_no: Mapped[str] = mapped_column(String(50), unique=True)
    status: Mapped[str] = mapped_column(String(20))  # married | divorced
    divorced_on: Mapped[date | None] = mapped_column(Date)
    divorce_certificate_no: Mapped[str | None] = mapped_column(String(50), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CertificateReissue(Base):
    """补领结婚证/离婚证: a replacement certificate for a registered marriage or divorce."""

    __tablename__ = "certificate_reissues"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    marriage_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("marriages.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # marriage | divorce
    applicant_person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"))
    certificate_no: Mapped[str] = mapped_column(String(50), unique=True)
    issued_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Adoption(Base):
    """收养登记: a child adopted by one adopter or a married couple."""

    __tablename__ = "adoptions"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    child_person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"), index=True)
    adopter_a: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"))
    adopter_b: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("persons.id"))
    registered_on: Mapped[date] = mapped_column(Date)
    certificate_no: Mapped[str] = mapped_column(String(50), unique=True)
    household_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PersonMilestone(Base):
    """An age the bureau acts on, reached by a person: one row per person and age, so it is published once."""

    __tablename__ = "person_milestones"

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"), primary_key=True)
    age: Mapped[int] = mapped_column(Integer, primary_key=True)
    reached_on: Mapped[date] = mapped_column(Date)
    published: Mapped[bool] = mapped_column(default=False)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
