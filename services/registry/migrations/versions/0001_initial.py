"""initial

Revision ID: 0001
Revises:
Create Date: 2026-11-29 02:05:40.954820
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
        "households",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("head_person_id", sa.UUID(), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("hukou_division", sa.String(length=12), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_households")),
    )
    op.create_index(op.f("ix_households_hukou_division"), "households", ["hukou_division"], unique=False)
    op.create_table(
        "persons",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("id_number", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("registered_division", sa.String(length=12), nullable=False),
        sa.Column("in_district", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("date_of_death", sa.Date(), nullable=True),
        sa.Column("household_id", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("hukou_division", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(["household_id"], ["households.id"], name=op.f("fk_persons_household_id_households")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_persons")),
        sa.UniqueConstraint("id_number", name=op.f("uq_persons_id_number")),
    )
    op.create_index(op.f("ix_persons_household_id"), "persons", ["household_id"], unique=False)
    op.create_index(op.f("ix_persons_hukou_division"), "persons", ["hukou_division"], unique=False)
    op.create_table(
        "deaths",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("person_id", sa.UUID(), nullable=False),
        sa.Column("date_of_death", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_deaths_person_id_persons")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deaths")),
        sa.UniqueConstraint("person_id", name=op.f("uq_deaths_person_id")),
    )
    op.create_table(
        "household_members",
        sa.Column("household_id", sa.UUID(), nullable=False),
        sa.Column("person_id", sa.UUID(), nullable=False),
        sa.Column("relation", sa.String(length=30), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_household_members_household_id_households")
        ),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_household_members_person_id_persons")),
        sa.PrimaryKeyConstraint("household_id", "person_id", name=op.f("pk_household_members")),
        sa.UniqueConstraint("person_id", name=op.f("uq_household_members_person_id")),
    )
    op.create_table(
        "hukou_changes",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("person_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("from_division", sa.String(length=12), nullable=True),
        sa.Column("to_division", sa.String(length=12), nullable=True),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=30), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_hukou_changes_person_id_persons")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hukou_changes")),
        sa.UniqueConstraint("seq", name=op.f("uq_hukou_changes_seq")),
        sa.UniqueConstraint("source", "reference", name="uq_hukou_changes_source_reference"),
    )
    op.create_index("ix_hukou_changes_person_effective", "hukou_changes", ["person_id", "effective_date"], unique=False)
    op.create_table(
        "death_reports",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("death_id", sa.UUID(), nullable=True),
        sa.Column("id_number", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("date_of_death", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=30), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("explanation", sa.String(length=300), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["death_id"], ["deaths.id"], name=op.f("fk_death_reports_death_id_deaths")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_death_reports")),
        sa.UniqueConstraint("seq", name=op.f("uq_death_reports_seq")),
        sa.UniqueConstraint("source", "reference", name="uq_death_reports_source_reference"),
    )
    op.create_index(op.f("ix_death_reports_death_id"), "death_reports", ["death_id"], unique=False)
    op.create_index(op.f("ix_death_reports_id_number"), "death_reports", ["id_number"], unique=False)
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


def downgrade() -> None:
    op.drop_table("processed_events")
    op.drop_index("ix_outbox_unpublished", table_name="outbox", postgresql_where=sa.text("published_at IS NULL"))
    op.drop_table("outbox")
    op.drop_index("ix_audit_log_person_id_at", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index(op.f("ix_death_reports_id_number"), table_name="death_reports")
    op.drop_index(op.f("ix_death_reports_death_id"), table_name="death_reports")
    op.drop_table("death_reports")
    op.drop_index("ix_hukou_changes_person_effective", table_name="hukou_changes")
    op.drop_table("hukou_changes")
    op.drop_table("household_members")
    op.drop_table("deaths")
    op.drop_index(op.f("ix_persons_hukou_division"), table_name="persons")
    op.drop_index(op.f("ix_persons_household_id"), table_name="persons")
    op.drop_table("persons")
    op.drop_index(op.f("ix_households_hukou_division"), table_name="households")
    op.drop_table("households")
