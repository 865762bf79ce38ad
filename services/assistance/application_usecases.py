"""Use cases of applications: submit with the assessment, review, notice, objections, confirm, reject.

The caller commits. Every step records who and when (`application_steps`).
Applications are division-scoped: a caller outside the household's town finds
none (404). Members are resolved against the registry; a member deceased,
unknown or registered outside the district is named in a 422.
"""

from __future__ import annotations

import uuid
from contextvars import ContextVar
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.assistance import reviews, standard_usecases
from services.assistance import usecases as case_usecases
from services.assistance.domain import dibao, disability, orphan, programs, tekun, temporary, workflow
from services.assistance.domain.assessment import Assessment
from services.assistance.domain.cases import CaseStatus
from services.assistance.domain.income import (
    Assets,
    Disability,
    Household,
    Income,
    Member,
    RigidExpense,
    per_capita_income,
)
from services.assistance.domain.standards import MissingStandard, Standards
from services.assistance.domain.workflow import Status, StepRefused
from services.assistance.models import Application, ApplicationStep, Case, Objection
from services.assistance.schemas import ApplicationIn, AssessmentOut, MemberIn
from shared import clock, divisions, identity, locks, people
from shared import event_types as ev
from shared.auth import Principal
from shared.db import guard, unscoped, utcnow
from shared.events import publish
from shared.problems import Conflict, DomainError, Invalid, NotFound
from shared.settings import Settings

HELD = (CaseStatus.ACTIVE, CaseStatus.SUSPENDED)
# A caseload taken on in bulk (application_batch) collects its new cases here (case, first month paid, day
# confirmed) and recomputes their amounts once a chunk (`amounts.after_enrolment` is set-based), not once a household.
Enrolled = tuple[uuid.UUID, date, date]
deferred_enrolments: ContextVar[list[Enrolled] | None] = ContextVar("deferred_enrolments", default=None)


def age_on(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


async def resolve_members(
    session: AsyncSession, settings: Settings, members: list[MemberIn]
) -> list[people.KnownPerson]:
    """Each member from the registry; the first one unknown, deceased or outside the district is named."""
    found: list[people.KnownPerson] = []
    seen: set[str] = set()
    for i, m in enumerate(members):
        field, who = f"members[{i}].id_number", f"members[{i}] ({identity.mask(m.id_number)})"
        if m.id_number in seen:
            raise Invalid(f"{who} is listed twice", field=field)
        seen.add(m.id_number)
        try:
            person: people.KnownPerson | NotFound = await people.resolve(session, settings, m.id_number)
        except NotFound as exc:
            person = exc
        found.append(admitted(person, who, field))
    return found


def admitted(person: people.KnownPerson | DomainError, who: str, field: str) -> people.KnownPerson:
    """A member as the registry answered for them, or the refusal naming them: unknown, deceased, outside."""
    if isinstance(person, NotFound):
        raise Invalid(f"{who} is not registered", field=field) from person
    if isinstance(person, DomainError):
        raise person
    if person.status == "deceased":
        raise Invalid(f"{who} is recorded as deceased", field=field)
    if not person.in_district:
        raise Invalid(f"{who} is registered outside the district", field=field)
    return person


def check_shape(body: ApplicationIn) -> None:
    """The program's own block is there, and every expense names a listed member."""
    needed = {"tekun": body.tekun, "temporary": body.temporary, "orphan": body.orphan}
    if body.program.value in needed and needed[body.program.value] is None:
        raise Invalid(
            f"a {body.program.value} application needs its `{body.program.value}` block", field=body.program.value
        )
    for i, e in enumerate(body.rigid_expenses):
        if e.member >= len(body.members):
            raise Invalid(f"there is no member {e.member}", field=f"rigid_expenses[{i}].member")


def household_of(body: ApplicationIn, found: list[people.KnownPerson], on: date) -> Household:
    members = []
    for m, person in zip(body.members, found, strict=True):
        birth = person.birth_date or identity.parse(person.id_number).birth_date
        members.append(
            Member(
                relation=m.relation.value,
                age=age_on(birth, on),
                incomes=tuple(Income(x.kind, x.monthly_amount, x.note) for x in m.incomes),
                employment_cost=m.employment_cost,
                disability=Disability(m.disability.grade, m.disability.kind) if m.disability else None,
                seriously_ill=m.seriously_ill,
                labour_capacity=m.labour_capacity,
            )
        )
    expenses = tuple(RigidExpense(e.member, e.kind, e.monthly_amount, e.note) for e in body.rigid_expenses)
    a = body.assets
    return Household(tuple(members), expenses, Assets(a.financial, a.homes, a.vehicles))


async def held_programs(session: AsyncSession, person_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Decimal]]:
    """Each person's active or suspended programs with their amounts, district-wide (a rule, not a read)."""
    with unscoped(session):
        rows = (
            await session.execute(
                select(Case.person_id, Case.program, Case.monthly_amount).where(
                    Case.person_id.in_(person_ids), Case.status.in_([s.value for s in HELD])
                )
            )
        ).all()
    held: dict[uuid.UUID, dict[str, Decimal]] = {p: {} for p in person_ids}
    for person_id, program, amount in rows:
        held[person_id][program] = held[person_id].get(program, Decimal("0.00")) + amount
    return held


