"""the outbox row leaner: no subject stored when it is the key, no created_at, no primary key on seq

The same in every service: see shared/outbox_schema.py for what is measured and why.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 09:00:00
"""

from collections.abc import Sequence

from shared import outbox_schema

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    outbox_schema.leaner_upgrade()


def downgrade() -> None:
    outbox_schema.leaner_downgrade()
