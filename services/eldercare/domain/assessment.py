"""Capacity assessment of older people (老年人能力评估), GB/T 42195-2022.

The assessor records 26 item scores in four domains (90 points in all; a
higher score is more capacity). The level is computed here from those scores,
never typed in, so two assessors with the same scores always get the same
level and the answer carries its reasons:

- total 90 → 0 intact, 66–89 → 1 mild, 46–65 → 2 moderate, 30–45 → 3 severe,
  0–29 → 4 complete loss;
- a person in a coma is level 4 whatever the scores;
- a diagnosed dementia or other mental and behavioural disorder, or two or
  more care-risk events (fall, wandering off, choking, self-harm, other) in
  the last 30 days, raises the level by one (once, however many apply; at most 4).

Source: RULES.md §5.2 (the standard's table as encoded in public codebases).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Domain → item → maximum score. Item names follow the standard's order (B.1–B.4).
DOMAINS: dict[str, dict[str, int]] = {
    "self_care": {  # B.1 自理能力
        "eating": 4,
        "grooming": 4,
        "bathing": 4,
        "dressing_upper": 4,
        "dressing_lower": 4,
        "bladder_control": 4,
        "bowel_control": 4,
        "toileting": 4,
    },
    "basic_mobility": {  # B.2 基础运动能力
        "bed_position_change": 4,
        "bed_chair_transfer": 4,
        "walking_on_level": 4,
        "stairs": 3,
    },
    "mental_state": {  # B.3 精神状态
        "time_orientation": 4,
        "place_orientation": 4,
        "person_orientation": 4,
        "memory": 4,
        "understanding": 4,
        "expression": 4,
        "aggressive_behaviour": 1,
        "depressive_symptoms": 1,
        "consciousness": 2,
    },
    "perception_social": {  # B.4 感知觉与社会参与
        "vision": 2,
        "hearing": 2,
        "daily_affairs": 4,
        "using_transport": 3,
        "social_interaction": 4,
    },
}
ITEMS: dict[str, int] = {item: top for items in DOMAINS.values() for item, top in items.items()}
MAX_TOTAL = sum(ITEMS.values())  # 90

LEVEL_NAMES = {0: "intact", 1: "mild", 2: "moderate", 3: "severe", 4: "complete loss"}
# Lowest total of each level, highest level first; below every bound is level 4.
LEVEL_FLOORS: tuple[tuple[int, int], ...] = ((90, 0), (66, 1), (46, 2), (30, 3))
RISK_EVENT_KINDS = frozenset({"fall", "wandering", "choking", "self_harm", "other"})
RISK_EVENTS_THAT_RAISE = 2


class ScoreError(ValueError):
    """A score sheet that cannot be assessed; `field` names the offending entry."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Conditions:
    """What the assessor records beside the item scores."""

    coma: bool = False
    dementia_or_mental_disorder: bool = False
    risk_events_30d: tuple[str, ...] = ()


@dataclass(frozen=True)
class Result:
    level: int
    level_name: str
    total: int
    subtotals: dict[str, int]
    preliminary_level: int
    reasons: list[str] = field(default_factory=list)

    @property
    def explanation(self) -> str:
        return "; ".join(self.reasons)


def check_scores(scores: dict[str, int]) -> None:
    """Every one of the 26 items present, each an integer within its range; nothing else."""
    for item in scores:
        if item not in ITEMS:
            raise ScoreError(f"unknown item {item[:50]!r}; the items are {', '.join(ITEMS)}", f"scores.{item[:50]}")
    for item, top in ITEMS.items():
        if item not in scores:
            raise ScoreError(f"item {item!r} is missing (0–{top})", f"scores.{item}")
        value = scores[item]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
            raise ScoreError(f"item {item!r} scores 0–{top}, got {value!r}", f"scores.{item}")


def level_of_total(total: int) -> int:
    for floor, level in LEVEL_FLOORS:
        if total >= floor:
            return level
    return 4


def assess(scores: dict[str, int], conditions: Conditions = Conditions()) -> Result:
    """The level from the item scores and conditions, with the subtotals and the rule that decided it."""
    check_scores(scores)
    subtotals = {domain: sum(scores[item] for item in items) for domain, items in DOMAINS.items()}
    total = sum(subtotals.values())
    preliminary = level_of_total(total)
    parts = ", ".join(f"{d} {subtotals[d]}/{sum(DOMAINS[d].values())}" for d in DOMAINS)
    reasons = [f"total {total}/{MAX_TOTAL} ({parts}) gives level {preliminary} ({LEVEL_NAMES[preliminary]})"]
    if conditions.coma:
        reasons.append("in a coma: level 4 (complete loss) whatever the scores")
        return Result(4, LEVEL_NAMES[4], total, subtotals, preliminary, reasons)
    raisers = []
    if conditions.dementia_or_mental_disorder:
        raisers.append("diagnosed dementia or another mental and behavioural disorder")
    if len(conditions.risk_events_30d) >= RISK_EVENTS_THAT_RAISE:
        raisers.append(
            f"{len(conditions.risk_events_30d)} care-risk events in the last 30 days"
            f" ({', '.join(conditions.risk_events_30d)})"
        )
    level = preliminary
    if raisers and preliminary == 4:
        reasons.append(f"already the highest level; also {'; '.join(raisers)}")
    elif raisers:
        level = preliminary + 1
        reasons.append(f"raised one level to {level} ({LEVEL_NAMES[level]}): {'; '.join(raisers)}")
    return Result(level, LEVEL_NAMES[level], total, subtotals, preliminary, reasons)
