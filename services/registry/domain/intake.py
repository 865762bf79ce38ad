"""Partner reports as they arrive (a batch line, a topic event, an HTTP body): parse, validate, route.

Pure: a line is a dict of strings (an NDJSON object or a CSV row); the result
is a `DeathRecord`, a `HukouRecord`, a `PersonRecord` (batch files only: the
public security bureau's household-register roster), or a `LineError` naming
the field. Which
reports apply at once and which wait for review is decided by `needs_review`
from the policy row of the report's type and source (data, seeded by migration).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from services.registry.domain import hukou as hukou_rules
from shared import divisions, identity
from shared.inputs import unstorable

DEATH_SOURCES = ("hospital", "public_security", "funeral_home", "civil_affairs")
HUKOU_KINDS = ("move_in", "move_out", "transfer")
CSV_COLUMNS = (
    "type",
    "id_number",
    "name",
    "source",
    "reference",
    "date_of_death",
    "kind",
    "from_division",
    "to_division",
    "effective_date",
)
RELATIONS = ("head", "spouse", "child", "parent", "grandchild", "grandparent", "sibling", "other")
ROSTER_SOURCE = "public_security"  # who keeps the household register a roster line comes from
_TYPES = {"death": "death", "partner.death.reported": "death", "hukou": "hukou", "partner.hukou.changed": "hukou"}


class LineError(ValueError):
    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(slots=True)
class DeathRecord:
    id_number: str
    date_of_death: date
    source: str
    reference: str
    name: str | None = None
    type: str = "death"


@dataclass(slots=True)
class HukouRecord:
    id_number: str
    kind: str
    from_division: str | None
    to_division: str | None
    effective_date: date
    source: str
    reference: str
    name: str | None = None
    type: str = "hukou"


@dataclass(slots=True)
class PersonRecord:
    """A roster line: register the person (and put them in the household the partner's key names)."""

    id_number: str
    name: str
    hukou_division: str
    sex: str
    birth_date: date
    household: str | None = None  # the partner's household key: members with one key form one household
    relation: str | None = None  # relation to the head of that household
    reference: str | None = None
    source: str = ROSTER_SOURCE
    type: str = "person"


Record = DeathRecord | HukouRecord | PersonRecord


def _text(d: dict[str, Any], field: str, max_len: int, required: bool = True) -> str | None:
    v = d.get(field)
    if type(v) is str:  # the common case first, in a few C calls: every field of every line comes here
        s = v.strip()
        if s and len(s) <= max_len and not unstorable(s):
            return s
    if v is None or (isinstance(v, str) and not v.strip()):
        if required:
            raise LineError(field, "is required")
        return None
    if not isinstance(v, str):
        raise LineError(field, "must be a string")
    v = v.strip()
    if len(v) > max_len:
        raise LineError(field, f"is longer than {max_len} characters")
    if unstorable(v):  # PostgreSQL cannot store it: refused here, not by the database mid-chunk
        raise LineError(field, "must not contain NUL or an unpaired surrogate")
    return v


def _date(d: dict[str, Any], field: str) -> date:
    v = _text(d, field, 10)
    try:
        return date.fromisoformat(v or "")
    except ValueError:
        raise LineError(field, "must be a date YYYY-MM-DD") from None


def _division(d: dict[str, Any], field: str) -> str | None:
    v = _text(d, field, 12, required=False)
    if v is not None and not (v.isascii() and v.isdigit() and len(v) in (6, 9, 12)):
        raise LineError(field, "must be a 6, 9 or 12-digit division code")
    return v


def read(d: Any, *, today: date, roster: bool = False) -> Record | LineError:
    """`parse`, with a refusal returned rather than raised.

    A report that fails is a line of the report, not an exception. `roster`:
    registration lines (`"type": "person"`) are accepted too (batch files only;
    the partner topics carry reports of deaths and moves, never registrations).
    """
    try:
        if roster and isinstance(d, dict) and d.get("type") == "person":
            return parse_person(d, today=today)
        return parse(d, today=today)
    except LineError as exc:
        return exc


def parse_person(d: dict[str, Any], *, today: date) -> PersonRecord:
    """A roster line: the number, the name and the hukou division; sex checked against the number if given."""
    raw_id = _text(d, "id_number", 18)
    try:
        number = identity.parse(raw_id or "", today=today)
    except identity.InvalidIdNumber as exc:
        raise LineError("id_number", f"invalid identity number: {exc}") from None
    name = _text(d, "name", 100)
    assert name is not None
    division = _text(d, "hukou_division", 12)
    if not (division and divisions.is_known(division)):
        raise LineError("hukou_division", "must be a division code of the district (6, 9 or 12 digits)")
    sex = _text(d, "sex", 1, required=False)
    if sex is not None and sex != number.sex:
        raise LineError("sex", f"sex {sex} does not match the identity number ({number.sex})")
    household = _text(d, "household", 100, required=False)
    relation = _text(d, "relation", 20, required=False)
    if relation is not None and relation not in RELATIONS:
        raise LineError("relation", f"must be one of {', '.join(RELATIONS)}")
    if relation is not None and household is None:
        raise LineError("relation", "a relation needs the household it is a relation in")
    reference = _text(d, "reference", 100, required=False)
    return PersonRecord(
        number.value,
        name,
        division,
        number.sex,
        number.birth_date,
        household,
        (relation or "other") if household else None,
        reference,
    )


def parse(d: Any, *, today: date) -> Record:
    """One report from a dict of fields; a CloudEvent envelope is unwrapped (its `type`, its `data`)."""
    if not isinstance(d, dict):
        raise LineError("line", "must be a JSON object")
    if "specversion" in d and isinstance(d.get("data"), dict):
        d = {**d["data"], "type": d.get("type")}
    raw_type = d.get("type")
    if raw_type:
        kind = _TYPES.get(str(raw_type))
        if kind is None:
            raise LineError("type", "must be death or hukou")
    else:
        kind = "death" if d.get("date_of_death") else "hukou" if d.get("kind") else None
        if kind is None:
            raise LineError("type", "is required (death or hukou)")
    raw_id = _text(d, "id_number", 18)
    try:
        number = identity.parse(raw_id or "", today=today)
    except identity.InvalidIdNumber as exc:
        raise LineError("id_number", f"invalid identity number: {exc}") from None
    name = _text(d, "name", 100, required=False)
    reference = _text(d, "reference", 100)
    assert reference is not None
    if kind == "death":
        source = _text(d, "source", 30)
        if source not in DEATH_SOURCES:
            raise LineError("source", f"must be one of {', '.join(DEATH_SOURCES)}")
        died = _date(d, "date_of_death")
        if died > today:
            raise LineError("date_of_death", "date of death is in the future")
        if died < number.birth_date:
            raise LineError("date_of_death", "date of death is before the date of birth")
        return DeathRecord(number.value, died, source, reference, name)
    hukou_kind = _text(d, "kind", 20)
    if hukou_kind not in HUKOU_KINDS:
        raise LineError("kind", f"must be one of {', '.join(HUKOU_KINDS)}")
    from_division, to_division = _division(d, "from_division"), _division(d, "to_division")
    problem = hukou_rules.validate(hukou_kind, from_division, to_division)
    if problem:
        raise LineError(*problem)
    effective = _date(d, "effective_date")
    if effective > today:
        raise LineError("effective_date", "the change takes effect in the future")
    source = _text(d, "source", 30, required=False) or "public_security"
    return HukouRecord(number.value, hukou_kind, from_division, to_division, effective, source, reference, name)


def needs_review(action: str | None, death_on_file: bool) -> bool:
    """Whether a report waits for staff under its policy (no policy row: it waits)."""
    if action == "apply":
        return False
    if action == "review_first":
        return not death_on_file
    return True


def review_division(candidate_division: str | None, record: Record) -> str:
    """Who reviews a parked report: the candidate's division, else the district end of a move, else the district."""
    if candidate_division:
        return candidate_division
    if isinstance(record, HukouRecord):
        for code in (record.to_division, record.from_division):
            if code and divisions.is_known(code):
                return code
    return divisions.DISTRICT
