"""lead drafts: monitoring's proactive-discovery leads kept as draft applications for a caseworker to submit

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lead_drafts",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("lead_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("person_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("id_number", sa.String(length=18), nullable=False),
        sa.Column("program", sa.String(length=30), nullable=False),
        sa.Column("reason", sa.String(length=50), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("figures", postgresql.JSONB(), nullable=False),
        sa.Column("application", postgresql.JSONB(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("covered_by", sa.String(length=100), nullable=True),
        sa.Column("application_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("hukou_division", sa.String(length=12), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_drafts")),
        sa.UniqueConstraint("lead_id", name=op.f("uq_lead_drafts_lead_id")),
    )
    op.create_index(op.f("ix_lead_drafts_person_id"), "lead_drafts", ["person_id"])
    op.create_index(op.f("ix_lead_drafts_id_number"), "lead_drafts", ["id_number"])
    op.create_index(op.f("ix_lead_drafts_status"), "lead_drafts", ["status"])
    op.create_index(op.f("ix_lead_drafts_hukou_division"), "lead_drafts", ["hukou_division"])
    op.create_index(
        "uq_lead_drafts_open",
        "lead_drafts",
        ["person_id", "program"],
        unique=True,
        postgresql_where=sa.text("status = 'open'"),
    )


def downgrade() -> None:
    op.drop_table("lead_drafts")
