"""A chunk of the caseload's applications (POST /v1/applications/batch) judged in memory and written set-based.

The single requests spend a line's time in round trips and the ORM: a lock, the members, the programs held,
the open applications and the standards read for each step, the application, its steps and its cases written
and flushed one by one. A chunk of lines reads all of that once (its locks taken in one statement, its members,
their programs and open applications in one statement each, the standards once a request) and judges each
line in memory by the same use cases' rules (`application_usecases.judged`, `workflow`): submitted, reviewed
with its public notice, confirmed after the notice, each on its date. A refused line changes nothing: what it
would write is added to the chunk only once every step passed, and the programs and open applications it
creates are then seen by the lines after it, as committed rows are by the single path. The chunk is then
written in one statement a table and its events in one outbox insert, in line order.

A temporary grant is not taken here: its town's reserve changes with each grant paid, so it goes line by line
through the single path (application_batch).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.assistance import application_usecases as usecases
from services.assistance import reviews
from services.assistance.domain import tekun, workflow
from services.assistance.domain.standards import MissingStandard, StandardRow, Standards
from services.assistance.domain.workflow import Status, StepRefused
from services.assistance.schemas import ApplicationIn, AssessmentOut
from services.assistance.usecases import case_event
from shared import bulk, divisions, identity, locks, people
from shared import event_types as ev
from shared.auth import Principal
from shared.db import new_id, scope_of, utcnow
from shared.events import publish_many
from shared.problems import Conflict, DomainError, Invalid, NotFound
from shared.settings import Settings

APPLICATION_COLUMNS = {
    "id": "uuid",
    "program": "text",
    "status": "text",
    "applicant_person_id": "uuid",
    "applicant_id_number": "text",
    "household": "jsonb",
    "assessment": "jsonb",
    "eligible": "boolean",
    "monthly_total": "numeric",
    "submitted_on": "date",
    "review_due_on": "date",
    "due_on": "date",
    "survey_notes": "text",
    "notice_from": "date",
    "notice_until": "date",
    "confirmed_on": "date",
    "paid_from": "date",
    "hukou_division": "text",
}
STEP_COLUMNS = {
    "application_id": "uuid",
    "step": "text",
    "actor": "text",
    "note": "text",
    "at": "timestamptz",
    "hukou_division": "text",
}
CASE_COLUMNS = {
    "id": "uuid",
    "person_id": "uuid",
    "id_number": "text",
    "program": "text",
    "monthly_amount": "numeric",
    "status": "text",
    "started_on": "date",
    "hukou_division": "text",
    "origin": "text",
    "application_id": "uuid",
    "review_due_on": "date",
    "placement": "text",
    "care_level": "text",
}

_LOCK_ALL = text("SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) FROM unnest(CAST(:keys AS text[])) k")
_PERSONS = text(
    "SELECT person_id, id_number, name, birth_date, hukou_division, status, date_of_death, in_district"
    " FROM people WHERE id_number = ANY(CAST(:numbers AS text[]))"
)
_HELD = text(
    "SELECT person_id, program, monthly_amount FROM cases"
    " WHERE person_id = ANY(CAST(:ids AS uuid[])) AND status = ANY(CAST(:statuses AS text[]))"
)
_OPEN = text(
    "SELECT applicant_person_id, program, id, hukou_division FROM applications"
    " WHERE applicant_person_id = ANY(CAST(:ids AS uuid[])) AND status = ANY(CAST(:statuses AS text[]))"
)


@dataclass
class Line:
    """A line of the file, parsed, and where its answer goes."""

    n: int
    slot: int
    body: Any  # application_batch.BatchLineIn (imported there: it imports this module)


@dataclass
class Known:
    """What the chunk's lines are judged against: read once, then kept up to date by each line taken."""

    persons: dict[str, people.KnownPerson | DomainError]
    held: dict[uuid.UUID, dict[str, Decimal]]
    open: dict[tuple[uuid.UUID, str], uuid.UUID]
    standard_rows: list[StandardRow]
    scope: str | None


@dataclass
class Writes:
    """The rows and events of the lines taken, in line order."""

    applications: list[dict[str, Any]] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    cases: list[dict[str, Any]] = field(default_factory=list)
    events: list[BaseModel] = field(default_factory=list)
    enrolled: list[usecases.Enrolled] = field(default_factory=list)


