"""records: room on each page for the updated row versions (fillfactor 70), so an update is a HOT update

A record is rewritten by every event about its person (a death alone: the death, the case suspended, the
allowance stopped). With full pages each new version went to another page and every index of the table
(person, identity number, division, household) took a new entry; with room left on the page none of them
changes, PostgreSQL writes a heap-only tuple and the indexes are not touched. Applies to pages written from now
on (existing rows move as they are updated).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 18:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE records SET (fillfactor = 70)")


def downgrade() -> None:
    op.execute("ALTER TABLE records RESET (fillfactor)")
