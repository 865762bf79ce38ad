"""room on the pages of the rows a death rewrites: outbox (half), cases and people (a fifth)

The outbox is the same in every service: see shared/outbox_schema.room_upgrade.
A death suspends a person's cases and marks the person deceased in the copy of
the registry (`people`): neither changes an indexed column, but on full pages
(fillfactor 100, as COPY and inserts leave them) the new row version went to
another page and every index of the table took a new entry (cases: id, person,
identity number, application, division; people: id, identity number). With a
fifth of each page free the new version stays beside the old one, a HOT update
that touches no index (bench/death_flow.py with MINZHENG_BENCH_STATEMENTS=1
prints the updates that were not HOT per table). Pages written from now on keep
the room; existing pages gain it as they are rewritten (VACUUM FULL).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 09:00:00
"""

from collections.abc import Sequence

from alembic import op

from shared import outbox_schema

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    outbox_schema.room_upgrade()
    op.execute("ALTER TABLE cases SET (fillfactor = 80)")
    op.execute("ALTER TABLE people SET (fillfactor = 80)")


def downgrade() -> None:
    op.execute("ALTER TABLE people RESET (fillfactor)")
    op.execute("ALTER TABLE cases RESET (fillfactor)")
    outbox_schema.room_downgrade()
