"""program months (amounts paid, overpaid, people entered and exited by month, program and division) and coverage

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "program_months",
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("program", sa.String(50), nullable=False),
        sa.Column("hukou_division", sa.String(12), nullable=False),
        sa.Column("paid", sa.Numeric(16, 2), server_default="0", nullable=False),
        sa.Column("payments", sa.Integer(), server_default="0", nullable=False),
        sa.Column("overpaid", sa.Numeric(16, 2), server_default="0", nullable=False),
        sa.Column("overpayments", sa.Integer(), server_default="0", nullable=False),
        sa.Column("entered", sa.Integer(), server_default="0", nullable=False),
        sa.Column("exited", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("month", "program", "hukou_division", name=op.f("pk_program_months")),
    )
    op.create_table(
        "coverage",
        sa.Column("person_id", sa.UUID(), nullable=False),
        sa.Column("program", sa.String(50), nullable=False),
        sa.Column("covered", sa.Boolean(), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("person_id", "program", name=op.f("pk_coverage")),
    )


def downgrade() -> None:
    op.drop_table("coverage")
    op.drop_table("program_months")