async def read_known(
    session: AsyncSession, settings: Settings, lines: list[Line], standard_rows: list[StandardRow]
) -> Known:
    """The chunk's locks (as the single path takes them: the applicant and program, every member), then its
    members, their held programs and their open applications, a statement each."""
    applications: list[ApplicationIn] = [line.body.application for line in lines]
    numbers = sorted({m.id_number for a in applications for m in a.members})
    keys = {locks.key_name("application", a.members[0].id_number, a.program.value) for a in applications}
    keys |= {locks.key_name("person", number) for number in numbers}
    await session.execute(_LOCK_ALL, {"keys": sorted(keys)})
    persons = await members(session, settings, numbers)
    ids = [p.person_id for p in persons.values() if isinstance(p, people.KnownPerson)]
    held: dict[uuid.UUID, dict[str, Decimal]] = {p: {} for p in ids}
    statuses = [s.value for s in usecases.HELD]
    for person_id, program, amount in await session.execute(_HELD, {"ids": ids, "statuses": statuses}):
        held[person_id][program] = held[person_id].get(program, Decimal("0.00")) + amount
    scope = scope_of(session)
    found_open: dict[tuple[uuid.UUID, str], uuid.UUID] = {}
    rows = await session.execute(_OPEN, {"ids": ids, "statuses": [s.value for s in workflow.OPEN]})
    for person_id, program, application_id, division in rows:
        if divisions.covers(scope, division):  # the single path's read is the caller's division's
            found_open.setdefault((person_id, program), application_id)
    return Known(persons, held, found_open, standard_rows, scope)


async def members(
    session: AsyncSession, settings: Settings, numbers: list[str]
) -> dict[str, people.KnownPerson | DomainError]:
    """Each identity number's person from the local copy in one read; one not there yet asked of the registry
    as the single path does (its refusal kept, for the lines naming it)."""
    found: dict[str, people.KnownPerson | DomainError] = {}
    for row in await session.execute(_PERSONS, {"numbers": numbers}):
        found[row.id_number] = people.KnownPerson(**row._mapping)
    for number in numbers:
        if number not in found:
            try:
                found[number] = await people.resolve(session, settings, number)
            except DomainError as exc:
                found[number] = exc
    return found


def resolved(known: Known, body: ApplicationIn) -> list[people.KnownPerson]:
    """The members as `application_usecases.resolve_members` finds them, with its refusals."""
    found: list[people.KnownPerson] = []
    seen: set[str] = set()
    for i, m in enumerate(body.members):
        where, who = f"members[{i}].id_number", f"members[{i}] ({identity.mask(m.id_number)})"
        if m.id_number in seen:
            raise Invalid(f"{who} is listed twice", field=where)
        seen.add(m.id_number)
        found.append(usecases.admitted(known.persons[m.id_number], who, where))
    return found


def standards_on(known: Known, on: date) -> Standards:
    return Standards(known.standard_rows, on)


def missing(exc: MissingStandard) -> Invalid:
    return Invalid(f"{exc}: the standards must be set first", field="program")


async def take(session: AsyncSession, principal: Principal, known: Known, writes: Writes, line: Line) -> dict[str, Any]:
    """One line through submit, review and confirm by the single path's rules, each on its date; its rows
    added to `writes` (and what it holds to `known`) only once every step passed. Answers the application row."""
    b, body = line.body, line.body.application
    usecases.check_shape(body)
    found = resolved(known, body)
    if not divisions.covers(known.scope, found[0].hukou_division):
        raise NotFound(people.UNKNOWN, field="members[0].id_number")
    program = body.program.value
    existing = known.open.get((found[0].person_id, program))
    if existing:
        detail = f"the applicant already has an open {program} application ({existing})"
        raise Conflict(detail, field="members[0].id_number")
    person_ids = [p.person_id for p in found]
    held = {p: known.held.get(p, {}) for p in person_ids}
    standards = standards_on(known, b.submitted_on)
    assessment, extra = await usecases.judged(session, body, found, standards, held)
    try:
        review_due, due = workflow.due_dates(program, b.submitted_on, standards)
    except MissingStandard as exc:
        raise missing(exc) from exc
    app: dict[str, Any] = {
        "id": new_id(),
        "program": program,
        "status": Status.SUBMITTED.value,
        "applicant_person_id": found[0].person_id,
        "applicant_id_number": found[0].id_number,
        "household": usecases.household_json(body, found),
        "assessment": usecases.assessment_json(assessment, extra),
        "eligible": assessment.eligible,
        "monthly_total": assessment.total,
        "submitted_on": b.submitted_on,
        "review_due_on": review_due,
        "due_on": due,
        "survey_notes": None,
        "notice_from": None,
        "notice_until": None,
        "confirmed_on": None,
        "paid_from": None,
        "hukou_division": found[0].hukou_division,
    }
    steps = [step(app, "submitted", principal)]
    if b.reviewed_on is not None:
        steps += review(known, app, principal, b.reviewed_on, b.survey_notes)
    cases: list[dict[str, Any]] = []
    if b.confirmed_on is not None:
        out = AssessmentOut.model_validate(app["assessment"])
        cases = confirm(app, out, body, found, held, b.confirmed_on)
        steps.append(step(app, "confirmed", principal, b.note))
    keep(known, writes, app, steps, cases)
    return app


