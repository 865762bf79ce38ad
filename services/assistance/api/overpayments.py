"""/v1/overpayments: what was paid after a confirmed death; recovered or written off, with who and when."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from services.assistance import overpayments as usecases
from services.assistance.models import Overpayment
from services.assistance.schemas import OverpaymentOut, Page, ResolutionIn
from shared import identity
from shared.app import Session
from shared.audit import record_read
from shared.auth import Principal, require
from shared.paging import Limit, Offset
from shared.problems import Invalid

router = APIRouter(prefix="/v1/overpayments", tags=["overpayments"])


def overpayment_out(o: Overpayment, principal: Principal) -> OverpaymentOut:
    out = OverpaymentOut.model_validate(o, from_attributes=True)
    return out if principal.sees_pii else out.model_copy(update={"id_number": identity.mask(o.id_number)})


@router.get("", response_model=Page[OverpaymentOut], summary="Overpayments (filter by person, status)")
async def listing(
    request: Request,
    session: Session,
    principal: Annotated[Principal, require("assistance:read")],
    id_number: Annotated[str | None, Query(max_length=18)] = None,
    status: Literal["open", "recovered", "written_off"] | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[OverpaymentOut]:
    number = None
    if id_number is not None:
        try:
            number = identity.parse(id_number).value
        except identity.InvalidIdNumber as exc:
            raise Invalid(f"invalid identity number: {exc}", field="id_number") from exc
    rows, total = await usecases.listing(session, id_number=number, status=status, limit=limit, offset=offset)
    await record_read(session, principal, request, sorted({r.person_id for r in rows}))
    await session.commit()
    return Page(items=[overpayment_out(r, principal) for r in rows], total=total, limit=limit, offset=offset)


@router.post("/{overpayment_id}/recover", response_model=OverpaymentOut, summary="Recorded as recovered (who, when)")
async def recover(
    overpayment_id: uuid.UUID,
    session: Session,
    principal: Annotated[Principal, require("assistance:write")],
    body: ResolutionIn | None = None,
) -> OverpaymentOut:
    o = await usecases.resolve(session, principal, overpayment_id, usecases.RECOVERED, body.note if body else None)
    await session.commit()
    return overpayment_out(o, principal)


@router.post("/{overpayment_id}/write-off", response_model=OverpaymentOut, summary="Written off (who, when, why)")
async def write_off(
    overpayment_id: uuid.UUID,
    session: Session,
    principal: Annotated[Principal, require("assistance:write")],
    body: ResolutionIn | None = None,
) -> OverpaymentOut:
    o = await usecases.resolve(session, principal, overpayment_id, usecases.WRITTEN_OFF, body.note if body else None)
    await session.commit()
    return overpayment_out(o, principal)
