"""Events of types a consumer has no handler for are skipped unread; everything unreadable still goes to the DLQ.

The runner judges a message's type from the binary-mode `ce_type` header or the
structured envelope's `type` before validating or recording it. A catalogue type
of the topic that the consumer does not handle is taken (its offset commits) with
no validation, no processed_events row and no handler call. A message whose type
is missing, not text, or unknown to the catalogue is not skippable: it is
dead-lettered with its reason, as before.
"""

from __future__ import annotations

import json
import uuid
from datetime import date

from aiokafka.structs import ConsumerRecord
from sqlalchemy import select

from shared import metrics
from shared.consumer import Consumer, ConsumerRunner
from shared.db import make_engine, make_sessionmaker, processed_events
from shared.events import ReceivedEvent
from tests.platform.dlq_support import dead_letters
from tests.support import Infra

TOPIC = "registry.events.v1"
HANDLED = "registry.person.milestone"
NOT_HANDLED = "registry.person.died"  # a catalogue type of TOPIC the test's consumer has no handler for


def _envelope(type: object, data: dict | None = None) -> dict:
    return {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/tests", "type": type, "data": data or {}}


def _milestone(age: int) -> dict:
    data = {
        "person_id": str(uuid.uuid4()),
        "id_number": "340207194005011238",
        "hukou_division": "340207",
        "birth_date": "1940-05-01",
        "age": age,
        "as_of": date.today().isoformat(),
    }
    return _envelope(HANDLED, data)


def _structured(offset: int, event: dict) -> ConsumerRecord:
    value = json.dumps(event).encode()
    return ConsumerRecord(TOPIC, 0, offset, 0, 0, b"k", value, None, 1, len(value), [])


def _binary(offset: int, type: str) -> ConsumerRecord:
    """A binary-mode message whose data would not even fit its model: never read, since it is skipped."""
    headers = [("ce_specversion", b"1.0"), ("ce_id", str(uuid.uuid4()).encode()), ("ce_source", b"/tests")]
    headers.append(("ce_type", type.encode()))
    return ConsumerRecord(TOPIC, 0, offset, 0, 0, b"k", b'{"not": "a person died"}', None, 1, 24, headers)


def _ignored_count() -> float:
    return metrics.EVENTS_CONSUMED.labels("assistance", TOPIC, "ignored")._value.get()  # noqa: SLF001


async def test_unhandled_types_are_skipped_unread_and_the_unreadable_still_dead_lettered(infra: Infra) -> None:
    url = infra.database(f"ignored_{uuid.uuid4().hex[:6]}", "assistance")
    engine = make_engine(url)
    seen: list[int] = []
    spec = Consumer(name="ignoring-test", topics=[TOPIC])

    @spec.on(HANDLED)
    async def one(_session, event: ReceivedEvent) -> None:  # noqa: ANN001
        seen.append(event.payload.age)

    @spec.batch
    async def many(_session, events: list[ReceivedEvent]) -> dict[str, str]:  # noqa: ANN001
        seen.extend(e.payload.age for e in events)
        return {}

    assert NOT_HANDLED in spec.ignored_on(TOPIC) and HANDLED not in spec.ignored_on(TOPIC)
    unfit_skipped = _envelope(NOT_HANDLED, {"nothing": "that fits"})  # skipped before validation: no DLQ
    no_type, not_text, unknown = _envelope(""), _envelope(5), _envelope("registry.person.vanished")
    messages = [
        _structured(0, _milestone(1)),
        _structured(1, unfit_skipped),
        _binary(2, NOT_HANDLED),
        _structured(3, _milestone(2)),
        _structured(4, no_type),
        _structured(5, not_text),
        _structured(6, unknown),
        _binary(7, NOT_HANDLED),
        _structured(8, _milestone(3)),
    ]
    runner = ConsumerRunner(infra.settings("assistance", database_url=url), make_sessionmaker(engine), spec)
    ignored_before = _ignored_count()
    try:
        assert await runner.handle_batch(messages) == 9  # every offset taken
        assert seen == [1, 2, 3]  # in order, and nothing else reached a handler
        async with engine.connect() as conn:
            recorded = set((await conn.execute(select(processed_events.c.event_id))).scalars())
        assert recorded == {json.loads(messages[i].value)["id"] for i in (0, 3, 8)}
        assert _ignored_count() - ignored_before == 3

        wanted = {no_type["id"], not_text["id"], unknown["id"]}
        letters = await dead_letters(infra.broker.bootstrap, f"{TOPIC}.dlq", wanted)
        assert set(letters) == wanted and all(len(copies) == 1 for copies in letters.values())
        assert await dead_letters(infra.broker.bootstrap, f"{TOPIC}.dlq", {unfit_skipped["id"]}, timeout=0) == {}
        reasons = {w: dict(letters[w][0].headers)["dlq-error"].decode() for w in wanted}
        assert "'type' is missing" in reasons[no_type["id"]] and "'type' is missing" in reasons[not_text["id"]]
        assert "unknown event type" in reasons[unknown["id"]]
    finally:
        if runner.producer is not None:
            await runner.producer.stop()
        await engine.dispose()


def test_a_consumer_with_only_a_batch_handler_ignores_nothing() -> None:
    spec = Consumer(name="takes-all", topics=[TOPIC])

    @spec.batch
    async def many(_session, _events) -> dict[str, str]:  # noqa: ANN001
        return {}

    assert spec.ignored_on(TOPIC) == frozenset()
