"""Partner reports of deaths and household-registration changes: one path for every channel.

HTTP, the partner topics, batch files, review resolutions and late
registrations all come through `Intake.run()`, which takes many reports at
once (a batch chunk) or one (an HTTP call, a topic event): it loads what the
reports touch in a few queries, decides each report in order with the pure
rules (domain/deaths.py, domain/hukou.py, domain/matching.py,
domain/intake.py), and writes the effects and their events in bulk, all in
the caller's transaction.

Each report ends as one of:
- accepted: applied (recorded, confirmed, corroborated, conflict, moved) or
  kept for review (review, pending: the person is not registered yet);
- duplicate: the same source and reference were received before; no effect;
- rejected: with the field and the reason; nothing written for it.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import Boolean, Date, String, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.domain import deaths as death_rules
from services.registry.domain import hukou as hukou_rules
from services.registry.domain import intake as rules
from services.registry.domain import matching
from services.registry.domain.intake import DeathRecord, HukouRecord, LineError, PersonRecord, Record
from services.registry.models import (
    Death,
    DeathReport,
    Household,
    HouseholdMember,
    IntakePolicy,
    Person,
    ReviewItem,
)
from services.registry.usecases import line_events
from services.registry.usecases.common import copy_rows
from services.registry.usecases.line_events import LineEvent
from shared import clock, divisions
from shared import event_types as ev
from shared.db import new_id, scope_of, utcnow
from shared.events import publish_many
from shared.problems import DomainError, Invalid, NotFound

_PROBLEMS: dict[str, type[DomainError]] = {"invalid": Invalid, "not_found": NotFound}
_PROVISIONAL_SEQ = 1 << 62  # arrival order of changes not yet inserted: after every stored one

# A chunk touches up to a thousand persons and keys: looked up and written with
# arrays (`= ANY`, `unnest`), one statement each, never a statement per row or
# an IN list of a thousand parameters for the server to plan.
_DEATH_KEYS = text(
    "SELECT source, reference FROM death_reports JOIN unnest(:sources, :refs) AS k(source, reference)"
    " USING (source, reference)"
)
# A review item holds a hukou report's key too (district-wide: what it finds is only compared, never answered).
_HUKOU_KEYS = text(
    "SELECT source, reference FROM hukou_changes JOIN unnest(:sources, :refs) AS k(source, reference)"
    " USING (source, reference) UNION SELECT source, reference FROM review_items"
    " JOIN unnest(:sources, :refs) AS k(source, reference) USING (source, reference) WHERE kind = 'hukou'"
)
_UPDATE_PERSONS = text(
    "UPDATE persons p SET status = u.status, date_of_death = u.date_of_death, hukou_division = u.hukou_division,"
    " in_district = u.in_district, updated_at = now()"
    " FROM unnest(:ids, :statuses, :deaths, :divisions, :in_district)"
    " AS u(id, status, date_of_death, hukou_division, in_district) WHERE p.id = u.id"
).bindparams(
    bindparam("ids", type_=ARRAY(PG_UUID(as_uuid=True))),
    bindparam("statuses", type_=ARRAY(String)),
    bindparam("deaths", type_=ARRAY(Date)),
    bindparam("divisions", type_=ARRAY(String)),
    bindparam("in_district", type_=ARRAY(Boolean)),
)


_DEATH_COLUMNS = ("id", "person_id", "date_of_death", "status", "confirmed_at", "confirmed_by")
# What a chunk's reports read, by the driver itself: tens of thousands of rows a chunk, and
# SQLAlchemy's result processing of each row cost more than PostgreSQL's reading it. District-wide
# lookups (`_out_of_scope` judges each report against the person found); locked in id order.
_PERSONS = (  # the columns of _PersonRow, in its order
    "SELECT id, id_number, name, birth_date, registered_division, hukou_division, in_district, status,"
    " date_of_death FROM persons WHERE id_number = ANY($1::text[]) ORDER BY id FOR UPDATE"
)
_DEATHS = f"SELECT {', '.join(_DEATH_COLUMNS)} FROM deaths WHERE person_id = ANY($1::uuid[]) ORDER BY id FOR UPDATE"  # noqa: S608
_DEATH_REPORTS = "SELECT death_id, source, reference, date_of_death FROM death_reports WHERE death_id = ANY($1::uuid[])"
_HUKOU_HISTORY = (
    "SELECT person_id, kind, from_division, to_division, effective_date, seq FROM hukou_changes"
    " WHERE person_id = ANY($1::uuid[])"
)


async def _fetch(session: AsyncSession, sql: str, *args: Any) -> list[Any]:
    """Rows of a query run by the driver on the session's connection (in its transaction): plain records.

    The session's pending ORM changes are flushed first, as SQLAlchemy's own execute would (autoflush).
    """
    await session.flush()
    raw = await (await session.connection()).get_raw_connection()
    return await raw.driver_connection.fetch(sql, *args)  # type: ignore[union-attr]


_UPDATE_DEATHS = text(
    "UPDATE deaths d SET date_of_death = u.date_of_death, status = u.status, confirmed_at = u.confirmed_at,"
    " confirmed_by = u.confirmed_by"
    " FROM unnest(CAST(:ids AS uuid[]), CAST(:dates AS date[]), CAST(:statuses AS text[]),"
    " CAST(:confirmed_at AS timestamptz[]), CAST(:confirmed_by AS text[]))"
    " AS u(id, date_of_death, status, confirmed_at, confirmed_by) WHERE d.id = u.id"
)


async def _update_deaths(session: AsyncSession, changed: list[_DeathRow]) -> None:
    """Deaths on file that the chunk's reports changed (confirmed, in conflict, recorded again), in one UPDATE."""
    if not changed:
        return
    params = {
        "ids": [d.id for d in changed],
        "dates": [d.date_of_death for d in changed],
        "statuses": [d.status for d in changed],
        "confirmed_at": [d.confirmed_at for d in changed],
        "confirmed_by": [d.confirmed_by for d in changed],
    }
    await session.execute(_UPDATE_DEATHS, params)


