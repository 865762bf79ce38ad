"""persons pages keep a fifth free, so a death's update of a person stays on its page (a HOT update)

A death changes a person's status and date of death, neither of them
indexed: with room on the page PostgreSQL writes the new row version beside
the old one and touches none of the table's five indexes (identity number,
name, household, hukou division, id). On full pages (fillfactor 100, as COPY
and inserts leave them) every such update inserted five index entries, the
largest part of what a batch of death reports cost the database
(bench/intake.py: persons updated on 0.67 of the lines, 2% of them HOT).
Pages written from now on keep the room; existing pages gain it as they are
rewritten (VACUUM FULL, or a dump and restore).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 12:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE persons SET (fillfactor = 80)")


def downgrade() -> None:
    op.execute("ALTER TABLE persons RESET (fillfactor)")
