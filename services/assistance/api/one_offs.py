"""/v1/one-off-subsidies: the district's one-off subsidies (一次性补贴), each paid in its month's payroll."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from services.assistance import one_offs as usecases
from services.assistance.models import OneOffSubsidy
from services.assistance.payroll import BadMonth, parse_month
from services.assistance.schemas import MonthlyProgram, OneOffIn, OneOffOut
from shared.app import Session
from shared.auth import Principal, require
from shared.paging import Limit, Offset
from shared.problems import Invalid

router = APIRouter(prefix="/v1/one-off-subsidies", tags=["payrolls"])


def one_off_out(row: OneOffSubsidy) -> OneOffOut:
    return OneOffOut(
        id=row.id,
        program=row.program,
        month=row.month.strftime("%Y-%m"),
        amount_per_person=row.amount_per_person,
        decision=row.decision,
        decided_by=row.decided_by,
        created_at=row.created_at,
    )


@router.post(
    "",
    response_model=OneOffOut,
    status_code=status.HTTP_201_CREATED,
    summary="Record a district decision to pay a one-off subsidy per person of a program in a month's payroll",
)
async def decide(
    body: OneOffIn, session: Session, principal: Annotated[Principal, require("assistance:write")]
) -> OneOffOut:
    row = await usecases.decide(
        session,
        principal,
        program=body.program,
        month=parse_month(body.month),
        amount=body.amount_per_person,
        decision=body.decision,
    )
    await session.commit()
    return one_off_out(row)


@router.get("", response_model=list[OneOffOut], summary="The one-off subsidies decided (district policy)")
async def listing(
    session: Session,
    _: Annotated[Principal, require("assistance:read")],
    month: Annotated[str | None, Query(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")] = None,
    program: Annotated[MonthlyProgram | None, Query()] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[OneOffOut]:
    try:
        day = parse_month(month) if month else None
    except BadMonth as exc:
        raise Invalid(str(exc), field="month") from exc
    rows = await usecases.listing(session, month=day, program=program, limit=limit, offset=offset)
    return [one_off_out(r) for r in rows]
