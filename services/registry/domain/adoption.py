"""Adoption rules (收养登记, Civil Code Arts 1093-1105).

The child is a minor (under 18) and alive; each adopter is alive and at least
30; two adopters must be married to each other (Art 1101); a single adopter
of the other sex is at least 40 years older than the child (Art 1102).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.registry.domain.marriage import Refusal, age_on

ADOPTER_MIN_AGE = 30
CHILD_MAX_AGE = 17
SINGLE_OPPOSITE_SEX_GAP = 40


@dataclass(frozen=True)
class Person:
    field: str
    sex: str
    birth_date: date
    alive: bool


def check_adoption(
    child: Person, adopters: list[Person], married_to_each_other: bool, registered_on: date, today: date
) -> Refusal | None:
    if registered_on > today:
        return Refusal("registered_on", "the registration date is in the future")
    if not child.alive:
        return Refusal(child.field, "the child is recorded as deceased")
    if age_on(child.birth_date, registered_on) > CHILD_MAX_AGE:
        return Refusal(child.field, "only a minor (under 18) may be adopted (Civil Code Art 1093)")
    for a in adopters:
        if not a.alive:
            return Refusal(a.field, "this adopter is recorded as deceased")
        if age_on(a.birth_date, registered_on) < ADOPTER_MIN_AGE:
            return Refusal(a.field, f"an adopter must be at least {ADOPTER_MIN_AGE} (Civil Code Art 1098)")
    if len(adopters) == 2 and not married_to_each_other:
        return Refusal("adopters", "two adopters must be married to each other (Civil Code Art 1101)")
    if len(adopters) == 1 and adopters[0].sex != child.sex:
        gap = age_on(adopters[0].birth_date, child.birth_date) if adopters[0].birth_date <= child.birth_date else 0
        if gap < SINGLE_OPPOSITE_SEX_GAP:
            return Refusal(
                adopters[0].field,
                f"a single adopter of the other sex must be at least {SINGLE_OPPOSITE_SEX_GAP} years older"
                " than the child (Civil Code Art 1102)",
            )
    return None
