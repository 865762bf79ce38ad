"""Set-based writes: many rows in one statement, whatever their number.

Consumers apply a chunk of events with a fixed number of statements: rows
travel as one array per column and are unnested on the server
(`INSERT ... SELECT FROM unnest(...)`, `UPDATE ... FROM unnest(...)`), so a
statement has as many parameters as columns, not as rows, and its plan is
the same for 1 row or 5,000.

Columns are named with their PostgreSQL type (`{"id": "uuid", "status":
"text"}`); a `jsonb` column travels as JSON text and is cast on the server.
Table and column names come from the code, never from input.

The second form, for a hot path with many columns (`json_insert`,
`json_update`, `execute_json`): the rows travel as ONE JSON array of rows,
each row the array of its columns' values in the columns' order (as the
outbox's rows do). asyncpg checks every element of every array parameter (an
isinstance against three ABCs each), which for a chunk of twenty-column rows
cost more than the statement; one text parameter is checked once. A row is
not an object: no column names written, sent and parsed per row (they were
half of a chunk's bytes), and PostgreSQL builds no object per row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

Columns = Mapping[str, str]  # column name -> PostgreSQL type
Row = Mapping[str, Any]


def _source(columns: Columns) -> str:
    """`unnest(CAST(:c AS t[]), ...) WITH ORDINALITY AS u(c, ..., n)`: the rows as a relation, in order."""
    arrays = ", ".join(f"CAST(:{c} AS {'text' if t == 'jsonb' else t}[])" for c, t in columns.items())
    return f"unnest({arrays}) WITH ORDINALITY AS u({', '.join(columns)}, n)"


def _value(column: str, type_: str) -> str:
    return f"u.{column}::jsonb" if type_ == "jsonb" else f"u.{column}"


# orjson writes what json.dumps(default=str) wrote (dates, times and decimals through str) at a tenth of its cost;
# jsonb keeps no whitespace, so the stored values are the same.
_JSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


def _json(value: Any) -> str | None:  # noqa: ANN401 - any JSON-able value
    return None if value is None else orjson.dumps(value, default=str, option=_JSON_OPTIONS).decode()


def _params(columns: Columns, rows: Sequence[Row]) -> dict[str, list[Any]]:
    return {c: [_json(r[c]) for r in rows] if t == "jsonb" else [r[c] for r in rows] for c, t in columns.items()}


async def insert(
    session: AsyncSession, table: str, columns: Columns, rows: Sequence[Row], *, on_conflict: str = ""
) -> None:
    """INSERT the rows, in their order, in one statement (`on_conflict`: an ON CONFLICT clause, if any)."""
    if not rows:
        return
    values = ", ".join(_value(c, t) for c, t in columns.items())
    sql = f"INSERT INTO {table} ({', '.join(columns)}) SELECT {values} FROM {_source(columns)} ORDER BY u.n"  # noqa: S608
    sql = f"{sql} {on_conflict}" if on_conflict else sql
    await session.execute(text(sql), _params(columns, rows))


async def update(
    session: AsyncSession, table: str, key: str, columns: Columns, rows: Sequence[Row], *, also: str = ""
) -> None:
    """UPDATE each row of `table` whose `key` matches, setting the other columns, in one statement.

    `also` adds assignments computed on the server (e.g. `updated_at = now()`).
    Each key appears at most once in `rows` (a row is updated once per statement).
    """
    if not rows:
        return
    sets = [f"{c} = {_value(c, t)}" for c, t in columns.items() if c != key] + ([also] if also else [])
    sql = f"UPDATE {table} AS t SET {', '.join(sets)} FROM {_source(columns)} WHERE t.{key} = u.{key}"  # noqa: S608
    await session.execute(text(sql), _params(columns, rows))


_JSON_ROWS = "jsonb_array_elements(CAST(:rows AS jsonb)) WITH ORDINALITY AS u(r, n)"


def _element(at: int, type_: str) -> str:
    """The SQL of the value at place `at` of a row `u.r`, as the column's type (a JSON null is NULL)."""
    if type_ == "jsonb":
        return f"NULLIF(u.r->{at}, 'null'::jsonb)"
    return f"u.r->>{at}" if type_ == "text" else f"(u.r->>{at})::{type_}"


def json_insert(table: str, columns: Columns, *, on_conflict: str = "") -> TextClause:
    """`insert`'s statement over the rows of one JSON parameter (run it with `execute_json`), built once."""
    values = ", ".join(_element(at, t) for at, t in enumerate(columns.values()))
    sql = f"INSERT INTO {table} ({', '.join(columns)}) SELECT {values} FROM {_JSON_ROWS} ORDER BY u.n"  # noqa: S608
    return text(f"{sql} {on_conflict}" if on_conflict else sql)


def json_update(table: str, key: str, columns: Columns, *, also: str = "") -> TextClause:
    """`update`'s statement over the rows of one JSON parameter (run it with `execute_json`), built once."""
    places = {c: (at, t) for at, (c, t) in enumerate(columns.items())}
    sets = [f"{c} = {_element(at, t)}" for c, (at, t) in places.items() if c != key] + ([also] if also else [])
    where = f"t.{key} = {_element(*places[key])}"
    return text(f"UPDATE {table} AS t SET {', '.join(sets)} FROM {_JSON_ROWS} WHERE {where}")  # noqa: S608


async def execute_json(session: AsyncSession, statement: TextClause, rows: Sequence[Sequence[Any]]) -> None:
    """Run a `json_insert` / `json_update` statement over `rows`, each the sequence of its columns' values in the
    columns' order (`operator.attrgetter(*columns)` reads them in one call); nothing if there are none."""
    if rows:
        await session.execute(statement, {"rows": json_text(rows)})


def json_text(rows: Sequence[Any]) -> str:
    """The rows as the one JSON parameter of the second form (dates, times and decimals through str)."""
    return orjson.dumps(rows, default=str, option=_JSON_OPTIONS).decode()


def uuid_order(value: Any) -> int:  # noqa: ANN401 - a uuid.UUID
    """A sort key giving PostgreSQL's uuid order (the 128-bit number), without a Python call per comparison.

    Rows locked or written in this order by concurrent chunks wait for each other instead of deadlocking.
    """
    return value.int
