"""Marriage registry (婚姻登记): marriages, divorces, certificate reissues (补领结婚证/离婚证)."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.domain import marriage as rules
from services.registry.models import CertificateReissue, Marriage, Person
from services.registry.usecases.common import history, person_by_id_number
from services.registry.usecases.households import get_household, move_member
from shared import clock, divisions, locks
from shared import event_types as ev
from shared.db import scope_of, unscoped
from shared.events import publish
from shared.problems import Conflict, Invalid, NotFound


def _refuse(refusal: rules.Refusal | None) -> None:
    if refusal is not None:
        raise Invalid(refusal.reason, field=refusal.field)


async def _party(session: AsyncSession, id_number: str, field: str) -> Person:
    """A party to a marriage or an adoption, wherever in the district they are registered.

    A district-wide lookup: one party may live in another division. The
    caller must cover at least one party (`_one_is_yours`) before anything
    about either is answered.
    """
    with unscoped(session):
        person = await person_by_id_number(session, id_number, lock=True)
    if person is None:
        raise NotFound("no such person in your division", field=field)
    return person


def _one_is_yours(session: AsyncSession, field: str, *persons: Person) -> None:
    """404, as for an unknown number, unless the caller's division covers one of the persons."""
    scope = scope_of(session)
    if not any(divisions.covers(scope, p.hukou_division) for p in persons):
        raise NotFound("no such person in your division", field=field)


def _event(m: Marriage) -> dict[str, object]:
    return {
        "marriage_id": m.id,
        "party_a": m.party_a,
        "party_b": m.party_b,
        "registered_on": m.registered_on,
        "division": m.registration_division,
    }


async def register_marriage(
    session: AsyncSession,
    *,
    party_a: str,
    party_b: str,
    registered_on: date,
    registration_division: str,
    certificate_no: str,
    household_id: uuid.UUID | None = None,
    joining: str | None = None,
    today: date | None = None,
) -> tuple[Marriage, bool]:
    """Register a marriage; (marriage, created). The same certificate again answers the marriage on file."""
    await locks.hold(session, "marriage", certificate_no)  # the same certificate at once: the second finds the first
    existing = (
        await session.execute(select(Marriage).where(Marriage.certificate_no == certificate_no))
    ).scalar_one_or_none()
    if party_a == party_b:
        raise Invalid("the two parties are the same person", field="party_b")
    a, b = await _party(session, party_a, "party_a"), await _party(session, party_b, "party_b")
    _one_is_yours(session, "party_a", a, b)
    if existing is not None:
        if {existing.party_a, existing.party_b} == {a.id, b.id}:
            return existing, False
        raise Conflict("this certificate number belongs to another marriage", field="certificate_no")
    _refuse(
        rules.check_marriage(
            rules.Party("party_a", a.sex, a.birth_date, a.status == "alive", a.marital_status),
            rules.Party("party_b", b.sex, b.birth_date, b.status == "alive", b.marital_status),
            registered_on,
            registration_division,
            today or clock.today(),
        )
    )
    marriage = Marriage(
        id=uuid.uuid4(),
        party_a=a.id,
        party_b=b.id,
        registered_on=registered_on,
        registration_division=registration_division,
        certificate_no=certificate_no,
        status="married",
    )
    session.add(marriage)
    a.marital_status = b.marital_status = "married"
    await session.flush()
    for p in (a, b):
        await history(
            session,
            p.id,
            "marriage_registered",
            registered_on,
            f"married ({certificate_no}) at {registration_division}",
            marriage.id,
        )
    await publish(session, ev.MarriageRegistered(**_event(marriage)))  # type: ignore[arg-type]
    if household_id is not None:
        joiner, stayer = (a, b) if joining == "party_a" else (b, a)
        household = await get_household(session, household_id, lock=True)
        if stayer.household_id != household.id:
            raise Invalid("the household must be the other party's", field="household.household_id")
        await move_member(
            session, household, joiner, "spouse", "marriage", who="the joining party", field="household.joining"
        )
    return marriage, True


async def get_marriage(session: AsyncSession, marriage_id: uuid.UUID, *, lock: bool = False) -> Marriage:
    stmt = select(Marriage).where(Marriage.id == marriage_id)
    if lock:
        stmt = stmt.with_for_update()
    marriage = (await session.execute(stmt)).scalar_one_or_none()
    if marriage is None:
        raise NotFound("no such marriage", field="marriage_id")
    # Visible when one party lies in the caller's division (Person is division-scoped).
    visible = (
        await session.execute(
            select(func.count()).select_from(Person).where(Person.id.in_([marriage.party_a, marriage.party_b]))
        )
    ).scalar_one()
    if not visible:
        raise NotFound("no such marriage in your division", field="marriage_id")
    return marriage