async def reserve_left(session: AsyncSession, town: str, standards: Standards) -> Decimal:
    """The town's reserve fund (备用金) less this year's grants it paid."""
    year_start = date(standards.on.year, 1, 1)
    with unscoped(session):
        spent = (
            await session.execute(
                select(func.coalesce(func.sum(Application.monthly_total), 0)).where(
                    Application.program == "temporary",
                    Application.status == Status.CONFIRMED.value,
                    Application.confirmed_on >= year_start,
                    divisions.covers_clause(Application.hukou_division, town),
                    Application.assessment["from_reserve"].as_boolean(),
                )
            )
        ).scalar_one()
    return standards.get("temporary.town_reserve") - Decimal(spent)


def family_status(held: dict[uuid.UUID, dict[str, Decimal]]) -> disability.FamilyStatus:
    programs_held = {p for h in held.values() for p in h}
    if "tekun" in programs_held:
        return disability.FamilyStatus.TEKUN
    return disability.FamilyStatus.DIBAO if "dibao" in programs_held else disability.FamilyStatus.OTHER


async def assess(
    session: AsyncSession,
    body: ApplicationIn,
    household: Household,
    found: list[people.KnownPerson],
    held: dict[uuid.UUID, dict[str, Decimal]],
    standards: Standards,
) -> tuple[Assessment, dict[str, Any]]:
    """The program's rule applied to the household; extra facts (approver, reserve) beside it."""
    applicant = household.members[0]
    mine = held[found[0].person_id]
    program = body.program.value
    if program == "dibao":
        return dibao.assess(household, standards), {}
    if program == "tekun":
        assert body.tekun is not None
        level = tekun.care_level(body.tekun.adl_items_failed)
        return tekun.assess(household.alone(0), body.tekun.supporter, body.tekun.placement, level, standards), {}
    if program == "temporary":
        assert body.temporary is not None
        income = per_capita_income(household, standards).per_capita
        left = await reserve_left(session, found[0].hukou_division[:9], standards)
        grant = temporary.assess(body.temporary.type, body.temporary.need, income, left, standards)
        extra = {"approver": grant.approver, "from_reserve": grant.from_reserve, "pay_first": grant.pay_first}
        return grant.assessment, extra
    if program == "orphan":
        assert body.orphan is not None
        parents = (body.orphan.parents[0], body.orphan.parents[1])
        return orphan.assess(applicant.age, parents, body.orphan.placement, mine, standards), {}
    if program == "disability_living":
        full_orphan = "orphan" in mine or "de_facto_orphan" in mine
        return disability.living_subsidy(applicant.disability, family_status(held), full_orphan, standards), {}
    return disability.care_subsidy(applicant.disability, standards), {}


