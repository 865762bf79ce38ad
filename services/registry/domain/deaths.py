"""Deaths reported by several sources meet here (死亡信息多源比对).

A death is recorded once per person. The first report from a trusted source
records it (downstream suspends at once, reversibly); a report from another
source with the same date confirms it; a different date is kept and flags a
conflict for a registrar; the same source and reference again is a duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum


class Outcome(StrEnum):
    RECORDED = "recorded"
    CONFIRMED = "confirmed"
    CORROBORATED = "corroborated"  # another source again, already confirmed
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"


class DeathStatus(StrEnum):
    REPORTED = "reported"
    CONFIRMED = "confirmed"
    CONFLICT = "conflict"
    REVOKED = "revoked"


@dataclass(frozen=True)
class Report:
    source: str
    reference: str
    date_of_death: date


@dataclass
class DeathState:
    date_of_death: date
    status: DeathStatus
    reports: list[Report] = field(default_factory=list)

    @property
    def sources(self) -> set[str]:
        return {r.source for r in self.reports}


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    status: DeathStatus
    explanation: str


def decide(state: DeathState | None, report: Report) -> Decision:
    """What a new report does to the death on file (None: no death yet)."""
    if state is None or state.status == DeathStatus.REVOKED:
        return Decision(Outcome.RECORDED, DeathStatus.REPORTED, f"first report, from {report.source}")
    if any(r.source == report.source and r.reference == report.reference for r in state.reports):
        return Decision(Outcome.DUPLICATE, state.status, "the same report again")
    if report.date_of_death != state.date_of_death:
        return Decision(
            Outcome.CONFLICT,
            DeathStatus.CONFLICT,
            f"{report.source} gives {report.date_of_death}, the record has {state.date_of_death}",
        )
    if report.source in state.sources:
        return Decision(Outcome.DUPLICATE, state.status, f"{report.source} already reported this death")
    if state.status == DeathStatus.REPORTED:
        return Decision(Outcome.CONFIRMED, DeathStatus.CONFIRMED, f"confirmed by a second source, {report.source}")
    return Decision(Outcome.CORROBORATED, state.status, f"{report.source} agrees")


def check_date(date_of_death: date, birth_date: date, today: date) -> str | None:
    """Why a date of death cannot be right, or None."""
    if date_of_death > today:
        return "date of death is in the future"
    if date_of_death < birth_date:
        return "date of death is before the date of birth"
    return None
