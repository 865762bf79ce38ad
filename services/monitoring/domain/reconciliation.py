"""Reconciliation (对账): what a record should say of a benefit, given what the owning service holds now.

Events can be lost (a consumer's offset skipped, a database restored from an
older backup, a bug fixed after the fact). Assistance and eldercare keep the
truth of their cases and allowances; monitoring's record is a copy built
from their events. Reconciliation reads the owners' current state and
compares it, benefit by benefit, with the copy: `plan` is the pure part,
returning one `Repair` for each benefit whose copy differs, and nothing for
a benefit in step, so running it twice repairs nothing the second time.

A record holds a benefit as the events left it: `active` while it pays
(a case in gradual exit still pays), `suspended` when stopped because of a
death (whether the owner suspended or terminated it), otherwise the owner's
own status (`suspended`, `terminated`, `stopped`). `expected_status` is that
mapping, the same one the event fold applies.

The registry owns the person: alive or deceased (with the date), the
household registration's division and whether it is in the district. A
record's status is `deceased`, else `active` in the district or
`moved_away` out of it (the fold of the registry's events); `plan_persons`
compares that with the registry's snapshot and returns one `Repair` of the
pseudo-program `PERSON` per record that differs.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

PAYING = frozenset({"active", "gradual_exit"})
ABSENT = "terminated"  # what a record says of a benefit its owner does not hold at all
PERSON = "person"  # the `program` of a repair of the person (status, death, registration), not of a benefit


@dataclass(frozen=True)
class Held:
    """One benefit as its owning service holds it now."""

    person_id: uuid.UUID
    id_number: str
    hukou_division: str
    program: str
    status: str
    monthly_amount: Decimal
    reason: str | None = None


@dataclass(frozen=True)
class Copy:
    """What a monitoring record says of a person's benefits."""

    programs: dict[str, str]
    amounts: dict[str, str]


@dataclass(frozen=True)
class Repair:
    person_id: uuid.UUID
    id_number: str
    hukou_division: str
    program: str
    source: str
    before: dict[str, Any]  # a benefit's status and amount, or the person's state (`PERSON`)
    after: dict[str, Any]
    new_record: bool = False


@dataclass(frozen=True)
class PersonHeld:
    """A person as the registry holds them now (its snapshot), or as a record says (the copy)."""

    person_id: uuid.UUID
    status: str  # the registry's alive | deceased; a record's active | deceased | moved_away
    date_of_death: date | None
    hukou_division: str
    in_district: bool


def expected_person(held: PersonHeld) -> dict[str, Any]:
    """What a record should say of the person the registry holds so."""
    status = "deceased" if held.status == "deceased" else "active" if held.in_district else "moved_away"
    return _person_state(held, status)


def _person_state(p: PersonHeld, status: str) -> dict[str, Any]:
    dod = p.date_of_death.isoformat() if p.date_of_death else None
    return {"status": status, "date_of_death": dod, "hukou_division": p.hukou_division, "in_district": p.in_district}


def plan_persons(copies: dict[uuid.UUID, PersonHeld], held: list[PersonHeld]) -> list[Repair]:
    """Every record whose person the registry holds otherwise; a person the registry does not answer is left alone.

    The registry answers only the persons of the caller's division it knows: one it leaves out (moved to
    another town, say) is not evidence of anything, so its record is not touched.
    """
    repairs: list[Repair] = []
    for h in sorted(held, key=lambda x: x.person_id):
        copy = copies.get(h.person_id)
        if copy is None:
            continue
        want, have = expected_person(h), _person_state(copy, copy.status)
        if want != have:
            repairs.append(Repair(h.person_id, "", h.hukou_division, PERSON, "registry", have, want))
    return repairs


def expected_status(held: Held) -> str:
    if held.status in PAYING:
        return "active"
    if held.reason == "death":
        return "suspended"
    return held.status


def _state(status: str | None, amount: str | None) -> dict[str, str | None]:
    return {"status": status, "monthly_amount": amount if status == "active" else None}


def plan(copies: dict[uuid.UUID, Copy], held: list[Held], owned: frozenset[str], source: str) -> list[Repair]:
    """Every benefit of `source` (programs `owned`) whose copy differs from what the source holds.

    `copies` are the records in the reconciled scope (person id -> copy); a
    person held by the source but without a record gets one (`new_record`).
    A benefit the copy calls active that the source does not hold at all is
    repaired to `terminated`. Where a person holds several cases of one
    program (an old terminated one, a new active one) the paying one wins.
    """
    by_person: dict[uuid.UUID, dict[str, Held]] = {}
    for h in held:
        current = by_person.setdefault(h.person_id, {}).get(h.program)
        if current is None or (h.status in PAYING and current.status not in PAYING):
            by_person[h.person_id][h.program] = h
    repairs: list[Repair] = []
    for person_id, benefits in sorted(by_person.items()):
        copy = copies.get(person_id)
        for program, h in sorted(benefits.items()):
            want = _state(expected_status(h), f"{h.monthly_amount:.2f}")
            have = _state(copy.programs.get(program), copy.amounts.get(program)) if copy else _state(None, None)
            if want != have:
                repairs.append(Repair(person_id, h.id_number, h.hukou_division, program, source, have,
                                      {k: v for k, v in want.items() if v is not None}, copy is None))  # fmt: skip
    for person_id, copy in sorted(copies.items()):
        for program in sorted(set(copy.programs) & owned):
            if program in by_person.get(person_id, {}) or copy.programs[program] != "active":
                continue
            before = _state("active", copy.amounts.get(program))
            repairs.append(Repair(person_id, "", "", program, source, before, {"status": ABSENT}))
    return repairs
