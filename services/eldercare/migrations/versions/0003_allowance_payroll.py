"""elders and the allowance found without asking: death reports, payrolls, lines, overpayments

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 08:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UUID = sa.UUID()
NOW = sa.text("now()")


def upgrade() -> None:
    # Discover and the elders register select people by birth date (everyone born on or before a cut-off).
    op.create_index("ix_people_birth_date", "people", ["birth_date"])
    # Discovery's stop looks for the few people dead or moved out, not at every allowance.
    op.create_index(
        "ix_people_gone", "people", ["person_id"], postgresql_where=sa.text("status = 'deceased' OR NOT in_district")
    )
    op.create_table(
        "death_reports",
        sa.Column("death_id", UUID, primary_key=True),
        sa.Column("person_id", UUID, nullable=False, index=True),
        sa.Column("date_of_death", sa.Date(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
    )
    op.create_table(
        "payrolls",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("month", sa.Date(), nullable=False, unique=True),
        sa.Column("standards", postgresql.JSONB(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
    )
    op.create_table(
        "payroll_lines",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("payroll_id", UUID, nullable=False),
        sa.Column("allowance_id", UUID, nullable=False),
        sa.Column("person_id", UUID, nullable=False),
        sa.Column("id_number", sa.String(18), nullable=False),
        sa.Column("hukou_division", sa.String(12), nullable=False),
        sa.Column("for_month", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("reason_code", sa.String(30)),
        sa.Column("reason", sa.String(200)),
    )
    op.create_index("ix_payroll_lines_payroll", "payroll_lines", ["payroll_id", "hukou_division", "id_number"])
    op.create_index("ix_payroll_lines_person", "payroll_lines", ["person_id"])
    # The second lock on the door: one paid line per allowance and month paid for.
    op.create_index(
        "uq_payroll_lines_paid",
        "payroll_lines",
        ["allowance_id", "for_month"],
        unique=True,
        postgresql_where=sa.text("status = 'paid'"),
    )
    op.create_table(
        "overpayments",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("allowance_id", UUID, nullable=False, unique=True),
        sa.Column("person_id", UUID, nullable=False),
        sa.Column("id_number", sa.String(18), nullable=False, index=True),
        sa.Column("hukou_division", sa.String(12), nullable=False, index=True),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("months", postgresql.ARRAY(sa.String(7)), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("resolved_by", sa.String(200)),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
        sa.Column("resolution_note", sa.Text()),
    )


def downgrade() -> None:
    op.drop_table("overpayments")
    op.drop_table("payroll_lines")
    op.drop_table("payrolls")
    op.drop_table("death_reports")
    op.drop_index("ix_people_gone", "people")
    op.drop_index("ix_people_birth_date", "people")
