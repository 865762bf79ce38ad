"""allowances lose their index on hukou_division, which every enrolment wrote and no query reads

Allowances are filtered by division only with a prefix (`LIKE '3402070010%'`: a caller's scope or a
`division=` filter, shared.divisions.covers_clause), which a B-tree under the database's C.UTF-8 collation
cannot serve; nothing compares the division for equality. Discovery's first run writes 200,000 allowances:
one index entry fewer for each.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 09:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_allowances_hukou_division", table_name="allowances")


def downgrade() -> None:
    op.create_index("ix_allowances_hukou_division", "allowances", ["hukou_division"])
