"""GET /v1/payrolls: the payrolls built, by month, with their sums by program, kind and status (paged)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services import payroll_months
from services.assistance.models import Payroll, PayrollLine, PayrollTotal
from shared.app import Session
from shared.auth import Principal, require
from shared.paging import Limit, Offset, Page

router = APIRouter(prefix="/v1/payrolls", tags=["payrolls"])


@router.get(
    "",
    response_model=Page[payroll_months.PayrollMonthOut],
    summary="Payrolls by month (one month's: ?month=YYYY-MM) with their sums (of your division)",
)
async def listing(
    session: Session,
    _: Annotated[Principal, require("assistance:read")],
    month: Annotated[str | None, Query(pattern=payroll_months.MONTH_PATTERN)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[payroll_months.PayrollMonthOut]:
    return await payroll_months.listing(
        session,
        payroll=Payroll,
        sums=payroll_months.stored_sums(PayrollTotal),
        lines=PayrollLine,
        month=payroll_months.month_start(month),
        limit=limit,
        offset=offset,
    )
