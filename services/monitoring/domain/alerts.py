"""Early warnings (预警): which alert an event raises, and what it says.

One open alert per person and kind: a death reported twice, or reported
before the benefits' suspensions arrive, still makes one alert, whose list of
benefits grows as the other services report what they stopped.
"""

from __future__ import annotations

from enum import StrEnum


class AlertKind(StrEnum):
    BENEFICIARY_DIED = "beneficiary_died"


class AlertStatus(StrEnum):
    OPEN = "open"
    ASSIGNED = "assigned"
    RESOLVED = "resolved"


PROGRAM_NAMES = {
    "dibao": "最低生活保障 (dibao)",
    "tekun": "特困供养 (tekun)",
    "temporary": "临时救助 (temporary assistance)",
    "orphan": "孤儿基本生活费 (orphan allowance)",
    "de_facto_orphan": "事实无人抚养儿童 (de-facto orphan allowance)",
    "disability_living": "困难残疾人生活补贴",
    "disability_care": "重度残疾人护理补贴",
    "old_age_allowance": "高龄津贴 (old-age allowance)",
}


def active_benefits(programs: dict[str, str]) -> list[str]:
    return sorted(p for p, status in programs.items() if status == "active")


def death_summary(benefits: list[str], date_of_death: str) -> str:
    listed = ", ".join(PROGRAM_NAMES.get(b, b) for b in benefits) or "none on file yet"
    return (
        f"beneficiary died on {date_of_death}; benefits active at death: {listed}. "
        "Check payments after that date and recover them."
    )
