"""a case held by a death remembers the status it had before (a revoked death restores it, e.g. a gradual exit)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("cases", sa.Column("status_before_death", sa.String(length=20), nullable=True))
    op.add_column("cases", sa.Column("reason_before_death", sa.String(length=100), nullable=True))
    # Each payroll looks for months a revoked death kept from earlier payrolls: the revoked deaths, few, by index.
    op.create_index(
        "ix_death_reports_revoked", "death_reports", ["person_id"], postgresql_where=sa.text("status = 'revoked'")
    )


def downgrade() -> None:
    op.drop_index("ix_death_reports_revoked", table_name="death_reports")
    op.drop_column("cases", "reason_before_death")
    op.drop_column("cases", "status_before_death")