def program_of_cases(program: str, kind: str) -> str:
    """The program the confirmed cases are in (an orphan allowance says which kind of orphan)."""
    return kind if program == "orphan" else program


def check_programs(
    program: str,
    enrolled: list[int],
    person_ids: list[uuid.UUID],
    held: dict[uuid.UUID, dict[str, Decimal]],
    error: type[Invalid] | type[Conflict],
) -> None:
    """One active case per person and program; contradictory programs refused, naming the member."""
    for i in enrolled:
        why = programs.refusal(program, set(held[person_ids[i]]))
        if why:
            raise error(f"members[{i}]: {why}", field=f"members[{i}].id_number")


def assessment_json(assessment: Assessment, extra: dict[str, Any]) -> dict[str, Any]:
    return {**AssessmentOut.model_validate(assessment, from_attributes=True).model_dump(mode="json"), **extra}


def household_json(body: ApplicationIn, found: list[people.KnownPerson]) -> dict[str, Any]:
    submitted = body.model_dump(mode="json")
    for m, person in zip(submitted["members"], found, strict=True):
        m |= {"person_id": str(person.person_id), "name": person.name, "hukou_division": person.hukou_division}
    return submitted


def step(app: Application, name: str, principal: Principal, note: str | None = None) -> ApplicationStep:
    return ApplicationStep(
        application_id=app.id, step=name, actor=principal.sub, note=note, at=utcnow(), hukou_division=app.hukou_division
    )


async def open_application(session: AsyncSession, person_id: uuid.UUID, program: str) -> uuid.UUID | None:
    """The applicant's application of this program still in the workflow, if any."""
    return (
        await session.execute(
            select(Application.id)
            .where(
                Application.applicant_person_id == person_id,
                Application.program == program,
                Application.status.in_([s.value for s in workflow.OPEN]),
            )
            .limit(1)
        )
    ).scalar_one_or_none()


async def assessed(
    session: AsyncSession, body: ApplicationIn, found: list[people.KnownPerson], on: date
) -> tuple[Assessment, dict[str, Any], Standards]:
    """The assessment on `on`, refused (422 naming the member) when it would enrol someone twice."""
    standards = await standard_usecases.load(session, on)
    held = await held_programs(session, [p.person_id for p in found])
    assessment, extra = await judged(session, body, found, standards, held)
    return assessment, extra, standards


async def judged(
    session: AsyncSession,
    body: ApplicationIn,
    found: list[people.KnownPerson],
    standards: Standards,
    held: dict[uuid.UUID, dict[str, Decimal]],
) -> tuple[Assessment, dict[str, Any]]:
    """The assessment on the standards' date with the programs already held (read by the caller: a batch reads
    them once for many households), refused (422 naming the member) when it would enrol someone twice."""
    household = household_of(body, found, standards.on)
    try:
        assessment, extra = await assess(session, body, household, found, held, standards)
    except MissingStandard as exc:
        raise Invalid(f"{exc}: the standards must be set first", field="program") from exc
    if assessment.eligible:
        program = program_of_cases(assessment.program, assessment.kind)
        enrolled = [m.member for m in assessment.members]
        check_programs(program, enrolled, [p.person_id for p in found], held, Invalid)
    return assessment, extra


