"""room on the pages of the rows a death rewrites: outbox (half), allowances (a fifth)

The outbox is the same in every service: see shared/outbox_schema.room_upgrade.
A death stops the person's allowance: no indexed column changes, but on full
pages (fillfactor 100, as COPY and inserts leave them) the new row version went
to another page and the primary key took a new entry. With a fifth of each page
free the new version stays beside the old one, a HOT update (bench/death_flow.py
with MINZHENG_BENCH_STATEMENTS=1 prints the updates that were not HOT per table).
The copy of the registry (`people`) keeps its fill: a death moves its row into
the partial index of the gone (ix_people_gone, on status), an update that cannot
be HOT whatever the room. Pages written from now on keep the room; existing
pages gain it as they are rewritten (VACUUM FULL).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 09:00:00
"""

from collections.abc import Sequence

from alembic import op

from shared import outbox_schema

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    outbox_schema.room_upgrade()
    op.execute("ALTER TABLE allowances SET (fillfactor = 80)")


def downgrade() -> None:
    op.execute("ALTER TABLE allowances RESET (fillfactor)")
    outbox_schema.room_downgrade()
