"""dynamic record: categories and facts on the record, warning thresholds, alert severity and comments, imports

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 08:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSONB = postgresql.JSONB(astext_type=sa.Text())


def upgrade() -> None:
    for column in (
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("in_district", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("household_id", sa.UUID(), nullable=True),
        sa.Column("amounts", JSONB, server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("listed", JSONB, server_default=sa.text("'[]'::jsonb"), nullable=False),
        sa.Column("markers", JSONB, server_default=sa.text("'[]'::jsonb"), nullable=False),
        sa.Column("review_due_on", sa.Date(), nullable=True),
        sa.Column("household_changed_on", sa.Date(), nullable=True),
        sa.Column("per_capita_income", sa.Numeric(12, 2), nullable=True),
        sa.Column("medical_expense", sa.Numeric(12, 2), nullable=True),
    ):
        op.add_column("records", column)
    op.create_index("ix_records_household_id", "records", ["household_id"])
    op.add_column("alerts", sa.Column("severity", sa.String(10), server_default="high", nullable=False))
    op.create_index(
        "ix_alerts_open_raised_at", "alerts", ["raised_at"], postgresql_where=sa.text("status <> 'resolved'")
    )
    op.create_table(
        "alert_comments",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("alert_id", sa.UUID(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], name=op.f("fk_alert_comments_alert_id_alerts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_comments")),
    )
    op.create_index("ix_alert_comments_alert_id", "alert_comments", ["alert_id"])
    op.create_table(
        "warning_thresholds",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("dibao_standard", sa.Numeric(12, 2), nullable=False),
        sa.Column("marginal_multiplier", sa.Numeric(6, 3), nullable=False),
        sa.Column("medical_expense_threshold", sa.Numeric(12, 2), nullable=False),
        sa.Column("allowance_age", sa.Integer(), nullable=False),
        sa.Column("child_exit_age", sa.Integer(), nullable=False),
        sa.Column("review_grace_days", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warning_thresholds")),
        sa.UniqueConstraint("effective_from", name=op.f("uq_warning_thresholds_effective_from")),
    )
    op.execute(
        "INSERT INTO warning_thresholds (effective_from, dibao_standard, marginal_multiplier,"
        " medical_expense_threshold, allowance_age, child_exit_age, review_grace_days, source, created_by)"
        " VALUES ('2022-01-01', 800.00, 1.5,"
        " 5000.00, 80, 18, 0, 'POLICY.md dibao standard 800 (assumed there); RULES.md §4.1 marginal 1.5 (NAT);"
        " medical threshold 5000 assumed; allowance at 80 (RULES.md §5.1); exit at 18 (RULES.md §6.1)', 'seed')"
    )
    op.create_table(
        "imports",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("reference", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("counts", JSONB, nullable=False),
        sa.Column("lines", JSONB, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imports")),
        sa.UniqueConstraint("reference", name=op.f("uq_imports_reference")),
    )


def downgrade() -> None:
    op.drop_table("imports")
    op.drop_table("warning_thresholds")
    op.drop_index("ix_alert_comments_alert_id", table_name="alert_comments")
    op.drop_table("alert_comments")
    op.drop_index("ix_alerts_open_raised_at", table_name="alerts")
    op.drop_column("alerts", "severity")
    op.drop_index("ix_records_household_id", table_name="records")
    for name in (
        "medical_expense",
        "per_capita_income",
        "household_changed_on",
        "review_due_on",
        "markers",
        "listed",
        "amounts",
        "household_id",
        "in_district",
        "birth_date",
    ):
        op.drop_column("records", name)
