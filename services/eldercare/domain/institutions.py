"""Eldercare institutions (养老机构): ownership kinds, occupancy, and the rules for a stay.

A bed holds one resident at a time and a person stays in one bed at a time;
the database enforces both with partial unique indexes on the open admission,
so two admissions racing for the last bed cannot both win.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

OWNERSHIP = ("public", "private", "public_built_private_run")  # 公办, 民办, 公建民营
DISCHARGE_REASONS = ("returned_home", "transferred", "death", "other")
SEVERITIES = ("minor", "major", "critical")


@dataclass(frozen=True)
class Occupancy:
    beds: int
    occupied: int

    @property
    def free(self) -> int:
        return self.beds - self.occupied

    @property
    def rate(self) -> Decimal:
        """Share of beds taken, as a percentage with one decimal."""
        if self.beds == 0:
            return Decimal("0.0")
        return (Decimal(self.occupied) * 100 / self.beds).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def discharge_refusal(admitted_on: date, discharged_on: date) -> str | None:
    if discharged_on < admitted_on:
        return f"the discharge date {discharged_on} is before the admission on {admitted_on}"
    return None


def follow_up_status(findings: int, follow_up_done: bool) -> str:
    """An inspection with findings stays open until the follow-up is recorded."""
    if findings == 0:
        return "none_needed"
    return "closed" if follow_up_done else "open"
