"""payroll lines: the B-tree on (payroll_id, id_number) replaced by a BRIN index on payroll_id

Every line of a payroll added an entry to the B-tree (~107 B of WAL a line, measured on the 100,000 lines of
bench/payroll.py by EXPLAIN (ANALYZE, WAL) in a rolled-back transaction, and its CPU). Its readers:

- the lines of a payroll (a page of them, the export, the month's one-off lines, the withheld sums): a payroll's
  lines are written by a few statements of one transaction and never change, so they lie together in the table
  and a BRIN index on payroll_id finds them; its entries are made a range at a time (autosummarize), not per line;
- one person's lines in a payroll (`?id_number=`): found through the person's cases and grants by the partial
  indexes every line is in (services/assistance/payroll.py `_OF_PERSON`).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_payroll_lines_payroll_id", table_name="payroll_lines")
    op.create_index(
        "ix_payroll_lines_payroll_brin",
        "payroll_lines",
        ["payroll_id"],
        postgresql_using="brin",
        postgresql_with={"autosummarize": "on"},
    )


def downgrade() -> None:
    op.drop_index("ix_payroll_lines_payroll_brin", table_name="payroll_lines")
    op.create_index("ix_payroll_lines_payroll_id", "payroll_lines", ["payroll_id", "id_number"])
