"""/v1/standards: the policy figures in force on a date; district staff add rows; changes audited."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from services.assistance import amounts
from services.assistance import standard_usecases as usecases
from services.assistance.domain.standards import FIGURES, StandardRow
from services.assistance.schemas import FigureOut, StandardChangeOut, StandardIn, StandardsOut
from shared import clock
from shared.app import Session
from shared.auth import Principal, require
from shared.fields import CivilDate
from shared.paging import Limit, Offset

router = APIRouter(prefix="/v1/standards", tags=["standards"])


def figure_out(row: StandardRow) -> FigureOut:
    spec = FIGURES[row.key]
    return FigureOut(
        key=row.key,
        label=spec.label,
        unit=spec.unit,
        value=row.value,
        effective_from=row.effective_from,
        source=row.source,
    )


@router.get("", response_model=StandardsOut, summary="The figures in force on a date (default today)")
async def in_force(
    session: Session,
    _: Annotated[Principal, require("assistance:read")],
    on: Annotated[CivilDate | None, Query(description="the date (YYYY-MM-DD); today if absent")] = None,
) -> StandardsOut:
    day = on or clock.today()
    rows = await usecases.listing(session, day)
    return StandardsOut(on=day, items=[figure_out(r) for r in rows if r.key in FIGURES])


@router.post(
    "",
    response_model=FigureOut,
    status_code=status.HTTP_201_CREATED,
    summary="Add a row of a figure from an effective date (district staff; audited)",
)
async def add(
    body: StandardIn, session: Session, principal: Annotated[Principal, require("assistance:write")]
) -> FigureOut:
    row, _change = await usecases.add(
        session, principal, key=body.key, value=body.value, effective_from=body.effective_from, source=body.source
    )
    await amounts.after_standard(session, body.key, body.effective_from)  # open cases recomputed, each recorded
    await session.commit()
    return figure_out(StandardRow(row.key, row.value, row.effective_from, row.source))


@router.get("/changes", response_model=list[StandardChangeOut], summary="The audit of changes: who, when, old and new")
async def changes(
    session: Session,
    _: Annotated[Principal, require("assistance:read")],
    key: Annotated[str | None, Query(max_length=60)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[StandardChangeOut]:
    rows = await usecases.changes(session, key, limit, offset)
    return [StandardChangeOut.model_validate(r, from_attributes=True) for r in rows]