async def submit(session: AsyncSession, settings: Settings, principal: Principal, body: ApplicationIn) -> Application:
    """Submit with the assessment; one open application per applicant and program (a repeat is a 409)."""
    check_shape(body)
    # The same application sent twice at once: the second waits, then finds the first.
    await locks.hold(session, "application", body.members[0].id_number, body.program.value)
    found = await resolve_members(session, settings, body.members)
    guard(session, found[0].hukou_division, field="members[0].id_number", detail=people.UNKNOWN)
    if body.program.value != "temporary":  # a new emergency is a new application
        existing = await open_application(session, found[0].person_id, body.program.value)
        if existing:
            raise Conflict(
                f"the applicant already has an open {body.program.value} application ({existing})",
                field="members[0].id_number",
            )
    today = clock.today()
    assessment, extra, standards = await assessed(session, body, found, today)
    try:
        review_due, due = workflow.due_dates(body.program.value, today, standards)
    except MissingStandard as exc:
        raise Invalid(f"{exc}: the standards must be set first", field="program") from exc
    app = Application(
        id=uuid.uuid4(),
        program=body.program.value,
        status=Status.SUBMITTED.value,
        applicant_person_id=found[0].person_id,
        applicant_id_number=found[0].id_number,
        household=household_json(body, found),
        assessment=assessment_json(assessment, extra),
        eligible=assessment.eligible,
        monthly_total=assessment.total,
        submitted_on=today,
        review_due_on=review_due,
        due_on=due,
        hukou_division=found[0].hukou_division,
    )
    session.add(app)
    session.add(step(app, "submitted", principal))
    await session.flush()
    await publish(
        session,
        ev.ApplicationSubmitted(
            person_id=app.applicant_person_id,
            id_number=app.applicant_id_number,
            hukou_division=app.hukou_division,
            application_id=app.id,
            program=app.program,
        ),
    )
    return app


async def get(session: AsyncSession, application_id: uuid.UUID, *, lock: bool = False) -> Application:
    """The application, if the caller's division covers it; otherwise 404 as if it did not exist."""
    stmt = select(Application).where(Application.id == application_id)
    app = (await session.execute(stmt.with_for_update() if lock else stmt)).scalar_one_or_none()
    if app is None:
        raise NotFound("no such application in your division", field="id")
    return app


def _refused(exc: StepRefused) -> Conflict:
    return Conflict(str(exc), field="status")


async def reassess(
    session: AsyncSession, settings: Settings, principal: Principal, app: Application, corrected: ApplicationIn
) -> None:
    """The household as the survey found it replaces the one submitted, and is assessed anew."""
    if corrected.program.value != app.program:
        raise Invalid("the corrected household is for another program", field="household.program")
    check_shape(corrected)
    found = await resolve_members(session, settings, corrected.members)
    if found[0].person_id != app.applicant_person_id:
        raise Invalid("the corrected household has another applicant", field="household.members[0].id_number")
    assessment, extra, _ = await assessed(session, corrected, found, clock.today())
    before = app.assessment.get("total")
    app.household, app.assessment = household_json(corrected, found), assessment_json(assessment, extra)
    app.eligible, app.monthly_total = assessment.eligible, assessment.total
    note = f"reassessed on the survey's findings: total {before} → {assessment.total}"
    session.add(step(app, "reassessed", principal, note))


async def review(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    application_id: uuid.UUID,
    notes: str,
    corrected: ApplicationIn | None = None,
) -> Application:
    """审核: the town's review after the household survey; dibao and tekun then go on public notice.

    When the survey found the household other than declared, the corrected household is assessed
    anew and replaces the submitted one (the step says what the total was before).
    """
    app = await get(session, application_id, lock=True)
    try:
        app.status = workflow.after_review(Status(app.status), app.program).value
    except StepRefused as exc:
        raise _refused(exc) from exc
    if corrected is not None:
        await reassess(session, settings, principal, app, corrected)
    app.survey_notes = notes
    session.add(step(app, "reviewed", principal, notes))
    if app.status == Status.NOTICE:
        today = clock.today()
        standards = await standard_usecases.load(session, today)
        app.notice_from, app.notice_until = today, workflow.notice_ends(today, standards)
        session.add(step(app, "notice_started", principal, f"public notice until {app.notice_until}"))
    return app


