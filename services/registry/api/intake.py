"""/v1/intake/batches: a partner file (NDJSON or CSV) in, a report per line out (and later, by id)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, status

from services.registry.models import IntakeBatch
from services.registry.schemas import IntakeBatchOut, IntakeLineOut, Page
from services.registry.usecases import batches as cases
from shared.app import Session
from shared.auth import Principal, require
from shared.paging import Offset
from shared.problems import Invalid, NotFound

router = APIRouter(prefix="/v1/intake/batches", tags=["intake"])

_FORMATS = {
    "application/x-ndjson": "ndjson",
    "application/ndjson": "ndjson",
    "application/jsonl": "ndjson",
    "text/csv": "csv",
}


def batch_out(b: IntakeBatch, report: list[dict[str, object]] | None = None) -> IntakeBatchOut:
    return IntakeBatchOut(
        batch_id=b.id,
        status=b.status,
        format=b.format,
        filename=b.filename,
        lines=b.lines,
        accepted=b.accepted,
        duplicate=b.duplicate,
        rejected=b.rejected,
        in_review=b.in_review,
        started_at=b.started_at,
        finished_at=b.finished_at,
        lines_url=f"/v1/intake/batches/{b.id}/lines",
        report=[IntakeLineOut.model_validate({k: v for k, v in r.items() if k != "batch_id"}) for r in report]
        if report is not None
        else None,
    )


@router.post(
    "",
    response_model=IntakeBatchOut,
    status_code=status.HTTP_201_CREATED,
    summary="Send a partner file of deaths, hukou changes or the household-register roster (NDJSON or CSV, streamed)",
    description=(
        "One report per line, each answered on its own (accepted with its outcome, duplicate, or rejected with the"
        " field and the reason); the file is streamed and applied a chunk at a time.\n\n"
        "Line types (`type`): `death` (id_number, name, date_of_death, source, reference), `hukou` (id_number,"
        " kind move_in|move_out|transfer, from_division, to_division, effective_date, source, reference), and"
        " `person`: the public security bureau's household-register roster (户籍名册), which registers the person"
        " — id_number, name, hukou_division, and optionally sex (checked against the number), household (the"
        " bureau's household key), relation (head, spouse, child, parent, grandchild, grandparent, sibling, other;"
        " default other) and reference. A person line publishes `registry.person.registered`; the lines with one"
        " household key form one registry household (the same household in every later file naming that key),"
        " its members with their relations, published as one `registry.household.changed` per household and"
        " chunk (reason `created`, or `registered` when members join one on file). The same person again is"
        " `duplicate`; a known number under another name is rejected on `name`; the caller must cover the hukou"
        " division (and a household on file). Reports that waited for a person so registered apply at once."
        " CSV: a header line naming the columns, the same fields."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-ndjson": {
                    "schema": {"type": "string"},
                    "example": (
                        '{"type":"death","id_number":"340207194005011238","name":"王秀英",'
                        '"date_of_death":"2026-01-02","source":"funeral_home","reference":"FH-1"}\n'
                        '{"type":"person","id_number":"340207198003150013","name":"周强",'
                        '"hukou_division":"340207003001","household":"HH-0001","relation":"head"}\n'
                    ),
                },
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": (
                        "type,id_number,name,source,reference,date_of_death,kind,from_division,to_division,"
                        "effective_date\n"
                    ),
                },
            },
        }
    },
)
async def submit(
    request: Request,
    session: Session,
    principal: Annotated[Principal, require("registry:write")],
    format: Annotated[Literal["ndjson", "csv"] | None, Query(description="default: from Content-Type")] = None,
    filename: Annotated[str | None, Query(max_length=200)] = None,
    include_lines: Annotated[bool, Query(description="answer the per-line report inline (up to 10,000 lines)")] = False,
) -> IntakeBatchOut:
    fmt = format or _FORMATS.get(request.headers.get("content-type", "").split(";")[0].strip().lower())
    if fmt is None:
        raise Invalid("send Content-Type application/x-ndjson or text/csv, or name the format", field="format")
    batch = await cases.create_batch(
        session, submitted_by=principal.sub, division=principal.division, format=fmt, filename=filename
    )
    await session.commit()
    run = cases.BatchRun(request.app.state.sessionmaker, batch.id, scope=principal.division, keep_inline=include_lines)
    await run.run(request.stream(), fmt)
    await session.refresh(batch)
    return batch_out(batch, run.inline if include_lines else None)


@router.get("/{batch_id}", response_model=IntakeBatchOut, summary="A batch's summary, as answered when it was sent")
async def get(
    batch_id: uuid.UUID,
    session: Session,
    principal: Annotated[Principal, require("registry:read")],
    include_lines: Annotated[bool, Query()] = False,
) -> IntakeBatchOut:
    batch = await cases.get_batch(session, batch_id)
    if batch is None:
        raise NotFound("no such batch in your division", field="batch_id")
    report = None
    if include_lines:
        _, lines = await cases.batch_lines(session, batch_id, status=None, limit=cases.INLINE_LIMIT, offset=0)
        report = [_line(line) for line in lines]
    return batch_out(batch, report)


def _line(line: object) -> dict[str, object]:
    return {k: getattr(line, k) for k in IntakeLineOut.model_fields}


@router.get(
    "/{batch_id}/lines", response_model=Page[IntakeLineOut], summary="The per-line report, paged (filter by status)"
)
async def lines(
    batch_id: uuid.UUID,
    session: Session,
    principal: Annotated[Principal, require("registry:read")],
    status: Annotated[Literal["accepted", "duplicate", "rejected"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> Page[IntakeLineOut]:
    if await cases.get_batch(session, batch_id) is None:
        raise NotFound("no such batch in your division", field="batch_id")
    total, rows = await cases.batch_lines(session, batch_id, status=status, limit=limit, offset=offset)
    return Page(items=[IntakeLineOut.model_validate(_line(r)) for r in rows], total=total, limit=limit, offset=offset)
