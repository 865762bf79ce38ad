"""Marriage, divorce and certificate reissue rules a registrar applies (婚姻登记).

Civil Code Arts 1046-1051: both parties consent (they appear in person, not
modelled here), a man and a woman, the man at least 22 and the woman at least
20 on the day of registration, neither already married. Registration is at
the office of either party's household registration; within the city any
district's office may register (跨区通办), so the office must be a division
of the city (芜湖市, 3402). A divorce ends an existing marriage only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

LEGAL_AGE = {"M": 22, "F": 20}  # Civil Code Art 1047
CITY_PREFIX = "3402"  # 芜湖市: registration across districts of the city


@dataclass(frozen=True)
class Party:
    field: str  # the request field naming this party, for the problem response
    sex: str
    birth_date: date
    alive: bool
    marital_status: str  # unmarried | married | divorced | widowed


@dataclass(frozen=True)
class Refusal:
    field: str
    reason: str


def age_on(birth_date: date, on: date) -> int:
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def check_marriage(a: Party, b: Party, registered_on: date, office_division: str, today: date) -> Refusal | None:
    """The first reason the registration must be refused, or None."""
    if registered_on > today:
        return Refusal("registered_on", "the registration date is in the future")
    if not office_division.startswith(CITY_PREFIX) or len(office_division) not in (6, 9, 12):
        return Refusal(
            "registration_division", f"{office_division} is not a registration office of the city ({CITY_PREFIX})"
        )
    for p in (a, b):
        if not p.alive:
            return Refusal(p.field, "this party is recorded as deceased")
    if a.sex == b.sex:
        return Refusal("party_b", "a marriage is registered between a man and a woman (Civil Code Art 1046)")
    for p in (a, b):
        minimum = LEGAL_AGE[p.sex]
        if age_on(p.birth_date, registered_on) < minimum:
            who = "a man" if p.sex == "M" else "a woman"
            return Refusal(
                p.field, f"below the legal age of marriage: {who} must be at least {minimum} (Civil Code Art 1047)"
            )
    for p in (a, b):
        if p.marital_status == "married":
            return Refusal(p.field, "this party is already married")
    return None


def check_divorce(status: str, registered_on: date, divorced_on: date, today: date) -> Refusal | None:
    if status != "married":
        return Refusal("marriage_id", f"the marriage is {status}, not in force")
    if divorced_on > today:
        return Refusal("divorced_on", "the divorce date is in the future")
    if divorced_on < registered_on:
        return Refusal("divorced_on", "the divorce date is before the marriage was registered")
    return None


def check_reissue(kind: str, status: str) -> Refusal | None:
    if kind == "divorce" and status != "divorced":
        return Refusal("kind", "no divorce is registered for this marriage")
    if kind == "marriage" and status != "married":
        return Refusal("kind", "the marriage is no longer in force; a marriage certificate is not reissued")
    return None
