"""Institutions: beds, admissions and discharges (one resident per bed, even under a race), occupancy, inspections."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.eldercare.care.common import flush_or_conflict, not_future, person_in_scope
from services.eldercare.domain import institutions as rules
from services.eldercare.models import Admission, Bed, Inspection, Institution
from services.eldercare.schemas import AdmissionIn, DischargeIn, FollowUpIn, InspectionIn, InstitutionIn
from shared import clock
from shared import event_types as ev
from shared.db import guard, unscoped
from shared.events import publish, publish_many
from shared.problems import Conflict, Invalid, NotFound
from shared.settings import Settings

# The first free bed, skipping beds another transaction is admitting to: two admissions racing for
# the last bed do not both pick it, and the loser finds none (the unique index is the backstop).
_FREE_BED = text(
    """
    SELECT b.id FROM beds b
    WHERE b.institution_id = :institution_id
      AND NOT EXISTS (SELECT 1 FROM admissions a WHERE a.bed_id = b.id AND a.discharged_on IS NULL)
    ORDER BY b.code
    LIMIT 1
    FOR UPDATE OF b SKIP LOCKED
    """
)


async def create(session: AsyncSession, body: InstitutionIn) -> Institution:
    guard(session, body.division, field="division", detail="no such division in your jurisdiction")
    institution = Institution(
        name=body.name, ownership=body.ownership, address=body.address, hukou_division=body.division
    )
    session.add(institution)
    await flush_or_conflict(
        session, {"uq_institutions_name": Conflict("an institution with this name exists", field="name")}
    )
    return institution


async def get(session: AsyncSession, institution_id: uuid.UUID, *, lock: bool = False) -> Institution:
    """An institution the caller's division covers (else 404, as if unknown)."""
    stmt = select(Institution).where(Institution.id == institution_id)
    found = (await session.execute(stmt.with_for_update() if lock else stmt)).scalar_one_or_none()
    if found is None:
        raise NotFound("no such institution", field="institution_id")
    return found


async def occupancy(session: AsyncSession, institution_ids: list[uuid.UUID]) -> dict[uuid.UUID, rules.Occupancy]:
    """Beds and open admissions per institution.

    Counted district-wide: an institution's residents come from any town, and a
    count names nobody, so the caller's division must not shrink it.
    """
    with unscoped(session):
        beds = dict(
            (
                await session.execute(
                    select(Bed.institution_id, func.count())
                    .where(Bed.institution_id.in_(institution_ids))
                    .group_by(Bed.institution_id)
                )
            ).all()
        )
        taken = dict(
            (
                await session.execute(
                    select(Admission.institution_id, func.count())
                    .where(Admission.institution_id.in_(institution_ids), Admission.discharged_on.is_(None))
                    .group_by(Admission.institution_id)
                )
            ).all()
        )
    return {i: rules.Occupancy(beds.get(i, 0), taken.get(i, 0)) for i in institution_ids}


async def add_beds(session: AsyncSession, institution_id: uuid.UUID, codes: list[str]) -> list[Bed]:
    await get(session, institution_id)
    if len(set(codes)) != len(codes):
        raise Invalid("a bed code is listed twice", field="codes")
    beds = [Bed(institution_id=institution_id, code=code) for code in codes]
    session.add_all(beds)
    await flush_or_conflict(
        session,
        {
            "uq_beds_institution_code": Conflict(
                "a bed with one of these codes exists in this institution", field="codes"
            )
        },
    )
    return beds


async def occupied_beds(session: AsyncSession, institution_id: uuid.UUID) -> set[uuid.UUID]:
    with unscoped(session):  # whether a bed is taken, not by whom
        rows = await session.execute(
            select(Admission.bed_id).where(
                Admission.institution_id == institution_id, Admission.discharged_on.is_(None)
            )
        )
    return set(rows.scalars())


async def _bed_for(session: AsyncSession, institution_id: uuid.UUID, bed_id: uuid.UUID | None) -> uuid.UUID:
    if bed_id is not None:
        bed = (
            await session.execute(select(Bed).where(Bed.id == bed_id, Bed.institution_id == institution_id))
        ).scalar_one_or_none()
        if bed is None:
            raise NotFound("no such bed in this institution", field="bed_id")
        return bed.id
    with unscoped(session):
        free = (await session.execute(_FREE_BED, {"institution_id": institution_id})).scalar_one_or_none()
    if free is None:
        raise Conflict("no free bed in this institution", field="bed_id")
    return free


async def admit(session: AsyncSession, settings: Settings, institution_id: uuid.UUID, body: AdmissionIn) -> Admission:
    """Admit a person to a bed (a chosen one, or the first free); a taken bed or a person already in one is a 409."""
    institution = await get(session, institution_id)
    on = not_future(body.admitted_on or clock.today(), "admitted_on")
    person = await person_in_scope(session, settings, body.id_number)
    bed_id = await _bed_for(session, institution.id, body.bed_id)
    admission = Admission(
        institution_id=institution.id,
        bed_id=bed_id,
        person_id=person.person_id,
        id_number=person.id_number,
        hukou_division=person.hukou_division,
        admitted_on=on,
    )
    session.add(admission)
    await flush_or_conflict(
        session,
        {
            "uq_admissions_open_bed": Conflict("the bed is taken", field="bed_id"),
            "uq_admissions_open_person": Conflict(
                "the person is already admitted to an institution; discharge first", field="id_number"
            ),
        },
    )
    await publish(session, _event(ev.AdmissionRecorded, admission, on, None))
    return admission


