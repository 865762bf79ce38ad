"""Partner files through /v1/intake/batches: streamed, parsed line by line, applied in chunks.

The body is never held whole: lines are read from the request stream,
parsed, and applied `CHUNK` at a time, one transaction per chunk (the lines
and their per-line report commit together). A bad line is rejected with its
reason and the rest go on; a chunk that fails as a whole (a concurrent writer
took a unique key first, a deadlock) is replayed line by line, each line in its
own savepoint, so every line still gets its own answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import functools
import io
import json
import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import orjson
import structlog
from sqlalchemy import String, bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.registry.domain import intake as rules
from services.registry.models import IntakeBatch, IntakeLine
from services.registry.usecases.common import person_by_id_number
from services.registry.usecases.reports import Intake, Item, LineOutcome, copy_records
from services.registry.usecases.reviews import apply_waiting_for
from shared import clock
from shared.db import unscoped, utcnow
from shared.identity import mask_text

log = structlog.get_logger("registry.intake")
CHUNK = 5000  # lines a transaction: a chunk costs a fixed number of statements, so more lines share them
INLINE_LIMIT = 10_000  # lines answered inline at most; the rest are paged from /lines


async def lines_of(stream: AsyncIterator[bytes]) -> AsyncIterator[tuple[int, str]]:
    """(line number, text) of a byte stream, without holding more than one line and one chunk."""
    buf = b""
    n = 0
    async for chunk in stream:
        buf += chunk
        *complete, buf = buf.split(b"\n")
        for raw in complete:
            n += 1
            yield n, raw.decode("utf-8", errors="replace").rstrip("\r")
    if buf:
        n += 1
        yield n, buf.decode("utf-8", errors="replace").rstrip("\r")


def _parse_ndjson(text: str, today: date) -> rules.Record | rules.LineError:
    """A line's report; orjson reads it (a few times faster), the json module only a line orjson refuses.

    The json module has the last word on what is valid and says why not: the
    reason of a broken line is the one partners have always been given, and a
    line orjson refuses but json takes (NaN, a huge integer) parses as before.
    """
    try:
        fields = orjson.loads(text)
    except orjson.JSONDecodeError:
        try:
            fields = json.loads(text)
        except ValueError as exc:
            return rules.LineError("line", f"not valid JSON: {exc}")
    return rules.read(fields, today=today, roster=True)


class _Csv:
    def __init__(self) -> None:
        self.columns: list[str] | None = None

    def parse(self, text: str, today: date) -> rules.Record | rules.LineError | None:
        try:
            row = next(csv.reader(io.StringIO(text)))
        except (StopIteration, csv.Error) as exc:
            return rules.LineError("line", f"not a CSV row: {exc}")
        if self.columns is None:
            self.columns = [c.strip().lower() for c in row]
            if "id_number" not in self.columns:
                self.columns = None
                return rules.LineError(
                    "line", "the first line must name the columns (type,id_number,name,source,reference,...)"
                )
            return None
        if len(row) != len(self.columns):
            return rules.LineError("line", f"{len(row)} values for {len(self.columns)} columns")
        fields = {k: (v if v != "" else None) for k, v in zip(self.columns, row, strict=True)}
        return rules.read(fields, today=today, roster=True)


async def create_batch(
    session: AsyncSession, *, submitted_by: str, division: str, format: str, filename: str | None
) -> IntakeBatch:
    batch = IntakeBatch(
        id=uuid.uuid4(),
        submitted_by=submitted_by,
        hukou_division=division,
        format=format,
        filename=filename,
        status="processing",
        lines=0,
        accepted=0,
        duplicate=0,
        rejected=0,
        in_review=0,
    )
    session.add(batch)
    await session.flush()
    return batch


_LINE_COLUMNS = (
    "batch_id",
    "line_no",
    "status",
    "outcome",
    "record_type",
    "reference",
    "field",
    "reason",
    "person_id",
    "review_id",
)
LineRow = tuple[Any, ...]  # the values of _LINE_COLUMNS: what COPY takes, without a dict per line


@functools.lru_cache(maxsize=4096)
def _masked(reason: str) -> str:
    """A reason as stored: identity numbers masked, 300 characters at most (most lines share a few reasons)."""
    return mask_text(reason)[:300]


def _line_row(batch_id: uuid.UUID, line_no: int, o: LineOutcome) -> LineRow:
    reason = _masked(o.reason) if o.reason else None
    return (
        batch_id,
        line_no,
        o.status,
        o.outcome,
        o.record_type,
        o.reference,
        o.field,
        reason,
        o.person_id,
        o.review_id,
    )


async def _copy_lines(session: AsyncSession, rows: list[LineRow]) -> None:
    """The chunk's per-line report in one COPY."""
    await copy_records(session, "intake_lines", _LINE_COLUMNS, rows)


_WAITING = text(
    "SELECT DISTINCT id_number FROM review_items WHERE id_number = ANY(:numbers)"
    " AND reason_code = 'unknown_person' AND status IN ('open', 'waiting')"
).bindparams(bindparam("numbers", type_=ARRAY(String)))


async def _apply_waiting(
    session: AsyncSession, lines: list[tuple[int, rules.Record | rules.LineError]], outcomes: list[LineOutcome]
) -> None:
    """Reports that waited for a person the roster registered now take effect (one query a chunk finds them)."""
    numbers = [
        r.id_number
        for (_, r), o in zip(lines, outcomes, strict=True)
        if isinstance(r, rules.PersonRecord) and o.outcome == "registered"
    ]
    if not numbers:
        return
    waiting = (await session.execute(_WAITING, {"numbers": numbers})).scalars().all()
    for number in waiting:  # rare: a report about someone not yet registered
        with unscoped(session):
            person = await person_by_id_number(session, number, lock=True)
        if person is not None:
            await apply_waiting_for(session, person)


