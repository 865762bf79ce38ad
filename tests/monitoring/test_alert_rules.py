"""Alerts: benefits active at death, in the bureau's words."""

from __future__ import annotations

from services.monitoring.domain.alerts import active_benefits, death_summary


def test_only_active_programs_count() -> None:
    assert active_benefits({"dibao": "active", "tekun": "terminated", "old_age_allowance": "active"}) == [
        "dibao",
        "old_age_allowance",
    ]


def test_summary_names_the_programs_and_the_date() -> None:
    s = death_summary(["dibao"], "2026-03-01")
    assert "2026-03-01" in s and "最低生活保障" in s
