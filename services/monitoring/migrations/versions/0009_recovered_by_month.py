"""program months: overpayments recovered and written off by month, program and division

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("program_months", sa.Column("recovered", sa.Numeric(16, 2), server_default="0", nullable=False))
    op.add_column("program_months", sa.Column("recoveries", sa.Integer(), server_default="0", nullable=False))
    op.add_column("program_months", sa.Column("written_off", sa.Numeric(16, 2), server_default="0", nullable=False))
    op.add_column("program_months", sa.Column("write_offs", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    for column in ("write_offs", "written_off", "recoveries", "recovered"):
        op.drop_column("program_months", column)
