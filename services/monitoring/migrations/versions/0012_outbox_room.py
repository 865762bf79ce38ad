"""outbox pages filled to half, so a row marked published keeps its new version on its page

The same in every service: see shared/outbox_schema.room_upgrade for what is measured and why.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 09:00:00
"""

from collections.abc import Sequence

from shared import outbox_schema

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    outbox_schema.room_upgrade()


def downgrade() -> None:
    outbox_schema.room_downgrade()
