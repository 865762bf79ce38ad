"""The consumer runner against real PostgreSQL and the real broker, fed chosen chunks.

Chunking (bulk first, event by event when that fails, each effect once),
copies of one event inside a chunk, and a dead-letter send that waits for
the broker instead of losing the message.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date

from aiokafka.structs import ConsumerRecord
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from shared import metrics
from shared.consumer import Consumer, ConsumerRunner
from shared.db import make_engine, make_sessionmaker, processed_events
from shared.events import ReceivedEvent
from shared.people import people
from tests.platform.dlq_support import dead_letters
from tests.support import Infra, eventually

TOPIC = "registry.events.v1"
MILESTONE = "registry.person.milestone"  # a catalogue type on TOPIC; its `age` carries the test's number


async def _effect(session, n: int) -> None:  # noqa: ANN001
    """A row per applied event: what the test counts (the database rolls back with the event)."""
    await session.execute(
        people.insert().values(person_id=uuid.uuid4(), id_number=f"{n:018d}", name=str(n), hukou_division="340207")
    )


def _event(n: int, event_id: str | None = None) -> dict:
    return {
        "specversion": "1.0",
        "id": event_id or str(uuid.uuid4()),
        "source": "/tests",
        "type": MILESTONE,
        "data": {
            "person_id": str(uuid.uuid4()),
            "id_number": "340207194005011238",
            "hukou_division": "340207",
            "birth_date": "1940-05-01",
            "age": n,
            "as_of": date.today().isoformat(),
        },
    }


def _record(offset: int, event: dict | None = None, topic: str = TOPIC) -> ConsumerRecord:
    value = json.dumps(event or _event(offset)).encode()
    return ConsumerRecord(topic, 0, offset, 0, 0, b"k", value, None, 1, len(value), [])


def _n(event: ReceivedEvent) -> int:
    return event.payload.age


async def _counts(runner: ConsumerRunner) -> tuple[int, int]:
    async with runner.sessionmaker() as s:
        done = (await s.execute(select(func.count()).select_from(processed_events))).scalar_one()
        effects = (await s.execute(select(func.count()).select_from(people))).scalar_one()
    return done, effects


async def test_a_failing_bulk_chunk_is_applied_event_by_event_and_never_twice(infra: Infra) -> None:
    url = infra.database(f"runner_{uuid.uuid4().hex[:6]}", "assistance")
    engine = make_engine(url)
    applied: list[int] = []
    spec = Consumer(name="runner-test", topics=[TOPIC])

    @spec.on(MILESTONE)
    async def one(_session, event) -> None:  # noqa: ANN001
        await _effect(_session, _n(event))
        applied.append(_n(event))

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
        assert await _counts(runner) == (10, 10)
    finally:
        await engine.dispose()


async def test_an_event_failing_mid_chunk_costs_only_itself(infra: Infra) -> None:
    url = infra.database(f"runner_{uuid.uuid4().hex[:6]}", "assistance")
    engine = make_engine(url)
    applied: list[int] = []
    spec = Consumer(name="runner-test-2", topics=[TOPIC])

    @spec.on(MILESTONE)
    async def one(_session, event) -> None:  # noqa: ANN001
        if _n(event) == 4:
            raise ValueError("cannot apply this one")
        await _effect(_session, _n(event))
        applied.append(_n(event))

    runner = ConsumerRunner(
        infra.settings("assistance", database_url=url, consumer_max_retries=2, consumer_retry_backoff_seconds=0.01),
        make_sessionmaker(engine),
        spec,
    )
    messages = [_record(i) for i in range(8)]
    try:
        assert await runner.handle_batch(messages) == 8
        # The chunk without savepoints rolled back whole; redone with them, 0-3 kept,
        # 4 retried and dead-lettered, 5-7 applied after it, in order.
        async with runner.sessionmaker() as s:
            effects = (await s.execute(select(people.c.name))).scalars().all()
        assert (await _counts(runner))[0] == 7
        assert sorted(effects, key=int) == ["0", "1", "2", "3", "5", "6", "7"]
        assert applied[-3:] == [5, 6, 7]
        failed_id = json.loads(messages[4].value)["id"]
        dead = await dead_letters(infra.broker.bootstrap, f"{TOPIC}.dlq", {failed_id})
        (record,) = dead[failed_id]  # once
        headers = dict(record.headers)
        assert headers["dlq-attempts"] == b"2"  # the bounded retries, then the dead-letter topic
        assert headers["dlq-kind"] == b"failed"
        assert headers["dlq-consumer"] == b"runner-test-2"
        assert b"cannot apply this one" in headers["dlq-error"]
    finally:
        if runner.producer is not None:
            await runner.producer.stop()
        await engine.dispose()


async def test_two_copies_of_one_event_in_a_chunk_apply_once_on_both_paths(infra: Infra) -> None:
    """The same event id twice in one chunk: one effect, one processed row, no error, bulk or not."""
    url = infra.database(f"runner_{uuid.uuid4().hex[:6]}", "assistance")
    engine = make_engine(url)
    bulk_seen: list[int] = []
    single = Consumer(name="runner-copies-single", topics=[TOPIC])
    bulk = Consumer(name="runner-copies-bulk", topics=[TOPIC])

    @single.on(MILESTONE)
    async def one(session, event) -> None:  # noqa: ANN001
        await _effect(session, _n(event))

    @bulk.batch
    async def many(session, events) -> dict[str, str]:  # noqa: ANN001
        for event in events:
            bulk_seen.append(_n(event))
            await _effect(session, 1000 + _n(event))
        return {}

    copy = _event(2)
    messages = [_record(0), _record(1), _record(2, copy), _record(3), _record(4, copy), _record(5, copy)]
    try:
        for spec, offset_base in ((single, 0), (bulk, 100)):
            runner = ConsumerRunner(infra.settings("assistance", database_url=url), make_sessionmaker(engine), spec)
            shifted = [
                ConsumerRecord(m.topic, 0, m.offset + offset_base, 0, 0, m.key, m.value, None, 1, len(m.value), [])
                for m in messages
            ]
            assert await runner.handle_batch(shifted) == offset_base + 6
        assert sorted(bulk_seen) == [0, 1, 2, 3]
        async with engine.connect() as conn:
            names = (await conn.execute(select(people.c.name))).scalars().all()
            per_consumer = dict(
                (
                    await conn.execute(
                        select(processed_events.c.consumer, func.count()).group_by(processed_events.c.consumer)
                    )
                ).all()
            )
        assert sorted(names, key=int) == ["0", "1", "2", "3", "1000", "1001", "1002", "1003"]
        assert per_consumer == {"runner-copies-single": 4, "runner-copies-bulk": 4}
    finally:
        await engine.dispose()


async def test_a_dead_letter_send_waits_for_the_broker_and_loses_nothing(infra: Infra) -> None:
    """The broker does not answer when a message must be dead-lettered.

    The partition waits, says so, then sends it once.
    """
    url = infra.database(f"runner_{uuid.uuid4().hex[:6]}", "assistance")
    engine = make_engine(url)
    spec = Consumer(name="runner-dlq-wait", topics=[TOPIC])
    applied: list[int] = []

    @spec.on(MILESTONE)
    async def one(session, event) -> None:  # noqa: ANN001
        applied.append(_n(event))

    nowhere = "127.0.0.1:9"  # nothing listens on the discard port
    runner = ConsumerRunner(
        infra.settings("assistance", database_url=url, kafka_bootstrap_servers=nowhere), make_sessionmaker(engine), spec
    )
    marker = uuid.uuid4().hex
    broken = {"specversion": "1.0", "source": "/tests", "type": MILESTONE, "data": {"marker": marker}}  # no id
    gauge = metrics.CONSUMER_WAITING.labels("assistance", spec.name, "broker")
    try:
        task = asyncio.create_task(runner.handle_batch([_record(0, broken), _record(1)]))
        await eventually(lambda: _waiting_on(runner, "broker"), timeout=10)
        assert gauge._value.get() == 1  # noqa: SLF001
        assert runner.status()["status"] == "waiting"
        assert applied == []  # its place is kept: the next message waits too
        runner.settings = infra.settings("assistance", database_url=url)  # the broker is back
        assert await asyncio.wait_for(task, timeout=30) == 2
        assert applied == [1]
        assert runner.waiting == {} and gauge._value.get() == 0  # noqa: SLF001
        dead = await dead_letters(infra.broker.bootstrap, f"{TOPIC}.dlq", {marker}, by="marker")
        (record,) = dead[marker]  # once
        assert dict(record.headers)["dlq-attempts"] == b"0"
        assert dict(record.headers)["dlq-kind"] == b"malformed"
    finally:
        if runner.producer is not None:
            await runner.producer.stop()
        await engine.dispose()


async def _waiting_on(runner: ConsumerRunner, dependency: str) -> bool:
    return any(w.dependency == dependency for w in runner.waiting.values())


async def test_a_batch_only_consumer_falls_back_to_its_batch_handler_one_event_at_a_time(infra: Infra) -> None:
    """A bad event breaks the bulk call; the others apply (none dropped as ignored); it alone is dead-lettered."""
    url = infra.database(f"runner_{uuid.uuid4().hex[:6]}", "assistance")
    engine = make_engine(url)
    spec = Consumer(name="runner-batch-only", topics=[TOPIC])

    @spec.batch
    async def many(session, events) -> dict[str, str]:  # noqa: ANN001
        if any(_n(e) == 503 for e in events):
            raise ValueError("three is a bug")
        for event in events:
            await _effect(session, _n(event))
        return {}

    settings = infra.settings("assistance", database_url=url, consumer_max_retries=2)
    runner = ConsumerRunner(settings, make_sessionmaker(engine), spec)
    messages = [_record(500 + i) for i in range(6)]
    try:
        assert await runner.handle_batch(messages) == 506
        async with runner.sessionmaker() as s:
            effects = (await s.execute(select(people.c.name))).scalars().all()
        assert sorted(effects, key=int) == ["500", "501", "502", "504", "505"]
        failed_id = json.loads(messages[3].value)["id"]
        (record,) = (await dead_letters(infra.broker.bootstrap, f"{TOPIC}.dlq", {failed_id}))[failed_id]
        assert dict(record.headers)["dlq-attempts"] == b"2"
    finally:
        if runner.producer is not None:
            await runner.producer.stop()
        await engine.dispose()


async def test_a_deadlock_is_retried_past_the_retry_budget_and_never_dead_lettered(infra: Infra) -> None:
    """A handler that meets a deadlock (40P01) five times, more than the two attempts allowed, then gets through."""
    url = infra.database(f"runner_{uuid.uuid4().hex[:6]}", "assistance")
    engine = make_engine(url)
    spec = Consumer(name="runner-deadlock", topics=[TOPIC])
    deadlocks = 5

    class Deadlock(Exception):
        sqlstate = "40P01"

    @spec.on(MILESTONE)
    async def one(session, event) -> None:  # noqa: ANN001
        nonlocal deadlocks
        if _n(event) == 701 and deadlocks:
            deadlocks -= 1
            raise DBAPIError("UPDATE …", {}, Deadlock("deadlock detected"))
        await _effect(session, _n(event))

    settings = infra.settings("assistance", database_url=url, consumer_max_retries=2)
    runner = ConsumerRunner(settings, make_sessionmaker(engine), spec)
    runner.first_wait_seconds = runner.max_wait_seconds = 0.01
    messages = [_record(700 + i) for i in range(3)]
    try:
        assert await runner.handle_batch(messages) == 703
        assert deadlocks == 0
        assert await _counts(runner) == (3, 3)  # each once, in order, none dead-lettered
        waited_id = json.loads(messages[1].value)["id"]
        assert await dead_letters(infra.broker.bootstrap, f"{TOPIC}.dlq", {waited_id}, timeout=0) == {}
        assert runner.waiting == {}
    finally:
        await engine.dispose()
