"""Audit log of reads of personal records: who, when, which person, which endpoint.

No answer is sent for a read whose audit record could still be lost: the
audit rows commit before the answer leaves. `record_read` writes them in the
request's transaction, committed by the route. The hot list reads use
`AuditedList`, which reads the page, counts the matches and writes the audit
rows in ONE statement run outside any explicit transaction
(`WITH page AS (SELECT …), audit AS (INSERT INTO audit_log … SELECT … FROM page)
SELECT * FROM page`): PostgreSQL commits that statement before it reports its
result, so one round trip replaces five (BEGIN, count, select, insert, COMMIT)
and the guarantee holds.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from fastapi import Request
from sqlalchemy import (
    BindParameter,
    Column,
    ColumnElement,
    Dialect,
    Executable,
    Integer,
    String,
    Table,
    bindparam,
    func,
    insert,
    literal_column,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.base import ReadOnlyColumnCollection
from sqlalchemy.util import greenlet_spawn

from shared import divisions
from shared.auth import Principal
from shared.db import audit_log

TOTAL = "total_"  # the window count riding on every row of an audited page
AUDIT_COLUMNS = ("actor", "division", "action", "endpoint", "person_id", "request_id")


def endpoint(request: Request) -> str:
    """What the audit row names as the endpoint read: the method and the path (ids in paths are not personal)."""
    path: str = request.scope["path"]
    if "?" in path or "#" in path or "\\" in path or path.startswith("//"):
        path = request.url.path  # the rare path `URL` escapes; building a whole URL per read costs
    return f"{request.method} {path}"


async def record_read(
    session: AsyncSession,
    principal: Principal,
    request: Request,
    person_ids: list[uuid.UUID] | uuid.UUID | None,
    *,
    subject: str | None = None,
    action: str = "read",
) -> None:
    """Write one audit row per person read; committed with the request."""
    ids = person_ids if isinstance(person_ids, list) else [person_ids]
    rows = [
        {
            "actor": principal.sub,
            "division": principal.division,
            "action": action,
            "endpoint": endpoint(request),
            "person_id": pid,
            "subject": subject,
            "request_id": getattr(request.state, "request_id", None),
        }
        for pid in ids
    ]
    if rows:
        await session.execute(insert(audit_log), rows)


Filter = Callable[[ReadOnlyColumnCollection[str, Column[Any]], BindParameter[Any]], ColumnElement[bool]]


def like_prefix(text: str) -> str:
    """`text` with LIKE's wildcards escaped (PostgreSQL's default escape is the backslash), for a prefix filter."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    params: tuple[str, ...]  # the names of $1, $2, … in order


class AuditedList:
    """A list read of one table: a page inside the caller's division, its total, and its audit rows.

    One statement, sent on the pool's connection outside any transaction, so
    PostgreSQL commits it (the audit rows with it) before the rows come back.
    The division rule is `divisions.covers_clause`, the one every scoped read
    passes, with the caller's division as a parameter. The total rides on each
    row as a window count; only a page past the end, which has no row to carry
    it, is counted on its own.

    The SQL of each combination of filters is compiled once and kept: building
    and compiling a statement per request cost more than running it.
    """

    def __init__(
        self, table: Table, filters: Mapping[str, Filter], *, order_by: Sequence[str], person_id: str = "person_id"
    ) -> None:
        self.table = table
        self.filters = dict(filters)
        self.order_by = tuple(order_by)
        self.person_id = person_id
        self._sql: dict[tuple[str, ...], tuple[_Compiled, _Compiled]] = {}

    async def page(
        self, request: Request, principal: Principal, values: Mapping[str, Any], *, limit: int, offset: int
    ) -> tuple[list[SimpleNamespace], int]:
        """The page's rows (attributes named as the table's columns) and the total of matches."""
        given = {name: value for name, value in values.items() if value is not None}
        read, count = self._compiled(tuple(sorted(given)), request.app.state.engine.dialect)
        args = {
            **given,
            "scope_": principal.division,
            "limit_": limit,
            "offset_": offset,
            "actor_": principal.sub,
            "division_": principal.division,
            "endpoint_": endpoint(request),
            "request_id_": getattr(request.state, "request_id", None),
        }
        # The pool's connection itself, without an engine Connection around it (no transaction is begun).
        pooled = await request.app.state.engine.raw_connection()
        try:
            driver = pooled.driver_connection
            records = await driver.fetch(read.sql, *(args[n] for n in read.params))
            total = records[0][TOTAL] if records else 0
            if not records and offset > 0:
                total = await driver.fetchval(count.sql, *(args[n] for n in count.params))
        except BaseException:
            # The pool must not hand out a connection in an unknown state. Closing one may await the
            # driver, which SQLAlchemy's pool does only inside its greenlet, as `raw_connection` did.
            await greenlet_spawn(pooled.invalidate)
            raise
        finally:
            await greenlet_spawn(pooled.close)  # back to the pool (closed when the pool is over its size)
        return [SimpleNamespace(**dict(r.items())) for r in records], total

    def _compiled(self, names: tuple[str, ...], dialect: Dialect) -> tuple[_Compiled, _Compiled]:
        if names not in self._sql:
            self._sql[names] = self._build(names, dialect)
        return self._sql[names]

    def _build(self, names: tuple[str, ...], dialect: Dialect) -> tuple[_Compiled, _Compiled]:
        c = self.table.c
        where = [divisions.covers_clause(c.hukou_division, bindparam("scope_", type_=String))]
        where += [self.filters[name](c, bindparam(name)) for name in names]
        page = (
            select(self.table, func.count().over().label(TOTAL))
            .where(*where)
            .order_by(*(c[name] for name in self.order_by))
            .limit(bindparam("limit_", type_=Integer))
            .offset(bindparam("offset_", type_=Integer))
            .cte("page")
        )
        read = select(page.c[self.person_id]).distinct().subquery("read")
        who = select(
            bindparam("actor_", type_=String),
            bindparam("division_", type_=String),
            literal_column("'read'"),
            bindparam("endpoint_", type_=String),
            read.c[self.person_id],
            bindparam("request_id_", type_=String),
        )
        audit = insert(audit_log).from_select(AUDIT_COLUMNS, who).cte("audit")
        count = select(func.count()).select_from(self.table).where(*where)
        return _compile(select(page).add_cte(audit), dialect), _compile(count, dialect)


def _compile(stmt: Executable, dialect: Dialect) -> _Compiled:
    compiled = stmt.compile(dialect=dialect)
    return _Compiled(compiled.string, tuple(compiled.positiontup or ()))
