"""Payroll line ids: one time-ordered prefix per statement (shared.ordered_ids), the row's number after it."""

from __future__ import annotations

import time
import uuid

import asyncpg

from shared import ordered_ids
from tests.support import Infra


def _row_id(prefix: str, n: int) -> uuid.UUID:
    """What `ordered_ids.ROW_ID` computes in SQL for row `n` of a statement."""
    return uuid.UUID(prefix + format(n, "x").rjust(8, "0"))


def test_a_row_id_is_a_uuidv7_of_now() -> None:
    before = time.time_ns() // 1_000_000
    first = _row_id(ordered_ids.prefix(), 1)
    after = time.time_ns() // 1_000_000
    assert first.version == 7 and first.variant == uuid.RFC_4122
    assert before <= first.int >> 80 <= after  # the first 48 bits: milliseconds since the epoch


def test_rows_of_a_statement_are_distinct_and_in_order() -> None:
    prefix = ordered_ids.prefix()
    ids = [_row_id(prefix, n) for n in (1, 2, 15, 16, 100_000, 2**32 - 1)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(i.version == 7 for i in ids)


def test_two_statements_never_share_a_prefix() -> None:
    prefixes = {ordered_ids.prefix() for _ in range(2_000)}
    assert len(prefixes) == 2_000  # 42 random bits beside the millisecond
    assert "row_number() OVER ()" in ordered_ids.ROW_ID and ":id_prefix" in ordered_ids.ROW_ID


async def test_ids_drawn_by_the_server_are_fresh_for_each_execution_of_the_same_statement(infra: Infra) -> None:
    """`STATEMENT_ROW_ID` draws its prefix once per execution: rows distinct, in order, and no id repeated when
    the very same statement runs again (the outbox helpers reuse their parameters across statements)."""
    db = await asyncpg.connect(infra.pg.url("registry").replace("postgresql+asyncpg", "postgresql"))
    try:
        sql = f"SELECT {ordered_ids.STATEMENT_ROW_ID} AS id FROM generate_series(1, 5000)"  # noqa: S608
        first = [r["id"] for r in await db.fetch(sql)]
        second = [r["id"] for r in await db.fetch(sql)]
    finally:
        await db.close()
    assert first == sorted(first) and len(set(first)) == 5000
    assert not set(first) & set(second)
    assert {i.version for i in first + second} == {7}
    assert len({str(i)[:28] for i in first}) == 1  # one draw per execution, not per row
