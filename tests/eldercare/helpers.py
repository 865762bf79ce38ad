"""Helpers for eldercare's integration tests: persons registered through the registry's API."""

from __future__ import annotations

import asyncpg

from tests.support import Stack, new_id_number


async def register(
    stack: Stack, *, min_age: int = 65, max_age: int = 75, division: str = "340207003001", name: str = "李桂兰"
) -> str:
    """A new resident of the given age band in `division`; returns the identity number."""
    id_number = new_id_number(min_age=min_age, max_age=max_age)
    async with stack["registry"].client() as registry:
        r = await registry.post("/v1/persons", json={"id_number": id_number, "name": name, "hukou_division": division})
        assert r.status_code == 201, r.text
    return id_number


async def fetch(stack: Stack, sql: str, *args: object) -> list[asyncpg.Record]:
    """Rows from eldercare's own database (to check what was written beside the answer, e.g. the outbox)."""
    dsn = stack.infra.pg.url("eldercare").replace("postgresql+asyncpg://", "postgresql://")
    db = await asyncpg.connect(dsn)
    try:
        return await db.fetch(sql, *args)
    finally:
        await db.close()
