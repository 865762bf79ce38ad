"""death_reports: the index on the identity number goes (no query reads reports by it)

A report is found by its (source, reference) (the unique index: a repeated
report), by its death (ix_death_reports_death_id: a death's reports, in seq
order) and never by the identity number it carried: a report of a number not
yet registered waits in review_items, which has its own index on the number.
The index cost every report a random B-tree insert (bench/death_flow.py with
MINZHENG_BENCH_STATEMENTS=1: the partner feed's COPY of the reports).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_death_reports_id_number", table_name="death_reports")


def downgrade() -> None:
    op.create_index("ix_death_reports_id_number", "death_reports", ["id_number"])
