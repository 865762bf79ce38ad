"""The temporary-assistance needs of the plan: the distribution's quantiles, so the grants average the report's.

Pure (no stack): well under a second.
"""

from __future__ import annotations

import math
import random
from decimal import Decimal

import pytest

from services.district.plan import EMERGENCY_SHARE, temporary_needs

REPORT_AVERAGE = Decimal("1101800") / 391  # 2,817.9 yuan a grant
STANDARD = Decimal(800)


def grant(kind: str, need: Decimal) -> Decimal:
    """The seeded rule (RULES.md §3.3): an emergency gets at least 2x the standard, any grant at most 10x."""
    raised = max(need, 2 * STANDARD) if kind == "emergency" else need
    return min(raised, 10 * STANDARD)


@pytest.mark.parametrize("n", [39, 391])
def test_the_needs_of_any_seed_are_the_same_quantiles_and_average_the_report_s_grant(n: int) -> None:
    one, other = temporary_needs(random.Random(1), n), temporary_needs(random.Random(2), n)
    assert sorted(one) == sorted(other) and one != other  # the same needs, given to other households
    assert sum(kind == "emergency" for kind, _ in one) == math.floor(n * EMERGENCY_SHARE)
    average = sum(grant(kind, need) for kind, need in one) / n
    assert abs(average / REPORT_AVERAGE - 1) < Decimal("0.01")
