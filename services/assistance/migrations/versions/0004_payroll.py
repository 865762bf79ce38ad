"""payrolls and their lines, overpayments, the deaths assistance knows of; cases learn transfer and review dates

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _scoped() -> sa.Column:
    return sa.Column("hukou_division", sa.String(length=12), nullable=False)


def upgrade() -> None:
    op.add_column("cases", sa.Column("paid_until", sa.Date(), nullable=True))
    op.add_column("cases", sa.Column("transfer_pending", sa.Boolean(), server_default="false", nullable=False))
    op.add_column("cases", sa.Column("review_due_on", sa.Date(), nullable=True))
    op.add_column("cases", sa.Column("gradual_exit_until", sa.Date(), nullable=True))
    op.create_table(
        "payrolls",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("standards", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payrolls")),
        sa.UniqueConstraint("month", name=op.f("uq_payrolls_month")),
    )
    op.create_table(
        "payroll_lines",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("payroll_id", sa.UUID(), nullable=False),
        sa.Column("case_id", sa.UUID(), nullable=False),
        sa.Column("person_id", sa.UUID(), nullable=False),
        sa.Column("id_number", sa.String(length=18), nullable=False),
        sa.Column("program", sa.String(length=30), nullable=False),
        sa.Column("for_month", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("reason_code", sa.String(length=30), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        _scoped(),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_payroll_lines_amount_not_negative")),
        # No foreign key to payrolls: the lines are written only by the statements that insert their payroll,
        # in its transaction, and a key checked row by row costs a second per 50,000 lines.
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payroll_lines")),
    )
    op.create_index("ix_payroll_lines_payroll_id", "payroll_lines", ["payroll_id", "id_number"])
    # A case is paid at most once for a month, whichever payroll (regular or back-pay) pays it.
    op.create_index(
        "uq_payroll_lines_paid_once",
        "payroll_lines",
        ["case_id", "for_month"],
        unique=True,
        postgresql_where=sa.text("status = 'paid'"),
    )
    op.create_index(
        "ix_payroll_lines_withheld", "payroll_lines", ["case_id"], postgresql_where=sa.text("status = 'withheld'")
    )
    op.create_table(
        "overpayments",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("case_id", sa.UUID(), nullable=False),
        sa.Column("person_id", sa.UUID(), nullable=False),
        sa.Column("id_number", sa.String(length=18), nullable=False),
        sa.Column("program", sa.String(length=30), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("months", postgresql.ARRAY(sa.String(length=7)), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("resolved_by", sa.String(length=200), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        _scoped(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_overpayments")),
        sa.UniqueConstraint("case_id", name=op.f("uq_overpayments_case_id")),
    )
    op.create_index("ix_overpayments_id_number", "overpayments", ["id_number"])
    op.create_index("ix_overpayments_hukou_division", "overpayments", ["hukou_division"])
    op.create_table(
        "death_reports",
        sa.Column("death_id", sa.UUID(), nullable=False),
        sa.Column("person_id", sa.UUID(), nullable=False),
        sa.Column("date_of_death", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("death_id", name=op.f("pk_death_reports")),
    )
    op.create_index(
        "ix_death_reports_open",
        "death_reports",
        ["person_id"],
        postgresql_where=sa.text("status IN ('reported', 'conflict')"),
    )


def downgrade() -> None:
    op.drop_table("death_reports")
    op.drop_table("overpayments")
    op.drop_table("payroll_lines")
    op.drop_table("payrolls")
    for column in ("gradual_exit_until", "review_due_on", "transfer_pending", "paid_until"):
        op.drop_column("cases", column)
