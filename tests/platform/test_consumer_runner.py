"""The consumer runner's chunking: bulk first, event by event when that fails; each effect once."""

from __future__ import annotations

import json
import uuid

from aiokafka.structs import ConsumerRecord
from sqlalchemy import func, select

from shared.consumer import Consumer, ConsumerRunner
from shared.db import make_engine, make_sessionmaker, processed_events
from shared.people import people
from tests.support import Infra


async def _effect(session, n: int) -> None:  # noqa: ANN001
    """A row per applied event: what the test counts (the database rolls back with the event)."""
    await session.execute(people.insert().values(person_id=uuid.uuid4(), id_number=f"{n:018d}", name=str(n), hukou_division="340207"))


def _record(offset: int, event_type: str = "test.thing.happened") -> ConsumerRecord:
    value = json.dumps({"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/tests", "type": event_type, "data": {"n": offset}}).encode()
    return ConsumerRecord("registry.events.v1", 0, offset, 0, 0, b"k", value, None, 1, len(value), [])


async def test_a_failing_bulk_chunk_is_applied_event_by_event_and_never_twice(infra: Infra) -> None:
    url = infra.database(f"runner_{uuid.uuid4().hex[:6]}", "assistance")
    engine = make_engine(url)
    applied: list[int] = []
    spec = Consumer(name="runner-test", topics=["registry.events.v1"])

    @spec.on("test.thing.happened")
    async def one(_session, event) -> None:  # noqa: ANN001
        await _effect(_session, event.data["n"])
        applied.append(event.data["n"])

    @spec.batch
    async def many(_session, events) -> dict[str, str]:  # noqa: ANN001
        raise RuntimeError("bulk path broken")

    runner = ConsumerRunner(infra.settings("assistance", database_url=url), make_sessionmaker(engine), spec)
    try:
        messages = [_record(i) for i in range(10)]
        assert await runner.handle_batch(messages) == 10
        assert applied == list(range(10))
        assert await runner.handle_batch(messages) == 10  # redelivered: duplicates, no effect
        assert applied == list(range(10))
        async with runner.sessionmaker() as s:
            assert (await s.execute(select(func.count()).select_from(processed_events))).scalar_one() == 10
            assert (await s.execute(select(func.count()).select_from(people))).scalar_one() == 10
    finally:
        await engine.dispose()


async def test_an_event_failing_mid_chunk_costs_only_itself(infra: Infra) -> None:
    url = infra.database(f"runner_{uuid.uuid4().hex[:6]}", "assistance")
    engine = make_engine(url)
    applied: list[int] = []
    spec = Consumer(name="runner-test-2", topics=["registry.events.v1"])

    @spec.on("test.thing.happened")
    async def one(_session, event) -> None:  # noqa: ANN001
        if event.data["n"] == 4:
            raise ValueError("cannot apply this one")
        await _effect(_session, event.data["n"])
        applied.append(event.data["n"])

    runner = ConsumerRunner(
        infra.settings("assistance", database_url=url, consumer_max_retries=2, consumer_retry_backoff_seconds=0.01),
        make_sessionmaker(engine),
        spec,
    )
    try:
        assert await runner.handle_batch([_record(i) for i in range(8)]) == 8
        # The chunk without savepoints rolled back whole; redone with them, 0-3 kept,
        # 4 retried and dead-lettered, 5-7 applied after it, in order.
        async with runner.sessionmaker() as s:
            done = (await s.execute(select(func.count()).select_from(processed_events))).scalar_one()
            effects = (await s.execute(select(people.c.name).order_by(people.c.updated_at, people.c.name))).scalars().all()
        assert done == 7
        assert sorted(effects, key=int) == ["0", "1", "2", "3", "5", "6", "7"]
        assert applied[-3:] == [5, 6, 7]
    finally:
        if runner.producer is not None:
            await runner.producer.stop()
        await engine.dispose()
