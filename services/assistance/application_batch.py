"""POST /v1/applications/batch: a caseload of applications taken on at once, each by the single path's rules.

A district that takes the system on brings its standing caseload: thousands of households already submitted,
reviewed, on notice and confirmed by its towns. Sending each through four requests costs four round trips and four
transactions an application; this path takes an NDJSON file of them, one application a line with the dates its
steps were decided, and judges each line by the rules of the single requests (`application_usecases`: members
resolved, the program's rule assessing the household, the workflow's checks: a confirmation before the notice is
over is refused as it would be on the day), each step on its own date, by the caller's authority (the caller's
division scopes every line as it scopes a single request).

The single path's round trips and ORM work cost tens of milliseconds a line; a chunk of lines is instead read,
judged in memory and written set-based (`application_chunk`), a few statements a chunk. A temporary grant, whose
town reserve moves with every grant, still goes through the single path's use cases (`take_on`), alone.

A line refused is answered with its status and reason and leaves nothing behind (its rows are kept only once every
step passed); the others go on. Lines are committed a chunk at a time, so a long file does not hold one transaction
open. The answer is NDJSON, a line per line sent, in order.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy.ext.asyncio import AsyncSession

from services.assistance import amounts, standard_usecases
from services.assistance import application_chunk as chunk
from services.assistance import application_usecases as usecases
from services.assistance.domain.standards import StandardRow
from services.assistance.models import Application
from services.assistance.schemas import ApplicationIn
from shared import clock
from shared.app import Session
from shared.auth import Principal, require
from shared.problems import DomainError

router = APIRouter(prefix="/v1/applications", tags=["applications"])
Writer = Annotated[Principal, require("assistance:write")]

MAX_LINES = 20_000  # a file larger than this is sent as several
CHUNK = 200  # lines a transaction
MAX_LINE_BYTES = 200_000


class BatchLineIn(BaseModel):
    """One application and the dates its steps were decided (review and confirmation optional)."""

    model_config = ConfigDict(extra="forbid")

    application: ApplicationIn
    submitted_on: date
    reviewed_on: date | None = None
    survey_notes: Annotated[str, Field(min_length=1, max_length=4000)] = "入户调查: as declared"
    confirmed_on: date | None = None
    note: Annotated[str, Field(max_length=4000)] = ""

    @model_validator(mode="after")
    def steps_in_order(self) -> BatchLineIn:
        if self.confirmed_on is not None and self.reviewed_on is None:
            raise ValueError("a confirmation needs the review before it (reviewed_on)")
        if self.reviewed_on is not None and self.reviewed_on < self.submitted_on:
            raise ValueError("reviewed_on is before submitted_on")
        if self.confirmed_on is not None and self.reviewed_on is not None and self.confirmed_on < self.reviewed_on:
            raise ValueError("confirmed_on is before reviewed_on")
        return self


def _answer(line: int, status: int, **fields: Any) -> dict[str, Any]:
    return {"line": line, "status": status, **fields}


def _refusal(line: int, error: DomainError) -> dict[str, Any]:
    return _answer(line, error.status, field=error.field, detail=error.detail)


def _invalid(line: int, error: ValidationError | ValueError) -> dict[str, Any]:
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return _answer(line, 422, field=where or None, detail=first["msg"])
    return _answer(line, 422, field=None, detail=str(error))


async def take_on(session: AsyncSession, request: Request, principal: Principal, body: BatchLineIn) -> Application:
    """The application through submit, review and confirm, each on its date, as the single requests would
    (the path of a temporary grant: its town's reserve is read as each grant is paid)."""
    settings = request.app.state.settings
    with clock.as_of(body.submitted_on):
        app = await usecases.submit(session, settings, principal, body.application)
    if body.reviewed_on is not None:
        with clock.as_of(body.reviewed_on):
            await usecases.review(session, settings, principal, app.id, body.survey_notes)
    if body.confirmed_on is not None:
        with clock.as_of(body.confirmed_on):
            await usecases.confirm(session, principal, app.id, body.note)
    return app


def parse(n: int, raw: bytes) -> BatchLineIn | dict[str, Any]:
    """The line's body, or its 422 answer (malformed, or a step dated after today)."""
    try:
        body = BatchLineIn.model_validate_json(raw)
    except ValidationError as exc:
        return _invalid(n, exc)
    today = clock.today()
    last = body.confirmed_on or body.reviewed_on or body.submitted_on
    if last > today:
        detail = f"{last} is after today ({today}): a step is recorded once it is decided"
        return _answer(n, 422, field="submitted_on", detail=detail)
    return body


def taken(n: int, app: Application | dict[str, Any]) -> dict[str, Any]:
    """The 201 answer of a line taken on (an ORM application or the row written in bulk)."""
    row = app if isinstance(app, dict) else {c: getattr(app, c) for c in _ANSWERED}
    return _answer(
        n,
        201,
        application_id=str(row["id"]),
        application_status=row["status"],
        eligible=row["eligible"],
        monthly_total=str(row["monthly_total"]),
        paid_from=row["paid_from"].isoformat() if row["paid_from"] else None,
    )


_ANSWERED = ("id", "status", "eligible", "monthly_total", "paid_from")


async def one_line(
    session: AsyncSession, request: Request, principal: Principal, n: int, body: BatchLineIn
) -> dict[str, Any]:
    """One line taken on by the single requests' use cases inside its own savepoint: refused, it leaves nothing."""
    enrolled = usecases.deferred_enrolments.get()
    before = len(enrolled) if enrolled is not None else 0
    savepoint = await session.begin_nested()
    try:
        app = await take_on(session, request, principal, body)
        await session.flush()
    except DomainError as exc:
        await savepoint.rollback()
        if enrolled is not None:
            del enrolled[before:]  # the line's cases are gone with it
        return _refusal(n, exc)
    await savepoint.commit()
    return taken(n, app)


async def lines_of(request: Request) -> AsyncIterator[tuple[int, bytes]]:
    """The body's non-empty lines, numbered from 1, read as they arrive."""
    pending, n = b"", 0
    async for piece in request.stream():
        pending += piece
        *whole, pending = pending.split(b"\n")
        for raw in whole:
            n += 1
            if raw.strip():
                yield n, raw
    if pending.strip():
        yield n + 1, pending


@router.post(
    "/batch",
    summary="Take on a caseload: NDJSON of applications with the dates of their steps; an answer line each",
    description=(
        'Each line is `{"application": <the body of POST /v1/applications>, "submitted_on", "reviewed_on",'
        ' "survey_notes", "confirmed_on", "note"}`: the application is submitted, reviewed and confirmed by'
        " the same rules as the single requests, each step on its date (none after today; a dibao or tekun"
        " confirmation after its public notice). The answer is NDJSON, a line per line: `status` 201 with the"
        " application's id, status, eligibility, monthly total and first month paid, or the refusal's status"
        " (404, 409, 422) with the field and the reason; a refused line leaves nothing behind."
        f" Up to {MAX_LINES:,} lines a request."
    ),
    response_class=Response,
    responses={200: {"content": {"application/x-ndjson": {"schema": {"type": "string"}}}}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
        }
    },
)
async def take_on_batch(request: Request, session: Session, principal: Writer) -> Response:
    standard_rows = await standard_usecases.rows(session, clock.today())  # no line is dated after today
    batch = Batch(session, request, principal, standard_rows)
    token = usecases.deferred_enrolments.set(batch.enrolled)
    try:
        async for n, raw in lines_of(request):
            await batch.add(n, raw)
        await batch.commit()
    finally:
        usecases.deferred_enrolments.reset(token)
    text = "".join(json.dumps(a, ensure_ascii=False) + "\n" for a in batch.answers)
    return Response(text, media_type="application/x-ndjson")