async def object_to(session: AsyncSession, principal: Principal, application_id: uuid.UUID, content: str) -> Objection:
    """An objection raised during the notice; the whole procedure may then take up to 45 working days."""
    app = await get(session, application_id, lock=True)
    try:
        workflow.check_objection(Status(app.status))
    except StepRefused as exc:
        raise _refused(exc) from exc
    standards = await standard_usecases.load(session, app.submitted_on)
    app.due_on = max(app.due_on, workflow.extended_due(app.submitted_on, standards))
    objection = Objection(
        id=uuid.uuid4(),
        application_id=app.id,
        content=content,
        recorded_by=principal.sub,
        recorded_at=utcnow(),
        hukou_division=app.hukou_division,
    )
    session.add(objection)
    session.add(step(app, "objection_recorded", principal, content))
    await session.flush()
    return objection


async def settle(
    session: AsyncSession,
    principal: Principal,
    application_id: uuid.UUID,
    objection_id: uuid.UUID,
    outcome: str,
    settlement: str,
) -> Application:
    """Settle an objection: dismissed, the notice stands; upheld, the town investigates and reviews again."""
    app = await get(session, application_id, lock=True)
    objection = (
        await session.execute(select(Objection).where(Objection.id == objection_id, Objection.application_id == app.id))
    ).scalar_one_or_none()
    if objection is None:
        raise NotFound("no such objection on this application", field="objection_id")
    if objection.outcome is not None:
        raise Conflict(f"the objection was already settled ({objection.outcome})", field="objection_id")
    objection.outcome, objection.settlement, objection.settled_by = outcome, settlement, principal.sub
    objection.settled_at = utcnow()
    session.add(step(app, f"objection_{outcome}", principal, settlement))
    if outcome == "upheld" and app.status == Status.NOTICE:
        app.status, app.notice_from, app.notice_until = Status.SUBMITTED.value, None, None
    return app


async def open_objections(session: AsyncSession, app: Application) -> int:
    return (
        await session.execute(
            select(func.count())
            .select_from(Objection)
            .where(Objection.application_id == app.id, Objection.outcome.is_(None))
        )
    ).scalar_one()


async def confirm(session: AsyncSession, principal: Principal, application_id: uuid.UUID, note: str) -> Application:
    """确认: the town confirms; cases start the month after, one per enrolled member, each published."""
    app = await get(session, application_id, lock=True)
    today = clock.today()
    pay_first = bool(app.assessment.get("pay_first")) and app.status == Status.SUBMITTED
    try:
        if pay_first and not app.eligible:
            raise StepRefused("the assessment found no grant to pay first")
        if not pay_first:
            workflow.check_confirm(
                Status(app.status), today, app.notice_until, await open_objections(session, app), app.eligible
            )
    except StepRefused as exc:
        raise _refused(exc) from exc
    members = app.household["members"]
    person_ids = [uuid.UUID(m["person_id"]) for m in members]
    assessment = AssessmentOut.model_validate(app.assessment)
    for id_number in sorted(members[m.member]["id_number"] for m in assessment.members):
        await locks.hold(session, "person", id_number)  # as POST /v1/cases does: no two enrolments at once
    held = await held_programs(session, person_ids)
    program = program_of_cases(app.program, assessment.kind)
    check_programs(program, [m.member for m in assessment.members], person_ids, held, Conflict)
    app.status, app.confirmed_on = Status.CONFIRMED.value, today
    app.paid_from = today if app.program == "temporary" else workflow.first_paid_month(today)
    session.add(step(app, "confirmed", principal, ("先行救助: paid first, review after. " if pay_first else "") + note))
    if app.program != "temporary":  # a temporary grant is paid once, never a monthly case
        await enrol_members(session, app, assessment, program)
    return app


def tekun_facts(app: Application, assessment: AssessmentOut) -> dict[str, str]:
    """A tekun case keeps its placement and care level: its amount is recomputed from them later."""
    if app.program != "tekun":
        return {}
    level = tekun.care_level(int(app.household["tekun"]["adl_items_failed"]))
    return {"placement": assessment.kind, "care_level": level.value}


