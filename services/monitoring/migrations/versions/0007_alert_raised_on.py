"""alerts: the business day each was raised on (a replayed year's alerts are counted in that year)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 12:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("alerts", sa.Column("raised_on", sa.Date(), nullable=True))


def downgrade() -> None:
    op.drop_column("alerts", "raised_on")
