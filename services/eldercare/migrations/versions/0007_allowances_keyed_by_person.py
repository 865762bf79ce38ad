"""allowances keyed by person: one B-tree on person_id (the primary key) instead of three

An allowance belongs to one person, and its id is derived from the person id (md5, `allowance_id`: an event's
or discovery's enrolment, and from now on one by hand, which drew a uuid4 before), so the unique index on
`person_id` makes both unique. Every lookup of an allowance names the person (the
registry events' fold, a death, discovery, the payroll, the elders register, `?id_number=` through the people
copy's unique identity number); none looks one up by its id. So `person_id` becomes the primary key and the
B-tree on `id` goes, and with it the one on `id_number` (the list filter reads the person id from the people
copy). Discovery's first run over a district writes 200,000 allowances: two random B-tree inserts fewer each.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 09:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_allowances_id_number", table_name="allowances")
    op.drop_constraint("pk_allowances", "allowances", type_="primary")
    op.drop_constraint("uq_allowances_person_id", "allowances", type_="unique")
    op.create_primary_key("pk_allowances", "allowances", ["person_id"])


def downgrade() -> None:
    op.drop_constraint("pk_allowances", "allowances", type_="primary")
    op.create_primary_key("pk_allowances", "allowances", ["id"])
    op.create_unique_constraint("uq_allowances_person_id", "allowances", ["person_id"])
    op.create_index("ix_allowances_id_number", "allowances", ["id_number"])
