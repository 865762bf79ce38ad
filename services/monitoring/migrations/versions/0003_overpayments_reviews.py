"""records: money paid after death not yet recovered, and the last reassessment (for household changes)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 08:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("records", sa.Column("open_overpayments", sa.Numeric(12, 2), server_default="0", nullable=False))
    op.add_column("records", sa.Column("last_review_on", sa.Date(), nullable=True))


def downgrade() -> None:
    op.drop_column("records", "last_review_on")
    op.drop_column("records", "open_overpayments")
