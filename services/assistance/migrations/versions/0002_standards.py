"""standards: every policy figure as effective-dated data, seeded from POLICY.md and RULES.md §8

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 07:20:00
"""

import uuid
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POLICY = "POLICY.md"
RULES = "RULES.md"

# (key, value, source). Every figure is effective from 2022-01-01 (POLICY.md) and says
# whether it is national (NAT), Anhui (AH), derived from the bureau's 2022 report, or assumed.
SEED: list[tuple[str, str, str]] = [
    ("dibao.standard", "800", f"{POLICY} Amounts: assumed (must exceed the derived average payment of 794)"),
    ("dibao.floor", "50", f"{POLICY} Amounts: floor per person assumed"),
    ("dibao.addon.elderly", "0.10", f"{RULES} §1.4 分类施保: assumed (usual 10-30% of the standard)"),
    ("dibao.addon.minor", "0.10", f"{RULES} §1.4 分类施保: assumed (usual 10-30% of the standard)"),
    ("dibao.addon.severely_disabled", "0.20", f"{RULES} §1.4 分类施保: assumed (usual 10-30%)"),
    ("dibao.addon.seriously_ill", "0.20", f"{RULES} §1.4 分类施保: assumed (usual 10-30%)"),
    ("dibao.elderly_age", "60", f"{RULES} §1.4 分类施保 老年人: assumed at 60"),
    ("dibao.marginal_multiple", "1.5", f"{POLICY}; {RULES} §4.1 低保边缘: national rule (NAT)"),
    ("dibao.asset_months", "24", f"{RULES} §1.2.4: assumed (typical 12-24 months of the standard)"),
    ("dibao.max_homes", "1", f"{RULES} §1.2.4: assumed (typically one home allowed)"),
    ("dibao.max_vehicles", "0", f"{RULES} §1.2.4: assumed (no non-essential vehicle)"),
    ("dibao.employment_cost_cap", "200", f"{RULES} §1.2.7 就业成本: amount assumed"),
    ("gradual_exit.months", "6", f"{POLICY} 渐退: default 6, configurable 1-12 (NAT ≤ 6; report 6-12)"),
    ("review.stable_months", "12", f"{RULES} §1.7 复核: every year for stable families (NAT)"),
    ("review.unstable_months", "6", f"{RULES} §1.7 复核: every six months, unstable income (NAT)"),
    ("death_recheck.months", "3", f"{RULES} §1.6: re-check within 3 months of a member's death (NAT)"),
    ("tekun.basic_multiple", "1.3", f"{POLICY}; {RULES} §2.4: at least 1.3 × dibao (AH practice)"),
    ("tekun.basic_amount", "1040", f"{RULES} §2.4: configured basic standard, 1.3 × 800 (assumed)"),
    ("minimum_wage", "1650", f"{POLICY}; {RULES} §2.4: Anhui tier-1 minimum monthly wage, assumed"),
    ("tekun.care.centralised.full", "0.50", f"{RULES} §2.4 照料护理: 集中 全护理 50% (AH, 滁州 2022)"),
    ("tekun.care.centralised.partial", "0.30", f"{RULES} §2.4 照料护理: 集中 半护理 30% (AH)"),
    ("tekun.care.dispersed.full", "0.35", f"{RULES} §2.4 照料护理: 分散 全护理 35% (AH)"),
    ("tekun.care.dispersed.partial", "0.20", f"{RULES} §2.4 照料护理: 分散 半护理 20% (AH)"),
    ("tekun.elderly_age", "60", f"{RULES} §2.1: no ability to work from 60 (NAT, 认定办法 Art 5)"),
    ("tekun.child_age", "16", f"{RULES} §2.1: no ability to work under 16 (NAT, 认定办法 Art 5)"),
    ("temporary.emergency_min_multiple", "2", f"{POLICY}; {RULES} §3.3: 急难型 at least 2× (AH, 青阳 2023)"),
    ("temporary.max_multiple", "10", f"{POLICY}; {RULES} §3.3: at most 10× (AH, 青阳 2023)"),
    ("temporary.town_limit_multiple", "3", f"{POLICY}: town approves alone up to 3×, assumed"),
    ("temporary.town_reserve", "50000", f"{POLICY}; {RULES} §3.2 备用金: 50,000 a year (AH, 安庆)"),
    (
        "income.prev_year_disposable",
        "3000",
        f"{RULES} §3.1 支出型 test: previous year's per-capita disposable income per month, assumed",
    ),
    ("orphan.dispersed", "1180", f"{POLICY}: derived (706,650 ÷ 10 ÷ 60)"),
    ("orphan.institutional", "1600", f"{POLICY}: assumed"),
    ("disability.living", "80", f"{POLICY}: derived (9.88796 M ÷ 10 ÷ 12,357)"),
    ("disability.care", "80", f"{POLICY}: derived (9.88796 M ÷ 10 ÷ 12,357)"),
    ("notice.days", "7", f"{RULES} §1.8, §8: 公示 7 days (NAT)"),
    ("workflow.survey_working_days", "3", f"{RULES} §1.9: survey starts ≤3 working days after acceptance (NAT)"),
    ("workflow.dibao.total_working_days", "20", f"{RULES} §1.9: ≤20 working days when towns confirm (NAT)"),
    ("workflow.extended_working_days", "45", f"{RULES} §1.9: up to 45 working days with objections (NAT)"),
    ("workflow.tekun.review_working_days", "15", f"{RULES} §2.2: township investigation ≤15 working days (NAT)"),
    ("workflow.tekun.total_working_days", "30", f"{RULES} §2.2: township 15 + county 15 working days (NAT)"),
]


def upgrade() -> None:
    op.create_table(
        "standards",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("value", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_standards")),
        sa.UniqueConstraint("key", "effective_from", name=op.f("uq_standards_key")),
    )
    op.create_index(op.f("ix_standards_key"), "standards", ["key"], unique=False)
    op.create_table(
        "standard_changes",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("old_value", sa.Numeric(precision=14, scale=4), nullable=True),
        sa.Column("new_value", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("changed_by", sa.String(length=200), nullable=False),
        sa.Column("changed_division", sa.String(length=12), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_standard_changes")),
    )
    op.create_index(op.f("ix_standard_changes_key"), "standard_changes", ["key"], unique=False)
    standards = sa.table(
        "standards",
        sa.column("id", sa.UUID()),
        sa.column("key", sa.String),
        sa.column("value", sa.Numeric),
        sa.column("effective_from", sa.Date),
        sa.column("source", sa.String),
        sa.column("created_by", sa.String),
    )
    op.bulk_insert(
        standards,
        [
            {
                "id": uuid.uuid4(),
                "key": key,
                "value": Decimal(value),
                "effective_from": date(2022, 1, 1),
                "source": source,
                "created_by": "seed",
            }
            for key, value, source in SEED
        ],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_standard_changes_key"), table_name="standard_changes")
    op.drop_table("standard_changes")
    op.drop_index(op.f("ix_standards_key"), table_name="standards")
    op.drop_table("standards")
