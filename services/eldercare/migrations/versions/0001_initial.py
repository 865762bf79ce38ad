"""initial

Revision ID: 0001
Revises:
Create Date: 2026-11-29 02:05:42.879246
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "allowance_brackets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("min_age", sa.Integer(), nullable=False),
        sa.Column("max_age", sa.Integer(), nullable=True),
        sa.Column("monthly_amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allowance_brackets")),
    )
    op.create_table(
        "allowances",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("person_id", sa.UUID(), nullable=False),
        sa.Column("id_number", sa.String(length=18), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("monthly_amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("explanation", sa.String(length=300), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("stopped_on", sa.Date(), nullable=True),
        sa.Column("stop_reason", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("hukou_division", sa.String(length=12), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allowances")),
        sa.UniqueConstraint("person_id", name=op.f("uq_allowances_person_id")),
    )
    op.create_index(op.f("ix_allowances_hukou_division"), "allowances", ["hukou_division"], unique=False)
    op.create_index(op.f("ix_allowances_id_number"), "allowances", ["id_number"], unique=False)
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("division", sa.String(length=12), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("endpoint", sa.String(length=300), nullable=False),
        sa.Column("person_id", sa.UUID(), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_person_id_at", "audit_log", ["person_id", "at"], unique=False)
    op.create_table(
        "outbox",
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=200), nullable=False),
        sa.Column("envelope", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "headers", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_outbox")),
        sa.UniqueConstraint("id", name=op.f("uq_outbox_id")),
    )
    op.create_index(
        "ix_outbox_unpublished", "outbox", ["seq"], unique=False, postgresql_where=sa.text("published_at IS NULL")
    )
    op.create_table(
        "processed_events",
        sa.Column("consumer", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=200), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id", name=op.f("pk_processed_events")),
    )
    op.create_table(
        "people",
        sa.Column("person_id", sa.UUID(), nullable=False),
        sa.Column("id_number", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("sex", sa.String(length=1), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("hukou_division", sa.String(length=12), nullable=False),
        sa.Column("in_district", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("status", sa.String(length=20), server_default="alive", nullable=False),
        sa.Column("date_of_death", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_people")),
        sa.UniqueConstraint("id_number", name=op.f("uq_people_id_number")),
    )

    # Policy data, effective-dated: the old-age allowance brackets (POLICY.md; amounts assumed).
    brackets = sa.table(
        "allowance_brackets",
        sa.column("effective_from", sa.Date),
        sa.column("min_age", sa.Integer),
        sa.column("max_age", sa.Integer),
        sa.column("monthly_amount", sa.Numeric(12, 2)),
        sa.column("source", sa.String),
    )
    from datetime import date
    from decimal import Decimal

    op.bulk_insert(
        brackets,
        [
            {
                "effective_from": date(2022, 1, 1),
                "min_age": 80,
                "max_age": 89,
                "monthly_amount": Decimal("30.00"),
                "source": "POLICY.md: assumed (average about 46 yuan derived from the 2022 report)",
            },
            {
                "effective_from": date(2022, 1, 1),
                "min_age": 90,
                "max_age": 99,
                "monthly_amount": Decimal("100.00"),
                "source": "POLICY.md: assumed",
            },
            {
                "effective_from": date(2022, 1, 1),
                "min_age": 100,
                "max_age": None,
                "monthly_amount": Decimal("500.00"),
                "source": "POLICY.md: assumed",
            },
        ],
    )


def downgrade() -> None:
    op.drop_table("people")
    op.drop_table("processed_events")
    op.drop_index("ix_outbox_unpublished", table_name="outbox", postgresql_where=sa.text("published_at IS NULL"))
    op.drop_table("outbox")
    op.drop_index("ix_audit_log_person_id_at", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index(op.f("ix_allowances_id_number"), table_name="allowances")
    op.drop_index(op.f("ix_allowances_hukou_division"), table_name="allowances")
    op.drop_table("allowances")
    op.drop_table("allowance_brackets")
