"""/v1/institutions: institutions, beds, admissions, discharges, occupancy, monthly safety inspections."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, status
from sqlalchemy import func, select

from services.eldercare.care import institutions as usecases
from services.eldercare.domain.institutions import Occupancy as OccupancyRule
from services.eldercare.models import Admission, Bed, Inspection, Institution
from services.eldercare.schemas import (
    AdmissionIn,
    AdmissionOut,
    BedOut,
    BedsIn,
    DischargeIn,
    FollowUpIn,
    InspectionIn,
    InspectionOut,
    InstitutionIn,
    InstitutionOut,
    Occupancy,
    OccupancySummary,
    Page,
)
from shared import divisions, identity
from shared.app import Session
from shared.audit import record_read
from shared.auth import Principal, require
from shared.paging import Limit, Offset

router = APIRouter(prefix="/v1/institutions", tags=["institutions"])
Reader = Annotated[Principal, require("eldercare:read")]
Writer = Annotated[Principal, require("eldercare:write")]


def occupancy_out(o: OccupancyRule) -> Occupancy:
    return Occupancy(beds=o.beds, occupied=o.occupied, free=o.free, rate_percent=o.rate)


def institution_out(i: Institution, o: OccupancyRule) -> InstitutionOut:
    return InstitutionOut(
        institution_id=i.id,
        name=i.name,
        ownership=i.ownership,
        division=i.hukou_division,
        address=i.address,
        occupancy=occupancy_out(o),
    )


def admission_out(a: Admission, bed_code: str, principal: Principal) -> AdmissionOut:
    return AdmissionOut(
        admission_id=a.id,
        institution_id=a.institution_id,
        bed_id=a.bed_id,
        bed_code=bed_code,
        person_id=a.person_id,
        id_number=a.id_number if principal.sees_pii else identity.mask(a.id_number),
        hukou_division=a.hukou_division,
        admitted_on=a.admitted_on,
        discharged_on=a.discharged_on,
        discharge_reason=a.discharge_reason,
    )


def inspection_out(i: Inspection) -> InspectionOut:
    return InspectionOut(
        inspection_id=i.id,
        institution_id=i.institution_id,
        month=i.month,
        inspected_on=i.inspected_on,
        inspector=i.inspector,
        findings=i.findings,  # type: ignore[arg-type]
        follow_up_status=i.follow_up_status,
        follow_up_on=i.follow_up_on,
        follow_up_note=i.follow_up_note,
    )


async def bed_code(session: Session, bed_id: uuid.UUID) -> str:
    return (await session.execute(select(Bed.code).where(Bed.id == bed_id))).scalar_one()


@router.post(
    "",
    response_model=InstitutionOut,
    status_code=status.HTTP_201_CREATED,
    summary="Register an institution (public, private, publicly built and privately run)",
)
async def create(body: InstitutionIn, session: Session, principal: Writer) -> InstitutionOut:
    i = await usecases.create(session, body)
    await session.commit()
    return institution_out(i, OccupancyRule(0, 0))


@router.get("", response_model=Page[InstitutionOut], summary="List institutions with their occupancy")
async def list_institutions(
    session: Session,
    principal: Reader,
    ownership: Literal["public", "private", "public_built_private_run"] | None = None,
    division: Annotated[str | None, Query(max_length=12)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[InstitutionOut]:
    stmt = select(Institution)
    if ownership:
        stmt = stmt.where(Institution.ownership == ownership)
    if division:
        stmt = stmt.where(divisions.covers_clause(Institution.hukou_division, division))
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    rows = (
        (await session.execute(stmt.order_by(Institution.name, Institution.id).limit(limit).offset(offset)))
        .scalars()
        .all()
    )
    occ = await usecases.occupancy(session, [i.id for i in rows])
    return Page(items=[institution_out(i, occ[i.id]) for i in rows], total=total, limit=limit, offset=offset)


@router.get(
    "/occupancy",
    response_model=OccupancySummary,
    summary="Occupancy of every institution in the caller's division, in total and by ownership",
)
async def occupancy_summary(session: Session, principal: Reader) -> OccupancySummary:
    rows = (await session.execute(select(Institution.id, Institution.ownership))).all()
    occ = await usecases.occupancy(session, [r.id for r in rows])
    by_kind: dict[str, OccupancyRule] = {}
    for r in rows:
        prev = by_kind.get(r.ownership, OccupancyRule(0, 0))
        by_kind[r.ownership] = OccupancyRule(prev.beds + occ[r.id].beds, prev.occupied + occ[r.id].occupied)
    all_ = OccupancyRule(sum(o.beds for o in occ.values()), sum(o.occupied for o in occ.values()))
    return OccupancySummary(
        institutions=len(rows),
        beds=all_.beds,
        occupied=all_.occupied,
        free=all_.free,
        rate_percent=all_.rate,
        by_ownership={k: occupancy_out(v) for k, v in sorted(by_kind.items())},
    )


@router.get("/{institution_id}", response_model=InstitutionOut, summary="One institution with its occupancy")
async def get_one(institution_id: uuid.UUID, session: Session, principal: Reader) -> InstitutionOut:
    i = await usecases.get(session, institution_id)
    return institution_out(i, (await usecases.occupancy(session, [i.id]))[i.id])


@router.post(
    "/{institution_id}/beds", response_model=list[BedOut], status_code=status.HTTP_201_CREATED, summary="Add beds"
)
async def add_beds(institution_id: uuid.UUID, body: BedsIn, session: Session, principal: Writer) -> list[BedOut]:
    beds = await usecases.add_beds(session, institution_id, body.codes)
    await session.commit()
    return [BedOut(bed_id=b.id, code=b.code, occupied=False) for b in beds]


@router.get(
    "/{institution_id}/beds", response_model=list[BedOut], summary="The institution's beds and whether each is taken"
)
async def list_beds(institution_id: uuid.UUID, session: Session, principal: Reader) -> list[BedOut]:
    await usecases.get(session, institution_id)
    beds = (
        (await session.execute(select(Bed).where(Bed.institution_id == institution_id).order_by(Bed.code)))
        .scalars()
        .all()
    )
    taken = await usecases.occupied_beds(session, institution_id)
    return [BedOut(bed_id=b.id, code=b.code, occupied=b.id in taken) for b in beds]


@router.post(
    "/{institution_id}/admissions",
    response_model=AdmissionOut,
    status_code=status.HTTP_201_CREATED,
    summary="Admit a person to a bed (409 when no bed is free or the bed is taken)",
)
async def admit(
    institution_id: uuid.UUID, body: AdmissionIn, request: Request, session: Session, principal: Writer
) -> AdmissionOut:
    a = await usecases.admit(session, request.app.state.settings, institution_id, body)
    code = await bed_code(session, a.bed_id)
    await session.commit()
    return admission_out(a, code, principal)


@router.get(
    "/{institution_id}/admissions",
    response_model=Page[AdmissionOut],
    summary="Residents (open admissions) or past stays",
)
async def list_admissions(
    institution_id: uuid.UUID,
    request: Request,
    session: Session,
    principal: Reader,
    state: Literal["open", "closed", "all"] = "open",
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[AdmissionOut]:
    await usecases.get(session, institution_id)
    stmt = (
        select(Admission, Bed.code)
        .join(Bed, Bed.id == Admission.bed_id)
        .where(Admission.institution_id == institution_id)
    )
    if state == "open":
        stmt = stmt.where(Admission.discharged_on.is_(None))
    elif state == "closed":
        stmt = stmt.where(Admission.discharged_on.is_not(None))
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    rows = (await session.execute(stmt.order_by(Admission.admitted_on, Admission.id).limit(limit).offset(offset))).all()
    await record_read(session, principal, request, [a.person_id for a, _ in rows])
    await session.commit()
    return Page(items=[admission_out(a, code, principal) for a, code in rows], total=total, limit=limit, offset=offset)


@router.post(
    "/{institution_id}/discharges",
    response_model=AdmissionOut,
    summary="Discharge a resident (the stay is closed, the bed freed)",
)
async def discharge(
    institution_id: uuid.UUID, body: DischargeIn, request: Request, session: Session, principal: Writer
) -> AdmissionOut:
    a = await usecases.discharge(session, request.app.state.settings, institution_id, body)
    code = await bed_code(session, a.bed_id)
    await session.commit()
    return admission_out(a, code, principal)


@router.post(
    "/{institution_id}/inspections",
    response_model=InspectionOut,
    status_code=status.HTTP_201_CREATED,
    summary="Record the month's safety inspection and its findings",
)
async def inspect(institution_id: uuid.UUID, body: InspectionIn, session: Session, principal: Writer) -> InspectionOut:
    i = await usecases.record_inspection(session, institution_id, body)
    await session.commit()
    return inspection_out(i)


@router.get(
    "/{institution_id}/inspections",
    response_model=list[InspectionOut],
    summary="The institution's inspections, latest first",
)
async def list_inspections(
    institution_id: uuid.UUID,
    session: Session,
    principal: Reader,
    follow_up: Literal["none_needed", "open", "closed"] | None = None,
) -> list[InspectionOut]:
    await usecases.get(session, institution_id)
    stmt = select(Inspection).where(Inspection.institution_id == institution_id)
    if follow_up:
        stmt = stmt.where(Inspection.follow_up_status == follow_up)
    return [inspection_out(i) for i in (await session.execute(stmt.order_by(Inspection.month.desc()))).scalars()]


@router.post(
    "/{institution_id}/inspections/{inspection_id}/follow-up",
    response_model=InspectionOut,
    summary="Record the follow-up of an inspection's findings",
)
async def follow_up(
    institution_id: uuid.UUID, inspection_id: uuid.UUID, body: FollowUpIn, session: Session, principal: Writer
) -> InspectionOut:
    i = await usecases.follow_up(session, institution_id, inspection_id, body)
    await session.commit()
    return inspection_out(i)