_HOUSEHOLDS = text("SELECT id, hukou_division, head_person_id, status FROM households WHERE id = ANY(:ids)").bindparams(
    bindparam("ids", type_=ARRAY(PG_UUID(as_uuid=True)))
)
_HOUSEHOLD_MEMBERS = text(
    "SELECT household_id, person_id, relation FROM household_members WHERE household_id = ANY(:ids)"
).bindparams(bindparam("ids", type_=ARRAY(PG_UUID(as_uuid=True))))
_SET_HEADS = text(
    "UPDATE households h SET head_person_id = u.head FROM unnest(:ids, :heads) AS u(id, head) WHERE h.id = u.id"
).bindparams(
    bindparam("ids", type_=ARRAY(PG_UUID(as_uuid=True))), bindparam("heads", type_=ARRAY(PG_UUID(as_uuid=True)))
)
# The partner's household key names one registry household, in every batch that repeats it.
_HOUSEHOLD_KEYS = uuid.UUID("5d0c6a5e-2f7b-4c1e-9a51-7f3c2b8e4d10")


def _snapshot(members: dict[uuid.UUID, str]) -> list[ev.HouseholdMember]:
    """Members as a household event lists them: the head first, then by id (as usecases/households.py does)."""
    ordered = sorted(members.items(), key=lambda kv: (kv[1] != "head", str(kv[0])))
    return [ev.HouseholdMember(person_id=pid, relation=rel) for pid, rel in ordered]


@functools.lru_cache(maxsize=1 << 16)  # a roster names each key up to a few times a chunk; uuid5 hashes with SHA-1
def household_id_of(key: str) -> uuid.UUID:
    """The registry household a roster's household key stands for (derived, so no table maps keys)."""
    return uuid.uuid5(_HOUSEHOLD_KEYS, f"{rules.ROSTER_SOURCE}:{key}")


