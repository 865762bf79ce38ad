"""The bank file of a payroll (assistance's and eldercare's alike): its paid lines as CSV, streamed.

Rows are written in chunks of a few thousand, so the file is never held whole
in memory. They are read in a session of the stream's own, scoped to the
caller's division like the request's, which lives as long as the response is
being sent; identity numbers are masked for callers without `pii:read`.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import identity
from shared.auth import Principal

# The columns both services export, in this order (the amount is the seventh).
HEADER = ("payment_id", "id_number", "name", "program", "month", "kind", "amount", "hukou_division")
CHUNK_ROWS = 2000

Rows = Callable[[AsyncSession, uuid.UUID], AsyncIterator[Sequence[Any]]]


def response(
    request: Request, payroll_id: uuid.UUID, principal: Principal, *, filename: str, rows: Rows
) -> StreamingResponse:
    """The streamed CSV answer; `rows` yields the paid lines as tuples in HEADER's order."""
    return StreamingResponse(
        _chunks(request.app.state.sessionmaker, payroll_id, principal, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def _chunks(
    sessionmaker: async_sessionmaker[AsyncSession], payroll_id: uuid.UUID, principal: Principal, rows: Rows
) -> AsyncIterator[str]:
    async with sessionmaker() as session:
        session.info["division"] = principal.division
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(HEADER)
        count = 0
        async for row in rows(session, payroll_id):
            number = row[1] if principal.sees_pii else identity.mask(row[1])
            writer.writerow((row[0], number, *row[2:6], f"{row[6]:.2f}", row[7]))
            count += 1
            if count % CHUNK_ROWS == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()
