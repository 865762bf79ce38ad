"""`GET /v1/payrolls`: the payrolls built, month by month, with their sums (assistance's and eldercare's alike).

A report of several months (the district's January-October, a town's year) needs every payroll's totals without
knowing their ids: this listing answers them by month, paged, each with its sums by program, kind of line and status
(lines and yuan) and its withheld lines by reason. The sums are of the lines the caller's division covers (the
session's filter scopes the lines and the stored totals as it scopes every read), so a town sees its own share.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import Select, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.app import Session
from shared.auth import require
from shared.money import Money
from shared.paging import Limit, Offset, Page

MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
Sums = Callable[[list[uuid.UUID]], Select[Any]]


class PayrollSum(BaseModel):
    """Lines and yuan of one program, kind of line and status."""

    program: str
    kind: str = Field(description="regular, back_pay, one_off or grant")
    status: str = Field(description="paid or withheld")
    lines: int
    amount: Money


class WithheldSum(BaseModel):
    """Lines withheld by the pre-payment gate for one reason."""

    reason_code: str | None
    lines: int
    amount: Money


class PayrollMonthOut(BaseModel):
    id: uuid.UUID
    month: str
    sums: list[PayrollSum]
    withheld_by_reason: list[WithheldSum]
    created_at: datetime


def month_start(text: str | None) -> date | None:
    return None if text is None else date(int(text[:4]), int(text[5:7]), 1)


async def payrolls_page(
    session: AsyncSession,
    *,
    payroll: Any,
    sums: Sums,
    lines: Any,
    month: date | None,
    limit: int,
    offset: int,
) -> Page[PayrollMonthOut]:
    """A page of payrolls by month (one month's when `month` is given) with their sums.

    `payroll` is the service's payroll model; `sums` builds the statement of the payrolls' sums (`stored_sums` or
    `line_sums`); `lines` is the line model (for the withheld reasons). The ORM entities are selected, so the
    session's division filter scopes every sum.
    """
    wanted = select(payroll).where(payroll.month == month) if month else select(payroll)
    total = (await session.execute(select(func.count()).select_from(wanted.subquery()))).scalar_one()
    page = list((await session.execute(wanted.order_by(payroll.month).limit(limit).offset(offset))).scalars())
    ids = [p.id for p in page]
    by_payroll: dict[uuid.UUID, list[PayrollSum]] = {i: [] for i in ids}
    for pid, program, kind, status, n, amount in (await session.execute(sums(ids))).all():
        by_payroll[pid].append(PayrollSum(program=program, kind=kind, status=status, lines=n, amount=amount))
    reasons: dict[uuid.UUID, list[WithheldSum]] = {i: [] for i in ids}
    withheld = (
        select(lines.payroll_id, lines.reason_code, func.count(), func.sum(lines.amount))
        .where(lines.payroll_id.in_(ids), lines.status == "withheld")
        .group_by(lines.payroll_id, lines.reason_code)
        .order_by(lines.reason_code)
    )
    for pid, code, n, amount in (await session.execute(withheld)).all():
        reasons[pid].append(WithheldSum(reason_code=code, lines=n, amount=amount))
    items = [
        PayrollMonthOut(
            id=p.id,
            month=p.month.strftime("%Y-%m"),
            sums=by_payroll[p.id],
            withheld_by_reason=reasons[p.id],
            created_at=p.created_at,
        )
        for p in page
    ]
    return Page(items=items, total=total, limit=limit, offset=offset)


def stored_sums(totals: Any) -> Sums:
    """Sums read from a service's stored totals (payroll_id, program, kind, status, lines, amount by division)."""

    def statement(ids: list[uuid.UUID]) -> Select[Any]:
        groups = (totals.payroll_id, totals.program, totals.kind, totals.status)
        return (
            select(*groups, func.sum(totals.lines), func.sum(totals.amount))
            .where(totals.payroll_id.in_(ids))
            .group_by(*groups)
            .order_by(totals.program, totals.kind, totals.status)
        )

    return statement


def line_sums(lines: Any, program: str) -> Sums:
    """Sums of a service's lines grouped at read time (a service of one program, without stored totals)."""

    def statement(ids: list[uuid.UUID]) -> Select[Any]:
        groups = (lines.payroll_id, lines.kind, lines.status)
        return (
            select(lines.payroll_id, literal(program), lines.kind, lines.status, func.count(), func.sum(lines.amount))
            .where(lines.payroll_id.in_(ids))
            .group_by(*groups)
            .order_by(lines.kind, lines.status)
        )

    return statement


def router(scope: str, *, payroll: Any, sums: Sums, lines: Any) -> APIRouter:
    """The service's `GET /v1/payrolls` (read with `scope`) over its payroll, sums and line models."""
    api = APIRouter(prefix="/v1/payrolls", tags=["payrolls"])

    @api.get(
        "",
        response_model=Page[PayrollMonthOut],
        summary="Payrolls by month (one month's: ?month=YYYY-MM) with their sums (of your division)",
        dependencies=[require(scope)],
    )
    async def listing(
        session: Session,
        month: Annotated[str | None, Query(pattern=MONTH_PATTERN)] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[PayrollMonthOut]:
        return await payrolls_page(
            session, payroll=payroll, sums=sums, lines=lines, month=month_start(month), limit=limit, offset=offset
        )

    return api