async def enrol_members(session: AsyncSession, app: Application, assessment: AssessmentOut, program: str) -> None:
    members = app.household["members"]
    enrolled = []
    for m in assessment.members:
        member = members[m.member]
        case = Case(
            id=uuid.uuid4(),
            person_id=uuid.UUID(member["person_id"]),
            id_number=member["id_number"],
            program=program,
            monthly_amount=m.amount,
            status=CaseStatus.ACTIVE.value,
            started_on=app.paid_from,
            hukou_division=member["hukou_division"],
            origin="application",
            application_id=app.id,
            review_due_on=reviews.due_on(app.paid_from, assessment.review_every_months),
            **tekun_facts(app, assessment),
        )
        session.add(case)
        await session.flush()
        await case_usecases.emit(session, ev.CaseEnrolled, case, reason=f"application {app.id} confirmed")
        await reviews.announce(session, case)
        enrolled.append(case.id)
    deferred = deferred_enrolments.get()
    if deferred is not None:
        deferred.extend((case_id, app.paid_from, app.confirmed_on) for case_id in enrolled)
        return
    from services.assistance import amounts  # amounts assesses households with this module's functions

    await amounts.after_enrolment(session, enrolled, app.paid_from)  # standards already set for later months


async def reject(session: AsyncSession, principal: Principal, application_id: uuid.UUID, reason: str) -> Application:
    app = await get(session, application_id, lock=True)
    try:
        workflow.check_reject(Status(app.status))
    except StepRefused as exc:
        raise _refused(exc) from exc
    app.status, app.rejected_reason = Status.REJECTED.value, reason
    session.add(step(app, "rejected", principal, reason))
    return app


Details = tuple[list[ApplicationStep], list[Objection], list[uuid.UUID]]


async def details(session: AsyncSession, apps: list[Application]) -> dict[uuid.UUID, Details]:
    """Steps, objections and case ids of a page of applications, in three queries whatever its size."""
    ids = [a.id for a in apps]
    found: dict[uuid.UUID, Details] = {i: ([], [], []) for i in ids}
    steps = await session.execute(
        select(ApplicationStep).where(ApplicationStep.application_id.in_(ids)).order_by(ApplicationStep.id)
    )
    for s in steps.scalars():
        found[s.application_id][0].append(s)
    objections = await session.execute(
        select(Objection).where(Objection.application_id.in_(ids)).order_by(Objection.recorded_at)
    )
    for o in objections.scalars():
        found[o.application_id][1].append(o)
    with unscoped(session):  # a member's case may lie in another town; only its id is shown
        cases = await session.execute(
            select(Case.application_id, Case.id).where(Case.application_id.in_(ids)).order_by(Case.created_at)
        )
        for application_id, case_id in cases.all():
            found[application_id][2].append(case_id)
    return found


def overdue_clause(today: date) -> Any:
    return or_(
        and_(Application.status == Status.SUBMITTED.value, Application.review_due_on < today),
        and_(Application.status.in_([s.value for s in workflow.OPEN]), Application.due_on < today),
    )


async def search(
    session: AsyncSession,
    *,
    status: str | None,
    program: str | None,
    overdue: bool | None,
    id_number: str | None,
    division: str | None = None,
    limit: int,
    offset: int,
) -> tuple[int, list[Application]]:
    stmt = select(Application)
    if division:
        stmt = stmt.where(divisions.covers_clause(Application.hukou_division, division))
    if status:
        stmt = stmt.where(Application.status == status)
    if program:
        stmt = stmt.where(Application.program == program)
    if id_number:
        stmt = stmt.where(Application.applicant_id_number == id_number)
    if overdue is not None:
        clause = overdue_clause(clock.today())
        stmt = stmt.where(clause if overdue else ~clause)
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    rows = (
        (
            await session.execute(
                stmt.order_by(Application.submitted_on, Application.created_at, Application.id)
                .limit(limit)
                .offset(offset)
            )
        )
        .scalars()
        .all()
    )
    return total, list(rows)
