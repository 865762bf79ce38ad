"""Registry use cases: one function per use case, shared by HTTP routes and event handlers.

Each takes a session, changes state, writes its events to the outbox, and
leaves the commit to the caller (the route or the consumer runner), so the
change and its events commit together.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared import event_types as ev
from shared import identity
from shared.db import unscoped, utcnow
from shared.events import publish
from shared.problems import Conflict, Forbidden, Invalid, NotFound
from services.registry import SERVICE
from services.registry.domain import deaths as death_rules
from services.registry.domain import hukou as hukou_rules
from services.registry.models import Death, DeathReport, Household, HouseholdMember, HukouChange, Person

TOPIC = "registry.events.v1"


async def emit(session: AsyncSession, type: str, key: uuid.UUID, data: BaseModel) -> None:
    await publish(session, service=SERVICE, topic=TOPIC, type=type, key=str(key), data=data)


def _ref(person: Person) -> dict[str, object]:
    return {"person_id": person.id, "id_number": person.id_number, "hukou_division": person.hukou_division}


async def person_by_id_number(session: AsyncSession, id_number: str, *, lock: bool = False) -> Person | None:
    stmt = select(Person).where(Person.id_number == id_number)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


# -- persons ----------------------------------------------------------------------


async def register_person(
    session: AsyncSession,
    *,
    id_number: str,
    name: str,
    hukou_division: str,
    sex: str | None = None,
    birth_date: date | None = None,
    scope: str | None = None,
) -> Person:
    number = identity.parse(id_number)
    if sex is not None and sex != number.sex:
        raise Invalid(f"sex {sex} does not match the identity number ({number.sex})", field="sex")
    if birth_date is not None and birth_date != number.birth_date:
        raise Invalid(f"birth date does not match the identity number ({number.birth_date})", field="birth_date")
    if scope and not hukou_division.startswith(scope):
        raise Forbidden(f"division {hukou_division} is outside your division {scope}", field="hukou_division")
    with unscoped(session):  # uniqueness is district-wide
        if await person_by_id_number(session, number.value):
            raise Conflict("a person with this identity number is already registered", field="id_number")
    person = Person(
        id=uuid.uuid4(),
        id_number=number.value,
        name=name,
        sex=number.sex,
        birth_date=number.birth_date,
        hukou_division=hukou_division,
        registered_division=hukou_division,
        in_district=True,
        status="alive",
    )
    session.add(person)
    await session.flush()
    await emit(
        session,
        "registry.person.registered",
        person.id,
        ev.PersonRegistered(**_ref(person), name=name, sex=person.sex, birth_date=person.birth_date),  # type: ignore[arg-type]
    )
    await _apply_pending_reports(session, person)
    return person


async def _apply_pending_reports(session: AsyncSession, person: Person) -> None:
    """Reports that arrived before the person was registered take effect now, in arrival order."""
    pending = (
        await session.execute(
            select(DeathReport)
            .where(DeathReport.id_number == person.id_number, DeathReport.outcome == "pending")
            .order_by(DeathReport.seq)
        )
    ).scalars().all()
    for report in pending:
        await _apply_death_report(session, person, report)


# -- deaths -----------------------------------------------------------------------


@dataclass
class DeathResult:
    report: DeathReport
    death: Death | None
    person: Person | None
    reports: list[DeathReport]


async def report_death(
    session: AsyncSession,
    *,
    id_number: str,
    date_of_death: date,
    source: str,
    reference: str,
    channel: str,
    name: str | None = None,
    today: date | None = None,
    scope: str | None = None,
) -> DeathResult:
    """Take one report of a death, from any channel (HTTP, partner topic, batch)."""
    number = identity.parse(id_number)
    today = today or date.today()
    if date_of_death > today:
        raise Invalid("date of death is in the future", field="date_of_death")
    existing = (
        await session.execute(select(DeathReport).where(DeathReport.source == source, DeathReport.reference == reference))
    ).scalar_one_or_none()
    if existing is not None:
        # The same report delivered again: one effect, the first answer.
        return await _result(session, existing, outcome="duplicate")
    with unscoped(session):
        person = await person_by_id_number(session, number.value, lock=True)
    if person is not None:
        if scope and not person.hukou_division.startswith(scope):
            raise NotFound("no such person in your division", field="id_number")
        problem = death_rules.check_date(date_of_death, person.birth_date, today)
        if problem:
            raise Invalid(problem, field="date_of_death")
    elif date_of_death < number.birth_date:
        raise Invalid("date of death is before the date of birth", field="date_of_death")
    report = DeathReport(
        id=uuid.uuid4(),
        id_number=number.value,
        name=name,
        date_of_death=date_of_death,
        source=source,
        reference=reference,
        channel=channel,
        outcome="pending",
        explanation="the person is not registered yet; applied on registration",
    )
    session.add(report)
    await session.flush()
    if person is None:
        return DeathResult(report, None, None, [report])
    await _apply_death_report(session, person, report)
    return await _result(session, report)


async def _apply_death_report(session: AsyncSession, person: Person, report: DeathReport) -> None:
    death = (await session.execute(select(Death).where(Death.person_id == person.id).with_for_update())).scalar_one_or_none()
    state = None
    if death is not None:
        prior = (await session.execute(select(DeathReport).where(DeathReport.death_id == death.id))).scalars().all()
        state = death_rules.DeathState(
            death.date_of_death,
            death_rules.DeathStatus(death.status),
            [death_rules.Report(r.source, r.reference, r.date_of_death) for r in prior],
        )
    decision = death_rules.decide(state, death_rules.Report(report.source, report.reference, report.date_of_death))
    report.outcome = decision.outcome.value
    report.explanation = decision.explanation
    if decision.outcome == death_rules.Outcome.RECORDED:
        if death is None:
            death = Death(id=uuid.uuid4(), person_id=person.id, date_of_death=report.date_of_death, status="reported")
            session.add(death)
        else:  # a revoked death reported again
            death.date_of_death = report.date_of_death
            death.status = "reported"
        person.status = "deceased"
        person.date_of_death = report.date_of_death
        await session.flush()
        report.death_id = death.id
        await emit(
            session,
            "registry.person.died",
            person.id,
            ev.PersonDied(**_ref(person), death_id=death.id, date_of_death=death.date_of_death, source=report.source, status="reported"),  # type: ignore[arg-type]
        )
        return
    assert death is not None
    report.death_id = death.id
    death.status = decision.status.value
    if decision.outcome == death_rules.Outcome.CONFIRMED:
        death.confirmed_at = utcnow()
        sources = sorted((state.sources if state else set()) | {report.source})
        await emit(
            session,
            "registry.death.confirmed",
            person.id,
            ev.DeathConfirmed(
                **_ref(person),  # type: ignore[arg-type]
                death_id=death.id,
                date_of_death=death.date_of_death,
                source=report.source,  # type: ignore[arg-type]
                status="confirmed",
                sources=sources,
            ),
        )
    await session.flush()


async def _result(session: AsyncSession, report: DeathReport, outcome: str | None = None) -> DeathResult:
    death = person = None
    reports = [report]
    if report.death_id:
        death = await session.get(Death, report.death_id)
        if death is not None:
            person = await session.get(Person, death.person_id)
            reports = list((await session.execute(select(DeathReport).where(DeathReport.death_id == death.id).order_by(DeathReport.seq))).scalars())
    if outcome:
        report = DeathReport(**{c.key: getattr(report, c.key) for c in DeathReport.__table__.columns})
        report.outcome = outcome
        report.explanation = "the same report (source and reference) was received before"
    return DeathResult(report, death, person, reports)


# -- household registration (户籍) ----------------------------------------------------


async def change_hukou(
    session: AsyncSession,
    *,
    id_number: str,
    kind: str,
    from_division: str | None,
    to_division: str | None,
    effective_date: date,
    source: str,
    reference: str,
    channel: str,
    scope: str | None = None,
) -> tuple[HukouChange, Person, str]:
    problem = hukou_rules.validate(kind, from_division, to_division)
    if problem:
        raise Invalid(problem[1], field=problem[0])
    if scope and not any(d and d.startswith(scope) for d in (from_division, to_division)):
        raise Forbidden("neither end of the change lies in your division", field="to_division")
    with unscoped(session):  # a move-in comes from outside the caller's division
        person = await person_by_id_number(session, identity.parse(id_number).value, lock=True)
    if person is None:
        raise NotFound("the person is not registered; register them first", field="id_number")
    dup = (
        await session.execute(select(HukouChange).where(HukouChange.source == source, HukouChange.reference == reference))
    ).scalar_one_or_none()
    if dup is not None:
        return dup, person, "duplicate"
    change = HukouChange(
        id=uuid.uuid4(),
        person_id=person.id,
        kind=kind,
        from_division=from_division,
        to_division=to_division,
        effective_date=effective_date,
        source=source,
        reference=reference,
        channel=channel,
    )
    session.add(change)
    await session.flush()
    history = (await session.execute(select(HukouChange).where(HukouChange.person_id == person.id))).scalars().all()
    residence = hukou_rules.current(
        [hukou_rules.Change(c.kind, c.from_division, c.to_division, c.effective_date, c.seq) for c in history],
        person.registered_division,
    )
    person.hukou_division = residence.hukou_division
    person.in_district = residence.in_district
    await session.flush()
    await emit(
        session,
        hukou_rules.event_type(kind),
        person.id,
        ev.HukouChanged(
            **_ref(person),  # type: ignore[arg-type]
            change_id=change.id,
            kind=kind,  # type: ignore[arg-type]
            from_division=from_division,
            to_division=to_division,
            effective_date=effective_date,
            in_district=residence.in_district,
        ),
    )
    return change, person, "recorded"


# -- households -------------------------------------------------------------------------


async def create_household(
    session: AsyncSession, *, hukou_division: str, address: str | None, members: list[tuple[str, str]], scope: str | None = None
) -> Household:
    if scope and not hukou_division.startswith(scope):
        raise Forbidden(f"division {hukou_division} is outside your division {scope}", field="hukou_division")
    household = Household(id=uuid.uuid4(), hukou_division=hukou_division, address=address)
    session.add(household)
    await session.flush()
    after = []
    for id_number, relation in members:
        person = await person_by_id_number(session, id_number, lock=True)
        if person is None:
            raise Invalid("this member is not registered", field="members.id_number")
        if person.household_id is not None:
            raise Conflict("this member already belongs to a household", field="members.id_number")
        person.household_id = household.id
        session.add(HouseholdMember(household_id=household.id, person_id=person.id, relation=relation))
        if relation == "head":
            household.head_person_id = person.id
        after.append(ev.HouseholdMember(person_id=person.id, relation=relation))
    await session.flush()
    await emit(
        session,
        "registry.household.changed",
        household.id,
        ev.HouseholdChanged(
            household_id=household.id,
            hukou_division=hukou_division,
            head_person_id=household.head_person_id,
            reason="created",
            members_before=[],
            members_after=after,
        ),
    )
    return household


async def household_members(session: AsyncSession, household_id: uuid.UUID) -> list[tuple[HouseholdMember, Person]]:
    rows = await session.execute(
        select(HouseholdMember, Person)
        .join(Person, Person.id == HouseholdMember.person_id)
        .where(HouseholdMember.household_id == household_id)
        .order_by(HouseholdMember.joined_at)
    )
    return [(m, p) for m, p in rows.all()]