async def register_divorce(
    session: AsyncSession, *, marriage_id: uuid.UUID, divorced_on: date, certificate_no: str, today: date | None = None
) -> tuple[Marriage, bool]:
    marriage = await get_marriage(session, marriage_id, lock=True)
    if marriage.status == "divorced" and marriage.divorce_certificate_no == certificate_no:
        return marriage, False
    clash = (
        await session.execute(select(Marriage.id).where(Marriage.divorce_certificate_no == certificate_no))
    ).scalar_one_or_none()
    if clash is not None:
        raise Conflict("this divorce certificate number belongs to another divorce", field="certificate_no")
    _refuse(rules.check_divorce(marriage.status, marriage.registered_on, divorced_on, today or clock.today()))
    with unscoped(session):  # the marriage is the caller's (get_marriage); its other party may live elsewhere
        parties = (
            (
                await session.execute(
                    select(Person).where(Person.id.in_([marriage.party_a, marriage.party_b])).with_for_update()
                )
            )
            .scalars()
            .all()
        )
    marriage.status, marriage.divorced_on, marriage.divorce_certificate_no = "divorced", divorced_on, certificate_no
    for p in parties:
        if p.marital_status == "married":
            p.marital_status = "divorced"
        await history(session, p.id, "divorce_registered", divorced_on, f"divorced ({certificate_no})", marriage.id)
    await session.flush()
    await publish(session, ev.DivorceRegistered(**_event(marriage), divorced_on=divorced_on))  # type: ignore[arg-type]
    return marriage, True


async def reissue_certificate(
    session: AsyncSession,
    *,
    marriage_id: uuid.UUID,
    kind: str,
    applicant: str,
    reason: str,
    certificate_no: str,
    issued_on: date,
) -> tuple[CertificateReissue, bool]:
    marriage = await get_marriage(session, marriage_id, lock=True)
    existing = (
        await session.execute(select(CertificateReissue).where(CertificateReissue.certificate_no == certificate_no))
    ).scalar_one_or_none()
    if existing is not None:
        if existing.marriage_id == marriage.id and existing.kind == kind:
            return existing, False
        raise Conflict("this certificate number was issued before", field="certificate_no")
    _refuse(rules.check_reissue(kind, marriage.status))
    if issued_on > clock.today():
        raise Invalid("the issue date is in the future", field="issued_on")
    person = await _party(session, applicant, "applicant_id_number")
    if person.id not in (marriage.party_a, marriage.party_b):
        raise Invalid("the applicant is not a party to this marriage", field="applicant_id_number")
    reissue = CertificateReissue(
        id=uuid.uuid4(),
        marriage_id=marriage.id,
        kind=kind,
        applicant_person_id=person.id,
        certificate_no=certificate_no,
        issued_on=issued_on,
        reason=reason,
    )
    session.add(reissue)
    await session.flush()
    await history(
        session,
        person.id,
        f"{kind}_certificate_reissued",
        issued_on,
        f"{kind} certificate reissued ({certificate_no}): {reason}",
        reissue.id,
    )
    await publish(
        session,
        ev.CertificateReissued(
            reissue_id=reissue.id,
            marriage_id=marriage.id,
            kind=kind,
            applicant_person_id=person.id,
            certificate_no=certificate_no,
            issued_on=issued_on,
        ),
    )  # type: ignore[arg-type]
    return reissue, True


async def list_marriages(
    session: AsyncSession, *, person_id: uuid.UUID | None, status: str | None, limit: int, offset: int
) -> tuple[int, list[Marriage]]:
    visible = select(Person.id)  # division-scoped: marriages with a party in the caller's division
    stmt = select(Marriage).where(or_(Marriage.party_a.in_(visible), Marriage.party_b.in_(visible)))
    if person_id:
        stmt = stmt.where(or_(Marriage.party_a == person_id, Marriage.party_b == person_id))
    if status:
        stmt = stmt.where(Marriage.status == status)
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    rows = (
        (await session.execute(stmt.order_by(Marriage.registered_on.desc(), Marriage.id).limit(limit).offset(offset)))
        .scalars()
        .all()
    )
    return total, list(rows)