async def _known_keys(session: AsyncSession, query: Any, keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of these (source, reference) keys are already on file."""
    stmt = query.bindparams(bindparam("sources", type_=ARRAY(String)), bindparam("refs", type_=ARRAY(String)))
    found = await session.execute(stmt, {"sources": [k[0] for k in keys], "refs": [k[1] for k in keys]})
    return {(source, reference) for source, reference in found.all()}


def _unknown_to(r: Record) -> LineOutcome:
    """The answer to a report about someone outside the caller's division: the one an unknown person gets."""
    return LineOutcome(
        "rejected",
        field="id_number",
        reason="no such person in your division",
        problem="not_found",
        record_type=r.type,
        reference=r.reference,
    )


REPORTED_BY = "reported_by"  # a parked report keeps the division of whoever sent it (payload key)
OUT_OF_DIVISION = "out_of_division"  # review reason: the sender does not cover where the person was registered
KEPT = "kept for review by the division the person is registered in"  # all a sender from elsewhere is told


def reported_by(review: ReviewItem) -> str:
    """The division that sent a parked report; reports kept before it was recorded count as the district's."""
    return str(review.payload.get(REPORTED_BY) or divisions.DISTRICT)


@dataclass(slots=True)
class Item:
    record: Record | LineError
    person: Person | None = None  # given by a review resolution or a registration
    checks: bool = True  # name match and policy; a registrar's match skips them
    report_row: DeathReport | None = None  # a death report already stored (parked), to apply now
    review: ReviewItem | None = None  # the review item this report waits in


@dataclass(slots=True)
class LineOutcome:
    status: str  # accepted | duplicate | rejected
    outcome: str | None = None
    field: str | None = None
    reason: str | None = None
    problem: str | None = None  # invalid | not_found, when rejected
    person_id: uuid.UUID | None = None
    record_id: uuid.UUID | None = None  # the death report or the hukou change
    review_id: uuid.UUID | None = None
    death_id: uuid.UUID | None = None
    record_type: str | None = None
    reference: str | None = None

    def raise_if_rejected(self) -> None:
        if self.status == "rejected":
            raise _PROBLEMS[self.problem or "invalid"](self.reason or "rejected", field=self.field)


def payload_of(record: Record) -> dict[str, Any]:
    if isinstance(record, DeathRecord):
        return {
            "type": "death",
            "id_number": record.id_number,
            "name": record.name,
            "source": record.source,
            "reference": record.reference,
            "date_of_death": record.date_of_death.isoformat(),
        }
    return {
        "type": "hukou",
        "id_number": record.id_number,
        "name": record.name,
        "source": record.source,
        "reference": record.reference,
        "kind": record.kind,
        "from_division": record.from_division,
        "to_division": record.to_division,
        "effective_date": record.effective_date.isoformat(),
    }


@dataclass(slots=True)
class _PersonRow:
    """The fields of a person a report reads and changes."""

    id: uuid.UUID
    id_number: str
    name: str
    birth_date: date
    registered_division: str
    hukou_division: str
    in_district: bool
    status: str
    date_of_death: date | None
    changed: bool = False


def _touch(person: Any) -> None:
    if isinstance(person, _PersonRow):
        person.changed = True


@dataclass(slots=True)
class _DeathRow:
    """A person's death as a report reads and changes it: on file (`new` False) or first recorded in this chunk.

    Plain values, not an ORM object: a chunk confirms thousands of deaths, and
    the ORM wrote each change with an UPDATE of its own; changed rows are
    written with one statement, new ones with one COPY.
    """

    id: uuid.UUID
    person_id: uuid.UUID
    date_of_death: date
    status: str
    confirmed_at: datetime | None = None
    confirmed_by: str | None = None
    new: bool = True
    changed: bool = False

    def row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "person_id": self.person_id,
            "date_of_death": self.date_of_death,
            "status": self.status,
            "confirmed_at": self.confirmed_at,
            "confirmed_by": self.confirmed_by,
        }


@dataclass(slots=True)
class _HouseholdState:
    """A household a roster chunk adds members to: as found (or new) and as it will be."""

    id: uuid.UUID
    hukou_division: str
    head_person_id: uuid.UUID | None
    status: str
    new: bool
    before: dict[uuid.UUID, str] = field(default_factory=dict)
    after: dict[uuid.UUID, str] = field(default_factory=dict)


# The rows a chunk appends most of are plain tuples (no dict per row), copied with these columns.
Row = tuple[Any, ...]
_REPORT_COLUMNS = (
    "id",
    "death_id",
    "id_number",
    "name",
    "date_of_death",
    "source",
    "reference",
    "channel",
    "outcome",
    "explanation",
)
_CHANGE_COLUMNS = (
    "id",
    "person_id",
    "kind",
    "from_division",
    "to_division",
    "effective_date",
    "source",
    "reference",
    "channel",
)
_HISTORY_COLUMNS = ("person_id", "kind", "occurred_on", "summary", "ref_id")


async def copy_records(session: AsyncSession, table: str, columns: tuple[str, ...], rows: list[Row]) -> None:
    """Append rows given as tuples in `columns` order with one COPY in the session's transaction."""
    if not rows:
        return
    raw = await (await session.connection()).get_raw_connection()
    await raw.driver_connection.copy_records_to_table(table, columns=columns, records=rows)  # type: ignore[union-attr]


