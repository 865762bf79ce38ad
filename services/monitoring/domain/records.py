"""A record's categories (分层) and markers, from the programs in force and the lists staff imported.

RULES.md §4.4 names six categories: 低保对象 (dibao), 特困人员 (tekun),
防止返贫监测对象 (anti_poverty_monitoring), 低保边缘家庭成员 (marginal),
刚性支出困难家庭成员 (rigid_expense) and 其他困难人员 (other_low_income).
A marginal or rigid-expense family is by definition not on dibao or tekun
(§4.1, §4.2), so those list categories give way once either is in force.
Markers cut across the categories: orphan, disability, guaranteed_elder (an
elder of 60 or more whose living dibao or tekun guarantees).
"""

from __future__ import annotations

from datetime import date

GUARANTEED = ("dibao", "tekun")
LISTS = ("anti_poverty_monitoring", "marginal", "rigid_expense")
NOT_GUARANTEED_LISTS = frozenset({"marginal", "rigid_expense"})
OTHER_LOW_INCOME_PROGRAMS = frozenset(
    {"temporary", "orphan", "de_facto_orphan", "disability_living", "disability_care"}
)
MARKER_OF_PROGRAM = {
    "orphan": "orphan",
    "de_facto_orphan": "orphan",
    "disability_living": "disability",
    "disability_care": "disability",
}
ELDER_AGE = 60


def active(programs: dict[str, str]) -> set[str]:
    return {p for p, s in programs.items() if s == "active"}


def categories(programs: dict[str, str], listed: list[str], marginal_by_income: bool = False) -> list[str]:
    """The person's categories: guaranteed programs first, then lists, then 'other' when nothing else applies.

    A household whose per-capita income lies from the dibao standard up to the marginal multiplier of it is a
    marginal family by its income (`marginal_by_income`), listed or not.
    """
    in_force = active(programs)
    found = {p for p in GUARANTEED if p in in_force}
    found |= {
        c
        for c in [*listed, *(["marginal"] if marginal_by_income else [])]
        if c not in NOT_GUARANTEED_LISTS or not found
    }
    if not found and in_force & OTHER_LOW_INCOME_PROGRAMS:
        found.add("other_low_income")
    return sorted(found)


def markers(programs: dict[str, str], birth_date: date | None, today: date) -> list[str]:
    in_force = active(programs)
    found = {MARKER_OF_PROGRAM[p] for p in in_force if p in MARKER_OF_PROGRAM}
    if birth_date is not None and in_force & set(GUARANTEED):
        age = today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))
        if age >= ELDER_AGE:
            found.add("guaranteed_elder")
    return sorted(found)