class BatchRun:
    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], batch_id: uuid.UUID, *, scope: str, keep_inline: bool
    ):
        self.sessionmaker = sessionmaker
        self.batch_id = batch_id
        self.scope = scope
        self.keep_inline = keep_inline
        self.inline: list[dict[str, object]] = []
        self.counts = {"lines": 0, "accepted": 0, "duplicate": 0, "rejected": 0, "in_review": 0}
        self.today = clock.today()

    async def run(self, stream: AsyncIterator[bytes], format: str) -> None:
        """Parse the stream and apply it chunk by chunk, in order.

        While one chunk is applied (mostly the database's work, on the other
        core), the next is read and parsed here; a chunk starts only once the
        one before has committed, because it may repeat or follow its reports.

        The collector's full passes over the process's long-lived objects (the
        app, its models and schemas) are avoided by `minzheng serve`, which
        freezes them at start-up for the process's life: a batch does not
        freeze and unfreeze them itself (its unfreeze undid that for every
        request and consumer after the first upload).
        """
        csv_parser = _Csv() if format == "csv" else None
        pending: list[tuple[int, rules.Record | rules.LineError]] = []
        applying: asyncio.Task[None] | None = None
        try:
            async for line_no, text in lines_of(stream):
                if not text.strip():
                    continue
                if csv_parser is not None:
                    parsed = csv_parser.parse(text, self.today)
                    if parsed is None:
                        continue  # the header
                else:
                    parsed = _parse_ndjson(text, self.today)
                pending.append((line_no, parsed))
                if len(pending) >= CHUNK:
                    if applying is not None:
                        await applying
                    applying = asyncio.create_task(self._chunk(pending))
                    pending = []
            if applying is not None:
                await applying
            if pending:
                await self._chunk(pending)
        finally:
            if applying is not None and not applying.done():  # the client went away: roll the chunk back
                applying.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await applying
        async with self.sessionmaker() as s, s.begin():
            done = update(IntakeBatch).where(IntakeBatch.id == self.batch_id)
            await s.execute(done.values(status="done", finished_at=utcnow(), **self.counts))

    async def _chunk(self, lines: list[tuple[int, rules.Record | rules.LineError]]) -> None:
        try:
            async with self.sessionmaker() as s, s.begin():
                s.info["division"] = self.scope
                outcomes = await Intake(s, channel="batch", scope=self.scope, today=self.today).run(
                    [Item(r) for _, r in lines]
                )
                await _apply_waiting(s, lines, outcomes)
                rows = [_line_row(self.batch_id, n, o) for (n, _), o in zip(lines, outcomes, strict=True)]
                await _copy_lines(s, rows)
                totals = self._totals(outcomes)
                await s.execute(update(IntakeBatch).where(IntakeBatch.id == self.batch_id).values(**totals))
        except Exception as exc:  # the chunk as a whole: replay line by line
            log.warning(
                "intake chunk failed; replaying line by line",
                batch_id=str(self.batch_id),
                error=mask_text(str(exc))[:300],
            )
            await self._one_by_one(lines)
            return
        self._committed(totals, rows)

    async def _one_by_one(self, lines: list[tuple[int, rules.Record | rules.LineError]]) -> None:
        async with self.sessionmaker() as s, s.begin():
            s.info["division"] = self.scope
            intake = Intake(s, channel="batch", scope=self.scope, today=self.today)
            rows: list[LineRow] = []
            outcomes: list[LineOutcome] = []
            for n, r in lines:
                try:
                    async with s.begin_nested():
                        [o] = await intake.run([Item(r)])
                        await _apply_waiting(s, [(n, r)], [o])
                except Exception as exc:
                    o = LineOutcome(
                        "rejected",
                        field="line",
                        reason=f"could not be applied: {type(exc).__name__}",
                        problem="invalid",
                    )
                rows.append(_line_row(self.batch_id, n, o))
                outcomes.append(o)
            await _copy_lines(s, rows)
            totals = self._totals(outcomes)
            await s.execute(update(IntakeBatch).where(IntakeBatch.id == self.batch_id).values(**totals))
        self._committed(totals, rows)

    def _totals(self, outcomes: list[LineOutcome]) -> dict[str, int]:
        totals = dict(self.counts)
        totals["lines"] += len(outcomes)
        for o in outcomes:
            totals[o.status] += 1
            if o.outcome in ("review", "pending"):
                totals["in_review"] += 1
        return totals

    def _committed(self, totals: dict[str, int], rows: list[LineRow]) -> None:
        self.counts = totals
        if self.keep_inline:  # dicts only for the lines answered inline
            room = max(0, INLINE_LIMIT - len(self.inline))
            self.inline.extend(dict(zip(_LINE_COLUMNS, row, strict=True)) for row in rows[:room])


async def get_batch(session: AsyncSession, batch_id: uuid.UUID) -> IntakeBatch | None:
    return (await session.execute(select(IntakeBatch).where(IntakeBatch.id == batch_id))).scalar_one_or_none()


async def batch_lines(
    session: AsyncSession, batch_id: uuid.UUID, *, status: str | None, limit: int, offset: int
) -> tuple[int, list[IntakeLine]]:
    stmt = select(IntakeLine).where(IntakeLine.batch_id == batch_id)
    if status:
        stmt = stmt.where(IntakeLine.status == status)
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    rows = (await session.execute(stmt.order_by(IntakeLine.line_no).limit(limit).offset(offset))).scalars().all()
    return total, list(rows)
