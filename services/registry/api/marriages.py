"""/v1/marriages: register a marriage (结婚登记), list and read, reissue a certificate (补领)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, status

from services.registry.models import CertificateReissue, Marriage
from services.registry.schemas import MarriageIn, MarriageOut, Page, ReissueIn, ReissueOut
from services.registry.usecases import marriages as cases
from shared.app import Session
from shared.audit import record_read
from shared.auth import Principal, require
from shared.paging import Limit, Offset

router = APIRouter(prefix="/v1/marriages", tags=["marriages"])


def marriage_out(m: Marriage) -> MarriageOut:
    return MarriageOut(
        marriage_id=m.id,
        party_a=m.party_a,
        party_b=m.party_b,
        registered_on=m.registered_on,
        registration_division=m.registration_division,
        certificate_no=m.certificate_no,
        status=m.status,
        divorced_on=m.divorced_on,
        divorce_certificate_no=m.divorce_certificate_no,
    )


@router.post(
    "",
    response_model=MarriageOut,
    status_code=status.HTTP_201_CREATED,
    summary="Register a marriage",
    responses={200: {"model": MarriageOut, "description": "the same certificate again: the marriage on file"}},
)
async def register(
    body: MarriageIn, response: Response, session: Session, principal: Annotated[Principal, require("registry:write")]
) -> MarriageOut:
    marriage, created = await cases.register_marriage(
        session,
        party_a=body.party_a,
        party_b=body.party_b,
        registered_on=body.registered_on,
        registration_division=body.registration_division,
        certificate_no=body.certificate_no,
        household_id=body.household.household_id if body.household else None,
        joining=body.household.joining if body.household else None,
    )
    await session.commit()
    if not created:
        response.status_code = 200
    return marriage_out(marriage)


@router.get("", response_model=Page[MarriageOut], summary="Marriages with a party in your division")
async def find(
    request: Request,
    session: Session,
    principal: Annotated[Principal, require("registry:read")],
    person_id: Annotated[uuid.UUID | None, Query()] = None,
    status: Annotated[Literal["married", "divorced"] | None, Query()] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[MarriageOut]:
    total, rows = await cases.list_marriages(session, person_id=person_id, status=status, limit=limit, offset=offset)
    await record_read(session, principal, request, [pid for m in rows for pid in (m.party_a, m.party_b)])
    await session.commit()
    return Page(items=[marriage_out(m) for m in rows], total=total, limit=limit, offset=offset)


@router.get("/{marriage_id}", response_model=MarriageOut, summary="One marriage")
async def get(
    marriage_id: uuid.UUID,
    request: Request,
    session: Session,
    principal: Annotated[Principal, require("registry:read")],
) -> MarriageOut:
    marriage = await cases.get_marriage(session, marriage_id)
    await record_read(session, principal, request, [marriage.party_a, marriage.party_b])
    await session.commit()
    return marriage_out(marriage)


def reissue_out(r: CertificateReissue) -> ReissueOut:
    return ReissueOut(
        reissue_id=r.id,
        marriage_id=r.marriage_id,
        kind=r.kind,
        applicant_person_id=r.applicant_person_id,
        certificate_no=r.certificate_no,
        issued_on=r.issued_on,
    )


@router.post(
    "/{marriage_id}/reissues",
    response_model=ReissueOut,
    status_code=status.HTTP_201_CREATED,
    summary="补领结婚证/离婚证: reissue a certificate",
    responses={200: {"model": ReissueOut, "description": "the same reissue again"}},
)
async def reissue(
    marriage_id: uuid.UUID,
    body: ReissueIn,
    response: Response,
    session: Session,
    principal: Annotated[Principal, require("registry:write")],
) -> ReissueOut:
    r, created = await cases.reissue_certificate(
        session,
        marriage_id=marriage_id,
        kind=body.kind,
        applicant=body.applicant_id_number,
        reason=body.reason,
        certificate_no=body.certificate_no,
        issued_on=body.issued_on,
    )
    await session.commit()
    if not created:
        response.status_code = 200
    return reissue_out(r)
