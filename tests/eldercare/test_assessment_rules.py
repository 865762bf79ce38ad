"""GB/T 42195-2022 levels from item scores: a worked example of each level, the boundaries, the adjustments."""

from __future__ import annotations

import pytest

from services.eldercare.domain import assessment as rules
from services.eldercare.domain.assessment import DOMAINS, Conditions, ScoreError, assess


def sheet(self_care: list[int], mobility: list[int], mental: list[int], perception: list[int]) -> dict[str, int]:
    """A score sheet from the four domains' item scores, in the standard's order."""
    values = [self_care, mobility, mental, perception]
    return {
        item: score
        for items, scores in zip(DOMAINS.values(), values, strict=True)
        for item, score in zip(items, scores, strict=True)
    }


FULL = {item: top for item, top in rules.ITEMS.items()}

# Worked examples: (self-care 8 items, mobility 4, mental state 9, perception and social participation 5).
WORKED = {
    0: sheet([4] * 8, [4, 4, 4, 3], [4, 4, 4, 4, 4, 4, 1, 1, 2], [2, 2, 4, 3, 4]),  # 32 + 15 + 28 + 15 = 90
    1: sheet(
        [4, 4, 3, 4, 3, 4, 4, 3], [4, 4, 3, 2], [4, 4, 4, 3, 4, 4, 1, 1, 2], [1, 2, 3, 2, 3]
    ),  # 29 + 13 + 27 + 11 = 80
    2: sheet(
        [3, 3, 2, 2, 2, 3, 3, 2], [3, 2, 2, 1], [3, 3, 4, 2, 3, 3, 1, 1, 2], [1, 1, 2, 1, 2]
    ),  # 20 + 8 + 22 + 7 = 57
    3: sheet(
        [2, 2, 1, 1, 1, 2, 2, 1], [2, 1, 1, 0], [2, 2, 3, 1, 2, 2, 1, 0, 2], [1, 1, 1, 0, 1]
    ),  # 12 + 4 + 15 + 4 = 35
    4: sheet(
        [1, 0, 0, 0, 0, 1, 1, 0], [1, 0, 0, 0], [1, 1, 2, 0, 1, 1, 1, 0, 1], [1, 1, 0, 0, 0]
    ),  # 3 + 1 + 8 + 2 = 14
}


def test_the_standard_has_26_items_worth_90_points() -> None:
    assert len(rules.ITEMS) == 26
    assert rules.MAX_TOTAL == 90
    assert {d: sum(items.values()) for d, items in DOMAINS.items()} == {
        "self_care": 32,
        "basic_mobility": 15,
        "mental_state": 28,
        "perception_social": 15,
    }


@pytest.mark.parametrize(
    ("level", "total", "subtotals"),
    [
        (0, 90, {"self_care": 32, "basic_mobility": 15, "mental_state": 28, "perception_social": 15}),
        (1, 80, {"self_care": 29, "basic_mobility": 13, "mental_state": 27, "perception_social": 11}),
        (2, 57, {"self_care": 20, "basic_mobility": 8, "mental_state": 22, "perception_social": 7}),
        (3, 35, {"self_care": 12, "basic_mobility": 4, "mental_state": 15, "perception_social": 4}),
        (4, 14, {"self_care": 3, "basic_mobility": 1, "mental_state": 8, "perception_social": 2}),
    ],
)
def test_worked_example_of_each_level(level: int, total: int, subtotals: dict[str, int]) -> None:
    result = assess(WORKED[level])
    assert (result.level, result.total, result.subtotals) == (level, total, subtotals)
    assert result.level_name == rules.LEVEL_NAMES[level]
    assert f"total {total}/90" in result.explanation and f"gives level {level}" in result.explanation


def lowered_to(total: int) -> dict[str, int]:
    """The full sheet with points taken off item by item until it sums to `total`."""
    scores = dict(FULL)
    missing = 90 - total
    for item in scores:
        take = min(scores[item], missing)
        scores[item] -= take
        missing -= take
    return scores


@pytest.mark.parametrize(
    ("total", "level"), [(90, 0), (89, 1), (66, 1), (65, 2), (46, 2), (45, 3), (30, 3), (29, 4), (0, 4)]
)
def test_level_boundaries(total: int, level: int) -> None:
    assert assess(lowered_to(total)).level == level


def test_coma_is_complete_loss_whatever_the_scores() -> None:
    result = assess(WORKED[1], Conditions(coma=True))
    assert (result.preliminary_level, result.level) == (1, 4)
    assert "coma" in result.explanation


def test_a_diagnosed_dementia_raises_one_level() -> None:
    result = assess(WORKED[2], Conditions(dementia_or_mental_disorder=True))
    assert (result.preliminary_level, result.level) == (2, 3)
    assert "raised one level to 3" in result.explanation


def test_two_care_risk_events_raise_one_level_one_does_not() -> None:
    assert assess(WORKED[1], Conditions(risk_events_30d=("fall",))).level == 1
    assert assess(WORKED[1], Conditions(risk_events_30d=("fall", "choking"))).level == 2


def test_the_raise_applies_once_and_never_past_4() -> None:
    both = Conditions(dementia_or_mental_disorder=True, risk_events_30d=("fall", "wandering"))
    assert assess(WORKED[0], both).level == 1
    result = assess(WORKED[4], both)
    assert result.level == 4 and "already the highest level" in result.explanation


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"stairs": 4}, "scores.stairs"),  # stairs scores 0-3
        ({"eating": -1}, "scores.eating"),
        ({"vision": True}, "scores.vision"),
        ({"shoe_size": 3}, "scores.shoe_size"),
    ],
)
def test_a_sheet_out_of_range_names_the_item(change: dict[str, object], field: str) -> None:
    with pytest.raises(ScoreError) as err:
        assess({**FULL, **change})  # type: ignore[dict-item]
    assert err.value.field == field


def test_a_missing_item_is_named() -> None:
    scores = dict(FULL)
    del scores["memory"]
    with pytest.raises(ScoreError) as err:
        assess(scores)
    assert err.value.field == "scores.memory"
