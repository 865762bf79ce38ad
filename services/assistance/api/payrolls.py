"""/v1/payrolls: build a month's payroll (idempotent), its totals, its lines, the bank file."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from services import bank_file
from services.assistance import payroll as usecases
from services.assistance.models import Payroll, PayrollLine
from services.assistance.schemas import FigureUsedOut, Page, PayrollIn, PayrollLineOut, PayrollOut
from shared import divisions, identity
from shared.app import Session
from shared.audit import record_read
from shared.auth import Principal, require
from shared.db import guard
from shared.fields import id_number_param
from shared.paging import Limit, Offset

router = APIRouter(prefix="/v1/payrolls", tags=["payrolls"])


async def payroll_out(session: Session, payroll: Payroll) -> PayrollOut:
    t = await usecases.totals(session, payroll.id)
    return PayrollOut(
        id=payroll.id,
        month=payroll.month.strftime("%Y-%m"),
        total=t.total,
        withheld_total=t.withheld_total,
        paid_lines=t.paid_lines,
        withheld_lines=t.withheld_lines,
        by_program=t.by_program,
        by_division=t.by_division,
        by_kind=t.by_kind,
        standards=[FigureUsedOut(**f) for f in payroll.standards],
        created_by=payroll.created_by,
        created_at=payroll.created_at,
    )


def line_out(line: PayrollLine, principal: Principal) -> PayrollLineOut:
    return PayrollLineOut(
        id=line.id,
        case_id=line.case_id,
        application_id=line.application_id,
        person_id=line.person_id,
        id_number=line.id_number if principal.sees_pii else identity.mask(line.id_number),
        program=line.program,
        month=line.for_month.strftime("%Y-%m"),
        kind=line.kind,  # type: ignore[arg-type]
        amount=line.amount,
        status=line.status,
        reason_code=line.reason_code,
        reason=line.reason,  # type: ignore[arg-type]
        hukou_division=line.hukou_division,
    )


@router.post(
    "",
    response_model=PayrollOut,
    status_code=status.HTTP_201_CREATED,
    summary="Build a month's payroll (district staff); the same month again answers the same payroll (200)",
    responses={200: {"model": PayrollOut, "description": "the payroll of this month, built before"}},
)
async def build(
    body: PayrollIn, response: Response, session: Session, principal: Annotated[Principal, require("assistance:write")]
) -> PayrollOut:
    guard(session, divisions.DISTRICT, field="month", detail="payrolls are built by the district")
    built = await usecases.build(session, month=usecases.parse_month(body.month), actor=principal.sub)
    await session.commit()
    response.status_code = status.HTTP_201_CREATED if built.created else status.HTTP_200_OK
    return await payroll_out(session, built.payroll)


@router.get("/{payroll_id}", response_model=PayrollOut, summary="A payroll with its totals (of your division)")
async def get(
    payroll_id: uuid.UUID, session: Session, _: Annotated[Principal, require("assistance:read")]
) -> PayrollOut:
    return await payroll_out(session, await usecases.get(session, payroll_id))


@router.get("/{payroll_id}/lines", response_model=Page[PayrollLineOut], summary="Lines (one person's: ?id_number=)")
async def lines(
    payroll_id: uuid.UUID,
    request: Request,
    session: Session,
    principal: Annotated[Principal, require("assistance:read")],
    id_number: Annotated[str | None, Query(max_length=18)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[PayrollLineOut]:
    await usecases.get(session, payroll_id)
    number = id_number_param(id_number)
    rows, total = await usecases.lines(session, payroll_id, id_number=number, limit=limit, offset=offset)
    await record_read(session, principal, request, sorted({r.person_id for r in rows}))
    await session.commit()
    return Page(items=[line_out(r, principal) for r in rows], total=total, limit=limit, offset=offset)


@router.get(
    "/{payroll_id}/export",
    summary="The bank file: paid lines as CSV, streamed",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
async def export(
    payroll_id: uuid.UUID,
    request: Request,
    session: Session,
    principal: Annotated[Principal, require("assistance:read")],
) -> StreamingResponse:
    payroll = await usecases.get(session, payroll_id)
    name = f"payroll-{payroll.month.strftime('%Y-%m')}.csv"
    return bank_file.response(request, payroll_id, principal, filename=name, rows=usecases.export_rows)
