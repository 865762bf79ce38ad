"""The outbox row stores the event's varying parts; the table and the relay give the same envelope as before."""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg
from alembic import command

from services import MODULES
from shared import event_types as ev
from shared import migrations
from shared.events import _checked_source, envelope
from shared.outbox import BODY
from tests.support import Infra


def test_the_computed_source_is_the_one_each_type_is_published_with() -> None:
    """The table derives `source` from the type's first word: true of every type Minzheng publishes."""
    published = [spec for spec in ev.CATALOGUE.values() if spec.key_field is not None]
    assert published
    for spec in published:
        assert _checked_source(spec.service, spec.type) == f"/minzheng/{spec.type.split('.')[0]}"


async def test_rows_written_before_the_migration_read_back_the_same_envelope_after_and_back(infra: Infra) -> None:
    """Upgrade splits each stored envelope, the computed one (and the relay's text) equals it; downgrade stores it."""
    name = f"slim_{uuid.uuid4().hex[:8]}"
    infra.pg.create_databases([name])
    url = infra.pg.url(name)
    location = MODULES["registry"].migrations
    await asyncio.to_thread(migrations.upgrade, location, url, "0003")  # the revision before the slim outbox
    event_id = uuid.uuid4()
    stored = envelope(
        service="registry",
        type="registry.person.died",
        subject='p "1" \\ 中',
        data={"person_id": "p-1", "note": 'quote " and 中文', "n": 1.5},
        event_id=event_id,
    )
    db = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await db.execute(
            "INSERT INTO outbox (id, topic, key, type, envelope) VALUES ($1, 'registry.events.v1', 'p-1', $2, $3)",
            event_id,
            stored["type"],
            json.dumps(stored),
        )
        await asyncio.to_thread(migrations.upgrade, location, url)
        after = await db.fetchrow(
            f"SELECT envelope::text AS envelope, {BODY} AS body, subject, time, data::text AS data FROM outbox"  # noqa: S608
        )
        assert json.loads(after["envelope"]) == stored
        assert json.loads(after["body"]) == stored  # what the relay sends
        assert (after["subject"], after["time"], json.loads(after["data"])) == (
            stored["subject"],
            stored["time"],
            stored["data"],
        )
        await asyncio.to_thread(command.downgrade, migrations.config(location, url), "0003")
        assert json.loads(await db.fetchval("SELECT envelope::text FROM outbox")) == stored
    finally:
        await db.close()