def _event(model: type[ev.AdmissionEvent], a: Admission, on: date, reason: str | None) -> ev.AdmissionEvent:
    return model(
        person_id=a.person_id,
        id_number=a.id_number,
        hukou_division=a.hukou_division,
        institution_id=a.institution_id,
        bed_id=a.bed_id,
        on=on,
        reason=reason,
    )


async def discharge(
    session: AsyncSession, settings: Settings, institution_id: uuid.UUID, body: DischargeIn
) -> Admission:
    institution = await get(session, institution_id)
    person = await person_in_scope(session, settings, body.id_number, alive=False)
    admission = (
        await session.execute(
            select(Admission)
            .where(
                Admission.institution_id == institution.id,
                Admission.person_id == person.person_id,
                Admission.discharged_on.is_(None),
            )
            .with_for_update()
        )
    ).scalar_one_or_none()
    if admission is None:
        raise NotFound("the person has no open admission in this institution", field="id_number")
    on = not_future(body.discharged_on or clock.today(), "discharged_on")
    if (why := rules.discharge_refusal(admission.admitted_on, on)) is not None:
        raise Invalid(why, field="discharged_on")
    admission.discharged_on = on
    admission.discharge_reason = body.reason
    await session.flush()
    await publish(session, _event(ev.DischargeRecorded, admission, on, body.reason))
    return admission


# One statement for any number of deaths: each open stay ends on its resident's date of death.
_DISCHARGE_DEAD = text(
    """
    UPDATE admissions a
    SET discharged_on = greatest(a.admitted_on, d.died_on), discharge_reason = 'death'
    FROM unnest(CAST(:person_ids AS uuid[]), CAST(:died_on AS date[])) AS d(person_id, died_on)
    WHERE a.person_id = d.person_id AND a.discharged_on IS NULL
    RETURNING a.person_id, a.id_number, a.hukou_division, a.institution_id, a.bed_id, a.discharged_on
    """
)


async def discharge_on_death(session: AsyncSession, deaths: Mapping[uuid.UUID, date]) -> int:
    """Close the open admissions of persons who died (set-based: one UPDATE, one outbox insert).

    For the death handler: `deaths` maps each person to the date of death, any
    number in one call. The stay ends on that date (never before the admission).
    """
    if not deaths:
        return 0
    ids = list(deaths)
    params = {"person_ids": ids, "died_on": [deaths[i] for i in ids]}
    rows = (await session.execute(_DISCHARGE_DEAD, params)).all()
    await publish_many(
        session,
        [
            ev.DischargeRecorded(
                person_id=r.person_id,
                id_number=r.id_number,
                hukou_division=r.hukou_division,
                institution_id=r.institution_id,
                bed_id=r.bed_id,
                on=r.discharged_on,
                reason="death",
            )
            for r in rows
        ],
    )
    return len(rows)


async def record_inspection(session: AsyncSession, institution_id: uuid.UUID, body: InspectionIn) -> Inspection:
    institution = await get(session, institution_id)
    not_future(body.inspected_on, "inspected_on")
    if f"{body.inspected_on:%Y-%m}" != body.month:
        raise Invalid(
            f"the inspection of {body.month} is dated {body.inspected_on}, another month", field="inspected_on"
        )
    inspection = Inspection(
        institution_id=institution.id,
        month=body.month,
        inspected_on=body.inspected_on,
        inspector=body.inspector,
        findings=[f.model_dump() for f in body.findings],
        follow_up_status=rules.follow_up_status(len(body.findings), follow_up_done=False),
    )
    session.add(inspection)
    await flush_or_conflict(
        session,
        {
            "uq_inspections_institution_month": Conflict(
                f"the {body.month} inspection is already recorded", field="month"
            )
        },
    )
    return inspection


async def follow_up(
    session: AsyncSession, institution_id: uuid.UUID, inspection_id: uuid.UUID, body: FollowUpIn
) -> Inspection:
    await get(session, institution_id)
    inspection = (
        await session.execute(
            select(Inspection)
            .where(Inspection.id == inspection_id, Inspection.institution_id == institution_id)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if inspection is None:
        raise NotFound("no such inspection", field="inspection_id")
    if inspection.follow_up_status != "open":
        raise Conflict(
            f"the inspection's follow-up is {inspection.follow_up_status.replace('_', ' ')}", field="inspection_id"
        )
    not_future(body.done_on, "done_on")
    if body.done_on < inspection.inspected_on:
        raise Invalid(f"the follow-up predates the inspection of {inspection.inspected_on}", field="done_on")
    inspection.follow_up_status = rules.follow_up_status(len(inspection.findings), follow_up_done=True)
    inspection.follow_up_on = body.done_on
    inspection.follow_up_note = body.note
    return inspection
