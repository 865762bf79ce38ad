"""household members, from registry.household.changed (who lives alone)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 09:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Each household's members as its last event left them. Keyed by household and person, not by person alone:
    # a person leaving one household and joining another are events of two households (two partitions), and
    # whichever arrives first, each household's set ends as its own last event says.
    op.create_table(
        "household_members",
        sa.Column("household_id", sa.UUID(), primary_key=True),
        sa.Column("person_id", sa.UUID(), primary_key=True),
        sa.Column("relation", sa.String(20), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    )
    op.create_index("ix_household_members_person_id", "household_members", ["person_id"])


def downgrade() -> None:
    op.drop_table("household_members")