class Batch:
    """A request's lines: their answers in order, the chunk waiting to be judged, the new cases waiting for
    their amounts. Lines are judged and written a chunk at a time (application_chunk); a temporary grant goes
    alone through the single path's use cases, after the lines before it are committed."""

    def __init__(
        self, session: AsyncSession, request: Request, principal: Principal, standard_rows: list[StandardRow]
    ) -> None:
        self.session, self.request, self.principal = session, request, principal
        self.standard_rows = standard_rows
        self.answers: list[dict[str, Any] | None] = []
        self.pending: list[chunk.Line] = []
        self.enrolled: list[usecases.Enrolled] = []

    async def add(self, n: int, raw: bytes) -> None:
        if len(self.answers) >= MAX_LINES:
            self.answers.append(
                _answer(n, 413, field=None, detail=f"past the first {MAX_LINES:,} lines: send it again")
            )
            return
        body = parse(n, raw) if len(raw) <= MAX_LINE_BYTES else None
        if body is None:
            self.answers.append(_answer(n, 422, field=None, detail=f"a line longer than {MAX_LINE_BYTES:,} bytes"))
        elif isinstance(body, dict):
            self.answers.append(body)
        elif body.application.program.value == "temporary":  # alone in its transaction: see `commit`
            await self.commit()
            self.answers.append(await one_line(self.session, self.request, self.principal, n, body))
            await self.commit()
            return
        else:
            self.pending.append(chunk.Line(n, len(self.answers), body))
            self.answers.append(None)
        if len(self.answers) % CHUNK == 0:
            await self.commit()

    async def flush(self) -> None:
        """The pending lines judged in order and written (a refused line answered and left out)."""
        if not self.pending:
            return
        settings = self.request.app.state.settings
        known = await chunk.read_known(self.session, settings, self.pending, self.standard_rows)
        writes = chunk.Writes()
        for line in self.pending:
            try:
                self.answers[line.slot] = taken(
                    line.n, await chunk.take(self.session, self.principal, known, writes, line)
                )
            except DomainError as exc:
                self.answers[line.slot] = _refusal(line.n, exc)
        await chunk.write(self.session, writes)
        self.enrolled += writes.enrolled
        self.pending.clear()

    async def commit(self) -> None:
        """The pending lines written and committed with the new cases' amounts. A chunk's transaction takes all
        its locks in one statement, in one order, so two files taken on at once queue rather than deadlock; a
        temporary grant, which locks as the single path does, has a transaction of its own."""
        await self.flush()
        await commit(self.session, self.enrolled)


async def commit(session: AsyncSession, enrolled: list[usecases.Enrolled]) -> None:
    """The chunk's new cases given their amounts for every month from their first, as each confirmation would
    have (one set-based pass for each first month and day confirmed), then the chunk committed."""
    by_day: dict[tuple[date, date], list[uuid.UUID]] = defaultdict(list)
    for case_id, paid_from, confirmed_on in enrolled:
        by_day[(paid_from, confirmed_on)].append(case_id)
    for (paid_from, confirmed_on), case_ids in sorted(by_day.items()):
        with clock.as_of(confirmed_on):
            await amounts.after_enrolment(session, case_ids, paid_from)
    enrolled.clear()
    await session.commit()
