"""intake policy seed: which partner reports apply at once and which wait for review

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 02:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

policies = sa.table(
    "intake_policies",
    sa.column("report_type", sa.String),
    sa.column("source", sa.String),
    sa.column("action", sa.String),
    sa.column("note", sa.String),
)

SEED = [
    ("death", "hospital", "apply", "medical certificate of death (死亡医学证明): trusted, applies at once"),
    ("death", "public_security", "apply", "household registration cancelled for death (户籍注销): trusted"),
    ("death", "funeral_home", "apply", "cremation record (火化记录): trusted, applies at once"),
    (
        "death",
        "civil_affairs",
        "review_first",
        "a civil-affairs report relayed from a village or community is unverified on its own: "
        "it waits for review unless a trusted source already reported the death",
    ),
    ("hukou", "public_security", "apply", "the household registration authority itself"),
]


def upgrade() -> None:
    op.bulk_insert(policies, [{"report_type": t, "source": s, "action": a, "note": n} for t, s, a, n in SEED])


def downgrade() -> None:
    op.execute("DELETE FROM intake_policies")
