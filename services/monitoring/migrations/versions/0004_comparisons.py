"""comparisons (比对): another department's list matched against the records, with the findings

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 08:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "comparisons",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("source", sa.String(50), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("hukou_division", sa.String(12), nullable=False),
        sa.Column("lines", sa.Integer(), server_default="0", nullable=False),
        sa.Column("matched", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rejected", sa.Integer(), server_default="0", nullable=False),
        sa.Column("findings", sa.Integer(), server_default="0", nullable=False),
        sa.Column("alerts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comparisons")),
    )
    op.create_index(op.f("ix_comparisons_hukou_division"), "comparisons", ["hukou_division"])
    op.create_table(
        "comparison_findings",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("comparison_id", sa.UUID(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.UUID(), nullable=False),
        sa.Column("rule", sa.String(50), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["comparison_id"], ["comparisons.id"], name=op.f("fk_comparison_findings_comparison_id_comparisons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comparison_findings")),
    )
    op.create_index("ix_comparison_findings_comparison_id", "comparison_findings", ["comparison_id", "line"])


def downgrade() -> None:
    op.drop_index("ix_comparison_findings_comparison_id", table_name="comparison_findings")
    op.drop_table("comparison_findings")
    op.drop_index(op.f("ix_comparisons_hukou_division"), table_name="comparisons")
    op.drop_table("comparisons")
