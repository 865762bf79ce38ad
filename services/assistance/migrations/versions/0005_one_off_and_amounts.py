"""one-off subsidies as district decisions; grant and one-off payroll lines; case amounts by month; tekun care

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 09:00:00
"""

import uuid
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RULES = "RULES.md §5.2 (GB/T 42195 → 特困 care levels: an institutional convention, configurable)"
SEED = [
    ("tekun.care.gbt_partial_from", "2", f"{RULES}: GB/T level 2 → 半护理"),
    ("tekun.care.gbt_full_from", "3", f"{RULES}: GB/T levels 3-4 → 全护理"),
]


def upgrade() -> None:
    op.create_table(
        "one_off_subsidies",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("program", sa.String(length=30), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("amount_per_person", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("decision", sa.String(length=300), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("amount_per_person > 0", name=op.f("ck_one_off_subsidies_amount_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_one_off_subsidies")),
        sa.UniqueConstraint("program", "month", name=op.f("uq_one_off_subsidies_program")),
    )
    # A temporary grant's line names its application and no case; a one-off line names the case it rides on.
    op.alter_column("payroll_lines", "case_id", nullable=True)
    op.add_column("payroll_lines", sa.Column("application_id", sa.UUID(), nullable=True))
    op.drop_index("uq_payroll_lines_paid_once", table_name="payroll_lines")
    op.create_index(
        "uq_payroll_lines_paid_once",
        "payroll_lines",
        ["case_id", "for_month"],
        unique=True,
        postgresql_where=sa.text("status = 'paid' AND kind IN ('regular', 'back_pay')"),
    )
    op.create_index(
        "uq_payroll_lines_one_off_once",
        "payroll_lines",
        ["case_id", "for_month"],
        unique=True,
        postgresql_where=sa.text("kind = 'one_off'"),
    )
    op.create_index(
        "uq_payroll_lines_grant_once",
        "payroll_lines",
        ["application_id"],
        unique=True,
        postgresql_where=sa.text("kind = 'grant'"),
    )
    op.create_index(
        "ix_applications_grants_confirmed",
        "applications",
        ["paid_from"],
        postgresql_where=sa.text("program = 'temporary' AND status = 'confirmed'"),
    )
    op.add_column("cases", sa.Column("placement", sa.String(length=20), nullable=True))
    op.add_column("cases", sa.Column("care_level", sa.String(length=20), nullable=True))
    op.create_table(
        "case_amounts",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("case_id", sa.UUID(), nullable=False),
        sa.Column("from_month", sa.Date(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("previous_amount", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("explanation", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_case_amounts_amount_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_amounts")),
        sa.UniqueConstraint("case_id", "from_month", name=op.f("uq_case_amounts_case_id")),
    )
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
    op.execute("DELETE FROM standards WHERE key IN ('tekun.care.gbt_partial_from', 'tekun.care.gbt_full_from')")
    op.drop_table("case_amounts")
    op.drop_column("cases", "care_level")
    op.drop_column("cases", "placement")
    op.drop_index("ix_applications_grants_confirmed", table_name="applications")
    op.drop_index("uq_payroll_lines_grant_once", table_name="payroll_lines")
    op.drop_index("uq_payroll_lines_one_off_once", table_name="payroll_lines")
    op.drop_index("uq_payroll_lines_paid_once", table_name="payroll_lines")
    op.create_index(
        "uq_payroll_lines_paid_once",
        "payroll_lines",
        ["case_id", "for_month"],
        unique=True,
        postgresql_where=sa.text("status = 'paid'"),
    )
    op.execute("DELETE FROM payroll_lines WHERE case_id IS NULL")
    op.drop_column("payroll_lines", "application_id")
    op.alter_column("payroll_lines", "case_id", nullable=False)
    op.drop_table("one_off_subsidies")
