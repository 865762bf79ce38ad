"""The outbox keeps room on its pages: a row marked published keeps its new version on its own page."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from services import SERVICES
from shared import outbox_schema
from shared.db import make_engine
from shared.outbox import _MARK_PUBLISHED
from tests.support import Infra


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg", "postgresql")


ROOM = [(s, "outbox", outbox_schema.FILLFACTOR) for s in SERVICES] + [
    ("registry", "persons", 80),
    ("assistance", "cases", 80),
    ("assistance", "people", 80),
    ("eldercare", "allowances", 80),
]


@pytest.mark.parametrize(("service", "table", "fillfactor"), ROOM)
async def test_the_tables_a_death_rewrites_leave_room_on_their_pages(
    infra: Infra, service: str, table: str, fillfactor: int
) -> None:
    """The migrations give each table its fillfactor (the outbox's is the same in every service)."""
    db = await asyncpg.connect(_plain(infra.pg.url(service)))
    try:
        options = await db.fetchval("SELECT reloptions FROM pg_class WHERE relname = $1", table)
    finally:
        await db.close()
    assert options == [f"fillfactor={fillfactor}"]


async def test_a_row_marked_published_stays_on_its_page(infra: Infra) -> None:
    """The relay's marking writes each new row version beside the old one (no row moves to another page)."""
    url = await asyncio.to_thread(infra.database, f"room_{uuid.uuid4().hex[:8]}", "registry")
    db = await asyncpg.connect(_plain(url))
    engine = make_engine(url)
    try:
        await db.execute(
            "INSERT INTO outbox (id, topic, key, type, time, data)"
            " SELECT gen_random_uuid(), 'registry.events.v1', 'p-' || i, 'registry.person.died',"
            " '2026-11-29T11:00:00+00:00', jsonb_build_object('person_id', gen_random_uuid(), 'note', repeat('x', 300))"
            " FROM generate_series(1, 60) AS i"
        )
        before = dict(await db.fetch("SELECT seq, (ctid::text::point)[0]::int AS page FROM outbox"))
        assert len(set(before.values())) > 2  # the rows fill several pages
        async with engine.begin() as conn:
            await conn.execute(_MARK_PUBLISHED, {"seqs": list(before)})
        after = await db.fetch("SELECT seq, (ctid::text::point)[0]::int AS page, published_at FROM outbox")
        assert all(r["published_at"] is not None for r in after)
        assert {r["seq"]: r["page"] for r in after} == before
    finally:
        await db.close()
        await engine.dispose()
