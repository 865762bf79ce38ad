"""case amounts know the month they end (the payroll joins the one in force without sorting the history);
a payroll's totals stored when it is built (the same month asked again reads them, not its lines)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("case_amounts", sa.Column("until_month", sa.Date(), nullable=True))
    op.execute(
        """
        UPDATE case_amounts a SET until_month = n.next_month
        FROM (SELECT id, lead(from_month) OVER (PARTITION BY case_id ORDER BY from_month) AS next_month
              FROM case_amounts) n
        WHERE a.id = n.id AND n.next_month IS NOT NULL
        """
    )
    op.create_table(
        "payroll_totals",
        sa.Column("payroll_id", sa.UUID(), nullable=False),
        sa.Column("hukou_division", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("program", sa.String(length=30), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "payroll_id", "hukou_division", "status", "program", "kind", name=op.f("pk_payroll_totals")
        ),
    )
    # Payrolls built before this revision: their totals from their lines, once.
    op.execute(
        """
        INSERT INTO payroll_totals (payroll_id, hukou_division, status, program, kind, amount, lines)
        SELECT payroll_id, hukou_division, status, program, kind, sum(amount), count(*)
        FROM payroll_lines GROUP BY payroll_id, hukou_division, status, program, kind
        """
    )


def downgrade() -> None:
    op.drop_table("payroll_totals")
    op.drop_column("case_amounts", "until_month")
