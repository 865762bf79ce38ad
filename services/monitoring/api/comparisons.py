"""/v1/comparisons: another department's list matched against the records (比对), its findings by id."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from sqlalchemy import select

from services.monitoring.comparisons import ComparisonRun
from services.monitoring.domain.comparisons import SOURCES
from services.monitoring.models import Comparison, ComparisonFinding
from services.monitoring.schemas import ComparisonOut, FindingOut
from shared.app import Session
from shared.auth import Principal, require
from shared.paging import Limit, Offset
from shared.problems import Invalid, NotFound

router = APIRouter(prefix="/v1/comparisons", tags=["comparisons"])
_FORMATS = {
    "application/x-ndjson": "ndjson",
    "application/ndjson": "ndjson",
    "application/jsonl": "ndjson",
    "text/csv": "csv",
}


async def comparison_out(session: Session, c: Comparison, limit: int, offset: int) -> ComparisonOut:
    stmt = (
        select(ComparisonFinding)
        .where(ComparisonFinding.comparison_id == c.id)
        .order_by(ComparisonFinding.line, ComparisonFinding.id)
        .limit(limit)
        .offset(offset)
    )
    items = [
        FindingOut(line=f.line, person_id=f.person_id, rule=f.rule, summary=f.summary)
        for f in (await session.execute(stmt)).scalars()
    ]
    return ComparisonOut(
        id=c.id, source=c.source, status=c.status, lines=c.lines, matched=c.matched, rejected=c.rejected,
        findings=c.findings, alerts=c.alerts, started_at=c.started_at, finished_at=c.finished_at, items=items,
    )  # fmt: skip


@router.post(
    "",
    response_model=ComparisonOut,
    status_code=status.HTTP_201_CREATED,
    summary="Compare a department's list with the records (CSV with an id_number column, or NDJSON; streamed)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": "id_number,monthly_amount\n340207194005011238,2300.00\n",
                },
                "application/x-ndjson": {
                    "schema": {"type": "string"},
                    "example": '{"id_number":"340207194005011238"}\n',
                },
            },
        }
    },  # fmt: skip
)
async def compare(
    request: Request,
    session: Session,
    principal: Annotated[Principal, require("monitoring:write")],
    source: Annotated[str, Query(description=f"the list: one of {', '.join(SOURCES)}")],
    limit: Limit = 50,
) -> ComparisonOut:
    if source not in SOURCES:
        raise Invalid(f"unknown source; one of {', '.join(SOURCES)}", field="source")
    fmt = _FORMATS.get(request.headers.get("content-type", "").split(";")[0].strip().lower())
    if fmt is None:
        raise Invalid("send Content-Type text/csv or application/x-ndjson", field="body")
    comparison = Comparison(
        source=source, status="running", created_by=principal.sub, hukou_division=principal.division
    )
    session.add(comparison)
    await session.commit()
    run = ComparisonRun(request.app.state.sessionmaker, comparison.id, source, principal.division)
    await run.run(request.stream(), fmt)
    await session.refresh(comparison)
    return await comparison_out(session, comparison, limit, 0)


@router.get(
    "/{comparison_id}", response_model=ComparisonOut, summary="A comparison: status, progress, counts, findings"
)
async def get(
    comparison_id: uuid.UUID,
    session: Session,
    principal: Annotated[Principal, require("monitoring:read")],
    limit: Limit = 50,
    offset: Offset = 0,
) -> ComparisonOut:
    comparison = (await session.execute(select(Comparison).where(Comparison.id == comparison_id))).scalar_one_or_none()
    if comparison is None:
        raise NotFound("no such comparison in your division", field="comparison_id")
    return await comparison_out(session, comparison, limit, offset)
