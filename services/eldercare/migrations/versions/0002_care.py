"""capacity assessments, institutions, home care, insurance rosters

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 07:10:00
"""

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UUID = sa.UUID()
NOW = sa.text("now()")


def _created_at() -> sa.Column:
    return sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False)


def upgrade() -> None:
    op.create_table(
        "assessments",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("person_id", UUID, nullable=False),
        sa.Column("id_number", sa.String(18), nullable=False),
        sa.Column("assessed_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.Column("assessor", sa.String(200), nullable=False),
        sa.Column("scores", postgresql.JSONB(), nullable=False),
        sa.Column("coma", sa.Boolean(), nullable=False),
        sa.Column("dementia_or_mental_disorder", sa.Boolean(), nullable=False),
        sa.Column("risk_events_30d", postgresql.JSONB(), nullable=False),
        sa.Column("subtotals", postgresql.JSONB(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("preliminary_level", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("superseded_by", UUID, nullable=True),
        _created_at(),
        sa.Column("hukou_division", sa.String(12), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_assessments"),
    )
    op.create_index("ix_assessments_person_id", "assessments", ["person_id"])
    op.create_index("ix_assessments_id_number", "assessments", ["id_number"])
    op.create_index("ix_assessments_hukou_division", "assessments", ["hukou_division"])
    op.create_index(
        "uq_assessments_current_person",
        "assessments",
        ["person_id"],
        unique=True,
        postgresql_where=sa.text("superseded_by IS NULL"),
    )

    op.create_table(
        "institutions",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("ownership", sa.String(30), nullable=False),
        sa.Column("address", sa.String(300), nullable=True),
        _created_at(),
        sa.Column("hukou_division", sa.String(12), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_institutions"),
        sa.UniqueConstraint("name", name="uq_institutions_name"),
    )
    op.create_index("ix_institutions_hukou_division", "institutions", ["hukou_division"])
    op.create_table(
        "beds",
        sa.Column("id", UUID, primary_key=True),
        sa.Column(
            "institution_id",
            UUID,
            sa.ForeignKey("institutions.id", name="fk_beds_institution_id_institutions"),
            nullable=False,
        ),
        sa.Column("code", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_beds"),
        sa.UniqueConstraint("institution_id", "code", name="uq_beds_institution_code"),
    )
    op.create_index("ix_beds_institution_id", "beds", ["institution_id"])
    op.create_table(
        "admissions",
        sa.Column("id", UUID, primary_key=True),
        sa.Column(
            "institution_id",
            UUID,
            sa.ForeignKey("institutions.id", name="fk_admissions_institution_id_institutions"),
            nullable=False,
        ),
        sa.Column("bed_id", UUID, sa.ForeignKey("beds.id", name="fk_admissions_bed_id_beds"), nullable=False),
        sa.Column("person_id", UUID, nullable=False),
        sa.Column("id_number", sa.String(18), nullable=False),
        sa.Column("admitted_on", sa.Date(), nullable=False),
        sa.Column("discharged_on", sa.Date(), nullable=True),
        sa.Column("discharge_reason", sa.String(30), nullable=True),
        _created_at(),
        sa.Column("hukou_division", sa.String(12), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_admissions"),
    )
    op.create_index("ix_admissions_institution_id", "admissions", ["institution_id"])
    op.create_index("ix_admissions_person_id", "admissions", ["person_id"])
    op.create_index("ix_admissions_hukou_division", "admissions", ["hukou_division"])
    op.create_index(
        "uq_admissions_open_bed",
        "admissions",
        ["bed_id"],
        unique=True,
        postgresql_where=sa.text("discharged_on IS NULL"),
    )
    op.create_index(
        "uq_admissions_open_person",
        "admissions",
        ["person_id"],
        unique=True,
        postgresql_where=sa.text("discharged_on IS NULL"),
    )
    op.create_table(
        "inspections",
        sa.Column("id", UUID, primary_key=True),
        sa.Column(
            "institution_id",
            UUID,
            sa.ForeignKey("institutions.id", name="fk_inspections_institution_id_institutions"),
            nullable=False,
        ),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("inspected_on", sa.Date(), nullable=False),
        sa.Column("inspector", sa.String(200), nullable=False),
        sa.Column("findings", postgresql.JSONB(), nullable=False),
        sa.Column("follow_up_status", sa.String(20), nullable=False),
        sa.Column("follow_up_on", sa.Date(), nullable=True),
        sa.Column("follow_up_note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_inspections"),
        sa.UniqueConstraint("institution_id", "month", name="uq_inspections_institution_month"),
    )
    op.create_index("ix_inspections_institution_id", "inspections", ["institution_id"])

    op.create_table(
        "guarantees",
        sa.Column("case_id", UUID, primary_key=True),
        sa.Column("person_id", UUID, nullable=False),
        sa.Column("program", sa.String(30), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("hukou_division", sa.String(12), nullable=False),
        sa.PrimaryKeyConstraint("case_id", name="pk_guarantees"),
    )
    op.create_index("ix_guarantees_person_id", "guarantees", ["person_id"])
    op.create_index("ix_guarantees_hukou_division", "guarantees", ["hukou_division"])

    budgets = op.create_table(
        "homecare_budgets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("monthly_amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_homecare_budgets"),
        sa.UniqueConstraint("effective_from", name="uq_homecare_budgets_effective_from"),
    )
    op.create_table(
        "providers",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("credit_code", sa.String(18), nullable=False),
        sa.Column("services", postgresql.JSONB(), nullable=False),
        sa.Column("phone", sa.String(40), nullable=True),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name="pk_providers"),
        sa.UniqueConstraint("credit_code", name="uq_providers_credit_code"),
    )
    op.create_table(
        "service_orders",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("person_id", UUID, nullable=False),
        sa.Column("id_number", sa.String(18), nullable=False),
        sa.Column(
            "provider_id",
            UUID,
            sa.ForeignKey("providers.id", name="fk_service_orders_provider_id_providers"),
            nullable=False,
        ),
        sa.Column("service", sa.String(30), nullable=False),
        sa.Column("scheduled_on", sa.Date(), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivery_note", sa.Text(), nullable=True),
        sa.Column("cancelled_on", sa.Date(), nullable=True),
        sa.Column("cancel_reason", sa.String(100), nullable=True),
        sa.Column("settlement_id", UUID, nullable=True),
        _created_at(),
        sa.Column("hukou_division", sa.String(12), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_service_orders"),
    )
    op.create_index("ix_service_orders_provider_id", "service_orders", ["provider_id"])
    op.create_index("ix_service_orders_person_month", "service_orders", ["person_id", "month"])
    op.create_index("ix_service_orders_hukou_division", "service_orders", ["hukou_division"])
    op.create_table(
        "settlements",
        sa.Column("id", UUID, primary_key=True),
        sa.Column(
            "provider_id",
            UUID,
            sa.ForeignKey("providers.id", name="fk_settlements_provider_id_providers"),
            nullable=False,
        ),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("total", sa.Numeric(12, 2), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("elders", sa.Integer(), nullable=False),
        sa.Column("refused", postgresql.JSONB(), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name="pk_settlements"),
        sa.UniqueConstraint("provider_id", "month", name="uq_settlements_provider_month"),
    )
    schemes = op.create_table(
        "insurance_schemes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(30), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("min_age", sa.Integer(), nullable=False),
        sa.Column("guaranteed_only", sa.Boolean(), nullable=False),
        sa.Column("annual_premium", sa.Numeric(12, 2), nullable=False),
        sa.Column("source", sa.String(300), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_insurance_schemes"),
        sa.UniqueConstraint("code", "effective_from", name="uq_insurance_schemes_code_effective_from"),
    )

    # Policy data, effective-dated (POLICY.md figures, labelled as there).
    op.bulk_insert(
        budgets,
        [
            {
                "effective_from": date(2022, 1, 1),
                "monthly_amount": Decimal("125.00"),
                "source": "POLICY.md: derived (5 M yuan a year ÷ 12 ÷ 3,350 guaranteed elders)",
            }
        ],
    )
    op.bulk_insert(
        schemes,
        [
            {
                "code": "guaranteed_60",
                "effective_from": date(2022, 1, 1),
                "min_age": 60,
                "guaranteed_only": True,
                "annual_premium": Decimal("40.00"),
                "source": "POLICY.md: all 60+ dibao and dispersed tekun elders; premium derived (131,600 yuan ÷ 3,290)",
            },
            {
                "code": "aged_80",
                "effective_from": date(2022, 1, 1),
                "min_age": 79,
                "guaranteed_only": False,
                "annual_premium": Decimal("24.50"),
                "source": "POLICY.md: all 80+ residents with local registration, 79-80 included; premium derived",
            },
        ],
    )


def downgrade() -> None:
    for table in (
        "insurance_schemes",
        "settlements",
        "service_orders",
        "providers",
        "homecare_budgets",
        "guarantees",
        "inspections",
        "admissions",
        "beds",
        "institutions",
        "assessments",
    ):
        op.drop_table(table)