@dataclass
class _Writes:
    persons: list[dict[str, Any]] = field(default_factory=list)  # registered by roster lines
    memberships: list[dict[str, Any]] = field(default_factory=list)
    deaths: list[_DeathRow] = field(default_factory=list)  # first recorded in this chunk
    reports: list[Row] = field(default_factory=list)  # _REPORT_COLUMNS
    changes: list[Row] = field(default_factory=list)  # _CHANGE_COLUMNS
    reviews: list[dict[str, Any]] = field(default_factory=list)
    history: list[Row] = field(default_factory=list)  # _HISTORY_COLUMNS
    line_events: list[LineEvent] = field(default_factory=list)  # the reports' events, in order (built by SQL)
    events: list[Any] = field(default_factory=list)  # payloads of household changes, after the reports' events


class Intake:
    """Applies partner reports; one instance per transaction (it caches the policy table)."""

    def __init__(self, session: AsyncSession, *, channel: str, scope: str | None = None, today: date | None = None):
        self.session = session
        self.channel = channel
        self.scope = scope if scope is not None else scope_of(session)
        self.today = today or clock.today()
        self._policies: dict[tuple[str, str], str] | None = None

    async def policies(self) -> dict[tuple[str, str], str]:
        if self._policies is None:
            rows = (
                await self.session.execute(select(IntakePolicy.report_type, IntakePolicy.source, IntakePolicy.action))
            ).all()
            self._policies = {(t, s): a for t, s, a in rows}
        return self._policies

    async def run(self, items: list[Item]) -> list[LineOutcome]:
        s = self.session
        policies = await self.policies()
        records = [it.record for it in items if not isinstance(it.record, LineError)]
        fresh = [
            it.record
            for it in items
            if isinstance(it.record, DeathRecord | HukouRecord) and it.report_row is None and it.review is None
        ]
        seen = {"death": set(), "hukou": set()}  # type: dict[str, set[tuple[str, str]]]
        death_keys = {(r.source, r.reference) for r in fresh if isinstance(r, DeathRecord)}
        hukou_keys = {(r.source, r.reference) for r in fresh if isinstance(r, HukouRecord)}
        if death_keys:
            seen["death"] |= await _known_keys(s, _DEATH_KEYS, death_keys)
        if hukou_keys:
            seen["hukou"] |= await _known_keys(s, _HUKOU_KEYS, hukou_keys)

        persons: dict[str, Any] = {}
        numbers = {r.id_number for r in records}
        if numbers:
            # Plain rows, not ORM objects: a chunk touches a thousand people and the ORM's
            # per-object bookkeeping would cost more than the work; changes are written in one statement.
            persons = {row[1]: _PersonRow(*row) for row in await _fetch(s, _PERSONS, list(numbers))}
        by_id: dict[uuid.UUID, Any] = {p.id: p for p in persons.values()}
        for it in items:  # a person given by a resolution or registration: their ORM object
            if it.person is not None:
                by_id[it.person.id] = it.person
                persons[it.person.id_number] = it.person
        death_pids = [pid for pid in by_id]
        deaths: dict[uuid.UUID, _DeathRow] = {}
        prior: dict[uuid.UUID, list[death_rules.Report]] = {}
        if death_pids and any(isinstance(r, DeathRecord) for r in records):
            for row in await _fetch(s, _DEATHS, death_pids):
                d = _DeathRow(*row, new=False)
                deaths[d.person_id] = d
                prior[d.id] = []
            if prior:
                for did, src, refno, dod in await _fetch(s, _DEATH_REPORTS, list(prior)):
                    prior[did].append(death_rules.Report(src, refno, dod))
        hukou_hist: dict[uuid.UUID, list[hukou_rules.Change]] = {}
        if death_pids and any(isinstance(r, HukouRecord) for r in records):
            for pid in death_pids:
                hukou_hist[pid] = []
            for pid, kind, frm, to, eff, seq in await _fetch(s, _HUKOU_HISTORY, death_pids):
                hukou_hist[pid].append(hukou_rules.Change(kind, frm, to, eff, seq))

        households = await self._households({r.household for r in records if isinstance(r, PersonRecord)})

        w = _Writes()
        out: list[LineOutcome] = []
        provisional = _PROVISIONAL_SEQ
        for it in items:
            r = it.record
            if isinstance(r, LineError):
                out.append(LineOutcome("rejected", field=r.field, reason=r.reason, problem="invalid"))
                continue
            if isinstance(r, PersonRecord):
                out.append(self._register(w, r, persons, by_id, households))
                continue
            person = it.person or persons.get(r.id_number)
            refusal = self._out_of_scope(r, person)  # first: a repeat from elsewhere learns no more than a new report
            if refusal is not None:
                out.append(refusal)
                continue
            key = (r.source, r.reference)
            if it.report_row is None and it.review is None:
                if key in seen[r.type]:
                    out.append(
                        LineOutcome(
                            "duplicate",
                            "duplicate",
                            reason="the same report (source and reference) was received before",
                            record_type=r.type,
                            reference=r.reference,
                        )
                    )
                    continue
                seen[r.type].add(key)
            if person is None:
                out.append(self._park(w, it, r, None, matching.UNKNOWN, "unknown_person"))
                continue
            if isinstance(r, DeathRecord) and r.date_of_death < person.birth_date:
                out.append(
                    LineOutcome(
                        "rejected",
                        field="date_of_death",
                        reason="date of death is before the date of birth",
                        problem="invalid",
                        record_type=r.type,
                        reference=r.reference,
                    )
                )
                continue
            if it.checks and (kept := self._sent_from_elsewhere(w, it, r, person)) is not None:
                out.append(kept)
                continue
            if it.checks:
                m = matching.name_confidence(r.name, person.name)
                if not m.matches:
                    out.append(self._park(w, it, r, person, m, "name_mismatch"))
                    continue
                death = deaths.get(person.id)
                on_file = death is not None and death.status != "revoked"
                action = policies.get((r.type, r.source))
                if rules.needs_review(action, on_file):
                    why = f"policy for {r.type} reports from {r.source}: {action or 'no policy, so it waits'}" + (
                        "" if on_file else "; no death on file yet"
                    )
                    out.append(self._park(w, it, r, person, matching.Match(m.confidence, False, why), "policy"))
                    continue
            if isinstance(r, DeathRecord):
                out.append(self._apply_death(w, it, r, person, deaths, prior))
            else:
                provisional += 1
                out.append(self._apply_hukou(w, r, person, hukou_hist.setdefault(person.id, []), provisional))

        await self._write_registrations(w, households)
        changed = [p for p in by_id.values() if isinstance(p, _PersonRow) and p.changed]
        if changed:
            await s.execute(
                _UPDATE_PERSONS,
                {
                    "ids": [p.id for p in changed],
                    "statuses": [p.status for p in changed],
                    "deaths": [p.date_of_death for p in changed],
                    "divisions": [p.hukou_division for p in changed],
                    "in_district": [p.in_district for p in changed],
                },
            )
        await copy_rows(s, Death.__table__, [d.row() for d in w.deaths])  # type: ignore[arg-type]  # before the reports that refer to them
        await _update_deaths(s, [d for d in deaths.values() if d.changed and not d.new])
        await s.flush()  # ORM objects: parked reports, review items, deaths already on file
        await copy_rows(s, ReviewItem.__table__, w.reviews)  # type: ignore[arg-type]
        await copy_records(s, "death_reports", _REPORT_COLUMNS, w.reports)
        await copy_records(s, "hukou_changes", _CHANGE_COLUMNS, w.changes)
        await copy_records(s, "person_events", _HISTORY_COLUMNS, w.history)
        await line_events.write(s, w.line_events)
        await publish_many(s, w.events)
        return out

    # -- roster registrations -------------------------------------------------------

    async def _households(self, keys: set[str | None]) -> dict[str, _HouseholdState]:
        """The households a chunk's roster lines name, as on file (district-wide: compared, never answered)."""
        ids = {household_id_of(k): k for k in keys if k}
        if not ids:
            return {}
        found: dict[str, _HouseholdState] = {}
        rows = await self.session.execute(_HOUSEHOLDS, {"ids": list(ids)})
        for hid, division, head, status in rows.all():
            found[ids[hid]] = _HouseholdState(hid, division, head, status, new=False)
        if found:
            members = await self.session.execute(_HOUSEHOLD_MEMBERS, {"ids": [h.id for h in found.values()]})
            by_id = {h.id: h for h in found.values()}
            for hid, pid, relation in members.all():
                by_id[hid].before[pid] = relation
                by_id[hid].after[pid] = relation
        return found

    def _register(
        self,
        w: _Writes,
        r: PersonRecord,
        persons: dict[str, Any],
        by_id: dict[uuid.UUID, Any],
        households: dict[str, _HouseholdState],
    ) -> LineOutcome:
        """Register a roster's person once; the same person again is a duplicate, another name a mismatch."""

        def refused(field_name: str, reason: str, problem: str = "invalid") -> LineOutcome:
            return LineOutcome(
                "rejected", field=field_name, reason=reason, problem=problem, record_type=r.type, reference=r.reference
            )

        known = persons.get(r.id_number)
        if known is not None:
            if not divisions.covers(self.scope, known.hukou_division):  # as POST /v1/persons answers: nothing more
                return refused("id_number", "a person with this identity number is already registered")
            m = matching.name_confidence(r.name, known.name)
            if not m.matches:
                return refused("name", m.reason)
            return LineOutcome(
                "duplicate",
                "duplicate",
                reason="this person is already registered",
                person_id=known.id,
                record_type=r.type,
                reference=r.reference,
            )
        if not divisions.covers(self.scope, r.hukou_division):
            return refused("hukou_division", "no such division in your jurisdiction", "not_found")
        household = None
        if r.household is not None:
            household = households.get(r.household)
            if household is None:
                household = _HouseholdState(household_id_of(r.household), r.hukou_division, None, "active", new=True)
                households[r.household] = household
            if not divisions.covers(self.scope, household.hukou_division):
                return refused("household", "no such household in your division", "not_found")
            if household.status != "active":
                return refused("household", "the household is dissolved")
            if r.relation == "head" and household.head_person_id is not None:
                return refused("relation", "the household already has a head")
        person = _PersonRow(
            new_id(), r.id_number, r.name, r.birth_date, r.hukou_division, r.hukou_division, True, "alive", None
        )
        persons[r.id_number] = person
        by_id[person.id] = person
        w.persons.append(
            {
                "id": person.id,
                "id_number": r.id_number,
                "name": r.name,
                "sex": r.sex,
                "birth_date": r.birth_date,
                "registered_division": r.hukou_division,
                "hukou_division": r.hukou_division,
                "in_district": True,
                "status": "alive",
                "marital_status": "unmarried",
                "household_id": household.id if household else None,
            }
        )
        w.line_events.append(
            LineEvent(
                line_events.REGISTERED,
                person.id,
                person.id_number,
                person.hukou_division,
                name=r.name,
                sex=r.sex,
                birth_date=r.birth_date,
                household_id=household.id if household else None,
            )
        )
        w.history.append(
            (
                person.id,
                "registered",
                None,
                f"registered in {r.hukou_division} from the household register ({r.source})",
                person.id,
            )
        )
        if household is not None:
            assert r.relation is not None
            household.after[person.id] = r.relation
            if r.relation == "head":
                household.head_person_id = person.id
            w.memberships.append({"household_id": household.id, "person_id": person.id, "relation": r.relation})
            w.history.append(
                (
                    person.id,
                    "household_joined",
                    self.today,
                    f"member of a household from the household register ({r.relation})",
                    household.id,
                )
            )
        return LineOutcome("accepted", "registered", person_id=person.id, record_type=r.type, reference=r.reference)

    async def _write_registrations(self, w: _Writes, households: dict[str, _HouseholdState]) -> None:
        """Households, then persons, then memberships (the keys refer that way); one household event per household."""
        touched = [h for h in households.values() if h.after != h.before]
        s = self.session
        new = [h for h in touched if h.new]
        await copy_rows(
            s,
            Household.__table__,  # type: ignore[arg-type]
            [
                {"id": h.id, "hukou_division": h.hukou_division, "head_person_id": h.head_person_id, "status": "active"}
                for h in new
            ],
        )
        await copy_rows(s, Person.__table__, w.persons)  # type: ignore[arg-type]
        await copy_rows(s, HouseholdMember.__table__, w.memberships)  # type: ignore[arg-type]
        heads = [h for h in touched if not h.new and h.head_person_id is not None]
        if heads:
            await s.execute(_SET_HEADS, {"ids": [h.id for h in heads], "heads": [h.head_person_id for h in heads]})
        for h in touched:
            w.events.append(
                ev.HouseholdChanged(
                    household_id=h.id,
                    hukou_division=h.hukou_division,
                    head_person_id=h.head_person_id,
                    reason="created" if h.new else "registered",
                    members_before=_snapshot(h.before),
                    members_after=_snapshot(h.after),
                )
            )

    # -- one report ---------------------------------------------------------------

    def _out_of_scope(self, r: Record, person: Any) -> LineOutcome | None:
        """The write guard for a report: the caller must cover where the person is registered now.

        Judged from the registry's own data, never from the divisions a report
        declares. Two district-wide cases pass: a move-in of someone living
        outside the district, sent by the division they move to, and a report
        about a number registered nowhere (kept until the person is
        registered; a change of registration only from a division at one of
        its ends). Anything else is answered as an unknown person: nothing of
        another division is revealed (that a number is registered somewhere in
        the district is no secret: registering it again says so).
        """
        if person is None:
            ends = (r.from_division, r.to_division) if isinstance(r, HukouRecord) else ()
            return _unknown_to(r) if ends and not any(divisions.covers(self.scope, d) for d in ends) else None
        if divisions.covers(self.scope, person.hukou_division):
            return None
        moving_in = isinstance(r, HukouRecord) and r.kind == "move_in" and not person.in_district
        return None if moving_in and divisions.covers(self.scope, r.to_division) else _unknown_to(r)

    def _sent_from_elsewhere(self, w: _Writes, it: Item, r: Record, person: Any) -> LineOutcome | None:
        """A waiting report applies only if the division that sent it covers where the person was registered.

        Else it stays in the queue of the person's division, for a registrar
        there to match or reject: a town cannot reach another's resident by
        reporting a number before it is registered.
        """
        if it.review is None:
            return None
        sender = reported_by(it.review)
        if divisions.covers(sender, person.hukou_division):
            return None
        why = f"sent by {sender}, which does not cover {person.hukou_division}, where the person was registered"
        return self._park(w, it, r, person, matching.Match(0, False, why), OUT_OF_DIVISION)

    def _park(self, w: _Writes, it: Item, r: Record, person: Any, m: matching.Match, code: str) -> LineOutcome:
        """Keep the report in the review queue (or leave it there with the new reason)."""
        division = rules.review_division(person.hukou_division if person else None, r)
        outcome = "pending" if person is None else "review"
        if it.review is not None:
            review = it.review
            review.reason_code, review.reason, review.confidence = code, m.reason[:300], m.confidence
            review.candidate_person_id = person.id if person else None
            review.hukou_division = division
            review.status = "open"
            review_id = review.id
        else:
            review_id = new_id()
            w.reviews.append(
                {
                    "id": review_id,
                    "kind": r.type,
                    "source": r.source,
                    "reference": r.reference,
                    "channel": self.channel,
                    "id_number": r.id_number,
                    "name": r.name,
                    "reason_code": code,
                    "payload": {**payload_of(r), REPORTED_BY: self.scope or divisions.DISTRICT},
                    "reason": m.reason[:300],
                    "confidence": m.confidence,
                    "candidate_person_id": person.id if person else None,
                    "status": "open",
                    "hukou_division": division,
                }
            )
        record_id = None
        if isinstance(r, DeathRecord):
            if it.report_row is not None:
                it.report_row.outcome, it.report_row.explanation = outcome, m.reason[:300]
                record_id = it.report_row.id
            else:
                record_id = new_id()
                w.reports.append(self._report_row(record_id, r, None, outcome, m.reason))
        if person is not None and not divisions.covers(self.scope, person.hukou_division):  # a move-in from elsewhere
            return LineOutcome(
                "accepted",
                outcome,
                reason=KEPT,
                record_id=record_id,
                review_id=review_id,
                record_type=r.type,
                reference=r.reference,
            )
        return LineOutcome(
            "accepted",
            outcome,
            reason=m.reason,
            person_id=person.id if person else None,
            record_id=record_id,
            review_id=review_id,
            record_type=r.type,
            reference=r.reference,
        )

    def _report_row(
        self, rid: uuid.UUID, r: DeathRecord, death_id: uuid.UUID | None, outcome: str, explanation: str
    ) -> Row:
        """A death_reports row, its values in the order of _REPORT_COLUMNS."""
        return (
            rid,
            death_id,
            r.id_number,
            r.name,
            r.date_of_death,
            r.source,
            r.reference,
            self.channel,
            outcome,
            explanation[:300],
        )

    def _apply_death(
        self,
        w: _Writes,
        it: Item,
        r: DeathRecord,
        person: Any,
        deaths: dict[uuid.UUID, Any],
        prior: dict[uuid.UUID, list[death_rules.Report]],
    ) -> LineOutcome:
        death = deaths.get(person.id)
        state = (
            death_rules.DeathState(death.date_of_death, death_rules.DeathStatus(death.status), prior[death.id])
            if death
            else None
        )
        report = death_rules.Report(r.source, r.reference, r.date_of_death)
        decision = death_rules.decide(state, report)
        if decision.outcome == death_rules.Outcome.RECORDED:
            if death is None:
                death = _DeathRow(new_id(), person.id, r.date_of_death, "reported")
                w.deaths.append(death)
                deaths[person.id] = death
                prior[death.id] = []
            else:  # a revoked death reported again
                death.date_of_death, death.status = r.date_of_death, "reported"
                death.confirmed_at = death.confirmed_by = None
                death.changed = True
            person.status, person.date_of_death = "deceased", r.date_of_death
            _touch(person)
            w.line_events.append(
                LineEvent(
                    line_events.DIED,
                    person.id,
                    person.id_number,
                    person.hukou_division,
                    death_id=death.id,
                    date_of_death=death.date_of_death,
                    source=r.source,
                    status="reported",
                )
            )
            w.history.append(
                (
                    person.id,
                    "death_recorded",
                    r.date_of_death,
                    f"death reported by {r.source} ({r.reference})",
                    death.id,
                )
            )
        else:
            assert death is not None
            death.status = decision.status.value
            death.changed = True
            if decision.outcome == death_rules.Outcome.CONFIRMED:
                death.confirmed_at = utcnow()
                sources = sorted({p.source for p in prior[death.id]} | {r.source})
                w.line_events.append(
                    LineEvent(
                        line_events.CONFIRMED,
                        person.id,
                        person.id_number,
                        person.hukou_division,
                        death_id=death.id,
                        date_of_death=death.date_of_death,
                        source=r.source,
                        status="confirmed",
                        sources=orjson.dumps(sources).decode(),
                    )
                )
                w.history.append(
                    (
                        person.id,
                        "death_confirmed",
                        death.date_of_death,
                        f"death confirmed by a second source, {r.source}",
                        death.id,
                    )
                )
            elif decision.outcome == death_rules.Outcome.CONFLICT:
                w.history.append(
                    (
                        person.id,
                        "death_conflict",
                        r.date_of_death,
                        decision.explanation,
                        death.id,
                    )
                )
        prior[death.id].append(report)
        if it.report_row is not None:
            row = it.report_row
            row.death_id, row.outcome, row.explanation = death.id, decision.outcome.value, decision.explanation[:300]
            rid = row.id
        else:
            rid = new_id()
            w.reports.append(self._report_row(rid, r, death.id, decision.outcome.value, decision.explanation))
        status = "duplicate" if decision.outcome == death_rules.Outcome.DUPLICATE else "accepted"
        return LineOutcome(
            status,
            decision.outcome.value,
            reason=decision.explanation,
            person_id=person.id,
            record_id=rid,
            death_id=death.id,
            record_type=r.type,
            reference=r.reference,
        )

    def _apply_hukou(
        self, w: _Writes, r: HukouRecord, person: Any, hist: list[hukou_rules.Change], seq: int
    ) -> LineOutcome:
        change_id = new_id()
        hist.append(hukou_rules.Change(r.kind, r.from_division, r.to_division, r.effective_date, seq))
        residence = hukou_rules.current(hist, person.registered_division)
        person.hukou_division, person.in_district = residence.hukou_division, residence.in_district
        _touch(person)
        w.changes.append(
            (
                change_id,
                person.id,
                r.kind,
                r.from_division,
                r.to_division,
                r.effective_date,
                r.source,
                r.reference,
                self.channel,
            )
        )
        w.line_events.append(
            LineEvent(
                hukou_rules.event_type(r.kind),
                person.id,
                person.id_number,
                person.hukou_division,
                change_id=change_id,
                kind=r.kind,
                from_division=r.from_division,
                to_division=r.to_division,
                effective_date=r.effective_date,
                in_district=residence.in_district,
            )
        )
        w.history.append(
            (
                person.id,
                f"hukou_{r.kind}",
                r.effective_date,
                f"{r.kind.replace('_', ' ')} {r.from_division or '-'} → {r.to_division or '-'}"
                f" ({r.source} {r.reference})",
                change_id,
            )
        )
        return LineOutcome(
            "accepted", "recorded", person_id=person.id, record_id=change_id, record_type=r.type, reference=r.reference
        )