def review(known: Known, app: dict[str, Any], principal: Principal, on: date, notes: str) -> list[dict[str, Any]]:
    """审核 on its date: dibao and tekun then go on public notice (`application_usecases.review`)."""
    app["status"] = workflow.after_review(Status.SUBMITTED, app["program"]).value
    app["survey_notes"] = notes
    steps = [step(app, "reviewed", principal, notes)]
    if app["status"] == Status.NOTICE:
        try:
            until = workflow.notice_ends(on, standards_on(known, on))
        except MissingStandard as exc:
            raise missing(exc) from exc
        app["notice_from"], app["notice_until"] = on, until
        steps.append(step(app, "notice_started", principal, f"public notice until {until}"))
    return steps


def confirm(
    app: dict[str, Any],
    out: AssessmentOut,
    body: ApplicationIn,
    found: list[people.KnownPerson],
    held: dict[uuid.UUID, dict[str, Decimal]],
    on: date,
) -> list[dict[str, Any]]:
    """确认 on its date after the notice (`application_usecases.confirm`): the cases of the members enrolled."""
    try:
        workflow.check_confirm(Status(app["status"]), on, app["notice_until"], 0, app["eligible"])
    except StepRefused as exc:
        raise Conflict(str(exc), field="status") from exc
    program = usecases.program_of_cases(app["program"], out.kind)
    person_ids = [p.person_id for p in found]
    usecases.check_programs(program, [m.member for m in out.members], person_ids, held, Conflict)
    paid_from = workflow.first_paid_month(on)
    app["status"], app["confirmed_on"], app["paid_from"] = Status.CONFIRMED.value, on, paid_from
    facts = {"placement": None, "care_level": None}
    if app["program"] == "tekun":
        assert body.tekun is not None
        facts = {"placement": out.kind, "care_level": tekun.care_level(body.tekun.adl_items_failed).value}
    return [
        {
            "id": new_id(),
            "person_id": found[m.member].person_id,
            "id_number": found[m.member].id_number,
            "program": program,
            "monthly_amount": m.amount,
            "status": "active",
            "started_on": paid_from,
            "hukou_division": found[m.member].hukou_division,
            "origin": "application",
            "application_id": app["id"],
            "review_due_on": reviews.due_on(paid_from, out.review_every_months),
            **facts,
        }
        for m in out.members
    ]


def step(app: dict[str, Any], name: str, principal: Principal, note: str | None = None) -> dict[str, Any]:
    return {
        "application_id": app["id"],
        "step": name,
        "actor": principal.sub,
        "note": note,
        "at": utcnow(),
        "hukou_division": app["hukou_division"],
    }


def keep(
    known: Known, writes: Writes, app: dict[str, Any], steps: list[dict[str, Any]], cases: list[dict[str, Any]]
) -> None:
    """A line taken: its rows and events to write, what it holds seen by the lines after it."""
    writes.applications.append(app)
    writes.steps += steps
    writes.events.append(
        ev.ApplicationSubmitted(
            person_id=app["applicant_person_id"],
            id_number=app["applicant_id_number"],
            hukou_division=app["hukou_division"],
            application_id=app["id"],
            program=app["program"],
        )
    )
    if app["status"] in {s.value for s in workflow.OPEN}:
        known.open[(app["applicant_person_id"], app["program"])] = app["id"]
    for case in cases:
        row = SimpleNamespace(**case, status_changed_on=None)
        reason = f"application {app['id']} confirmed"
        writes.events.append(case_event(ev.CaseEnrolled, row, reason=reason))
        writes.events += reviews.due_events(row)
        mine = known.held.setdefault(case["person_id"], {})
        mine[case["program"]] = mine.get(case["program"], Decimal("0.00")) + case["monthly_amount"]
        writes.enrolled.append((case["id"], case["started_on"], app["confirmed_on"]))
    writes.cases += cases


async def write(session: AsyncSession, writes: Writes) -> list[usecases.Enrolled]:
    """The chunk's applications, steps and cases in one statement each, its events in one outbox insert;
    answers the new cases (for their amounts, set-based at the commit)."""
    await bulk.insert(session, "applications", APPLICATION_COLUMNS, writes.applications)
    await bulk.insert(session, "application_steps", STEP_COLUMNS, writes.steps)
    await bulk.insert(session, "cases", CASE_COLUMNS, writes.cases)
    await publish_many(session, writes.events)
    return writes.enrolled
