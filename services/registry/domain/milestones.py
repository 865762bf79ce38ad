"""Ages the bureau acts on (16, 18, 60, 70, 80, 90, 100): when a person reaches one.

16 and 18: the child thresholds of extreme-poverty support (特困) and orphan
allowances; 60: the elder threshold of 特困 and eldercare; 80, 90, 100: the
old-age allowance (高龄津贴) brackets. Each age is recorded once per person;
when a run finds several ages newly reached (a person registered late, or a
missed run), all are recorded and only the highest is published, so
downstream never acts on a threshold the person has long passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shared.clock import birthday

AGES: tuple[int, ...] = (16, 18, 60, 70, 80, 90, 100)


@dataclass(frozen=True)
class Due:
    reached: list[tuple[int, date]]  # every newly reached age and the day it was reached
    publish: tuple[int, date] | None  # the one to announce


def due(birth_date: date, as_of: date, already: set[int]) -> Due:
    reached = [
        (age, birthday(birth_date, age)) for age in AGES if age not in already and birthday(birth_date, age) <= as_of
    ]
    return Due(reached, reached[-1] if reached else None)
