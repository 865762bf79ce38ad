"""Household registration (户籍) changes: which one is current is decided by effective date.

Reports arrive out of order (a move-out before the move-in it follows); the
person's registration is the destination of the change with the latest
effective date, ties broken by arrival.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shared import divisions


@dataclass(frozen=True)
class Change:
    kind: str
    from_division: str | None
    to_division: str | None
    effective_date: date
    seq: int


@dataclass(frozen=True)
class Residence:
    hukou_division: str
    in_district: bool


def in_district(code: str | None) -> bool:
    return bool(code) and divisions.is_known(code or "")


def event_type(kind: str) -> str:
    return {
        "move_in": "registry.hukou.moved-in",
        "move_out": "registry.hukou.moved-out",
        "transfer": "registry.hukou.transferred",
    }[kind]


def validate(kind: str, from_division: str | None, to_division: str | None) -> tuple[str, str] | None:
    """(field, reason) when the change is not coherent, else None."""
    if kind == "move_in" and not in_district(to_division):
        return "to_division", "a move-in must end in a division of the district"
    if kind == "move_out" and in_district(to_division):
        return "to_division", "a move-out leaves the district; use transfer for a move inside it"
    if kind == "move_out" and not in_district(from_division):
        return "from_division", "a move-out must start in a division of the district"
    if kind == "transfer" and not (in_district(from_division) and in_district(to_division)):
        return "to_division", "a transfer moves between two divisions of the district"
    return None


def current(changes: list[Change], registered_division: str) -> Residence:
    """The residence after all changes, ordered by effective date, then arrival."""
    if not changes:
        return Residence(registered_division, in_district(registered_division))
    last = max(changes, key=lambda c: (c.effective_date, c.seq))
    if last.kind == "move_out":
        # Keep the last division in the district, so its staff still see the person's history.
        return Residence(last.from_division or registered_division, False)
    return Residence(last.to_division or registered_division, True)
