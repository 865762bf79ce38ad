"""applications with their workflow steps and objections; cases say where they came from

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 08:00:00
"""

import uuid
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Figures the workflow needs beyond those of 0002, effective from 2022-01-01 like them.
SEED: list[tuple[str, str, str]] = [
    (
        "workflow.dibao.review_working_days",
        "10",
        "RULES.md §1.9: assumed (10 of the 20 working days, leaving the 7-day notice and confirmation)",
    ),
]


def _scoped() -> sa.Column:
    return sa.Column("hukou_division", sa.String(length=12), nullable=False)


def upgrade() -> None:
    op.add_column("cases", sa.Column("origin", sa.String(length=20), server_default="migrated", nullable=False))
    op.add_column("cases", sa.Column("application_id", sa.UUID(), nullable=True))
    op.create_index(op.f("ix_cases_application_id"), "cases", ["application_id"], unique=False)
    op.create_table(
        "applications",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("program", sa.String(length=30), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("applicant_person_id", sa.UUID(), nullable=False),
        sa.Column("applicant_id_number", sa.String(length=18), nullable=False),
        sa.Column("household", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("assessment", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("eligible", sa.Boolean(), nullable=False),
        sa.Column("monthly_total", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("submitted_on", sa.Date(), nullable=False),
        sa.Column("review_due_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("survey_notes", sa.Text(), nullable=True),
        sa.Column("notice_from", sa.Date(), nullable=True),
        sa.Column("notice_until", sa.Date(), nullable=True),
        sa.Column("confirmed_on", sa.Date(), nullable=True),
        sa.Column("paid_from", sa.Date(), nullable=True),
        sa.Column("rejected_reason", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        _scoped(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_applications")),
    )
    for column in ("status", "applicant_person_id", "applicant_id_number", "hukou_division"):
        op.create_index(op.f(f"ix_applications_{column}"), "applications", [column], unique=False)
    op.create_table(
        "application_steps",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("application_id", sa.UUID(), nullable=False),
        sa.Column("step", sa.String(length=30), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        _scoped(),
        sa.ForeignKeyConstraint(
            ["application_id"], ["applications.id"], name=op.f("fk_application_steps_application_id_applications")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_steps")),
    )
    for column in ("application_id", "hukou_division"):
        op.create_index(op.f(f"ix_application_steps_{column}"), "application_steps", [column], unique=False)
    op.create_table(
        "objections",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("application_id", sa.UUID(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("settlement", sa.Text(), nullable=True),
        sa.Column("settled_by", sa.String(length=200), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        _scoped(),
        sa.ForeignKeyConstraint(
            ["application_id"], ["applications.id"], name=op.f("fk_objections_application_id_applications")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_objections")),
    )
    for column in ("application_id", "hukou_division"):
        op.create_index(op.f(f"ix_objections_{column}"), "objections", [column], unique=False)
    standards = sa.table(
        "standards",
        sa.column("id", sa.UUID()),
        sa.column("key", sa.String),
        sa.column("value", sa.Numeric),
        sa.column("effective_from", sa.Date),
        sa.column("source", sa.String),
        sa.column("created_by", sa.String),
    )
    op.bulk_insert(
        standards,
        [
            {
                "id": uuid.uuid4(),
                "key": key,
                "value": Decimal(value),
                "effective_from": date(2022, 1, 1),
                "source": source,
                "created_by": "seed",
            }
            for key, value, source in SEED
        ],
    )


def downgrade() -> None:
    op.execute("DELETE FROM standards WHERE key = 'workflow.dibao.review_working_days'")
    op.drop_table("objections")
    op.drop_table("application_steps")
    op.drop_table("applications")
    op.drop_index(op.f("ix_cases_application_id"), table_name="cases")
    op.drop_column("cases", "application_id")
    op.drop_column("cases", "origin")
