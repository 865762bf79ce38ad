"""reconciliations with the source services, proactive discovery leads, each person's own reported income

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 09:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("records", sa.Column("monthly_income", sa.Numeric(12, 2), nullable=True))
    op.create_table(
        "reconciliations",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("hukou_division", sa.String(12), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("counts", postgresql.JSONB(), server_default="{}", nullable=False),
        sa.Column("repairs", postgresql.JSONB(), server_default="[]", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliations")),
    )
    op.create_index("ix_reconciliations_hukou_division", "reconciliations", ["hukou_division"])
    op.create_table(
        "leads",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("person_id", sa.UUID(), nullable=False),
        sa.Column("id_number", sa.String(18), nullable=False),
        sa.Column("hukou_division", sa.String(12), nullable=False),
        sa.Column("reason", sa.String(50), nullable=False),
        sa.Column("program", sa.String(50), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("figures", postgresql.JSONB(), server_default="{}", nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leads")),
    )
    op.create_index("ix_leads_person_id", "leads", ["person_id"])
    op.create_index("ix_leads_hukou_division", "leads", ["hukou_division"])
    op.create_index(
        "uq_leads_open_person_reason", "leads", ["person_id", "reason"], unique=True,
        postgresql_where="status = 'open'",
    )  # fmt: skip


def downgrade() -> None:
    op.drop_table("leads")
    op.drop_table("reconciliations")
    op.drop_column("records", "monthly_income")
