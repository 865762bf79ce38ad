"""The consumer's fetch under steady arrival: a short wait for more before a small chunk; none for a lone message."""

from __future__ import annotations

import asyncio
import time
import uuid

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.consumer import Consumer, ConsumerRunner
from shared.kafka import make_consumer
from tests.support import Infra

LINGER = 0.5  # long, so the test tells a linger from a prompt answer on a loaded machine


async def _topic(bootstrap: str) -> str:
    name = f"linger-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 1, 1)])
    finally:
        await admin.close()
    return name


async def test_a_message_after_quiet_is_taken_at_once_and_steady_ones_wait_for_company(infra: Infra) -> None:
    bootstrap = infra.broker.bootstrap
    topic = await _topic(bootstrap)
    runner = ConsumerRunner(infra.settings("assistance"), None, Consumer(name="linger-test", topics=[topic]))  # type: ignore[arg-type]
    # Steady: three messages within the window (a lone one is 1/3 a second, two 2/3).
    runner.linger_seconds, runner.rate_window_seconds, runner.linger_rate = LINGER, 3.0, 1.0
    runner.kafka = make_consumer(infra.settings("assistance"), [topic], f"linger-{uuid.uuid4().hex[:8]}")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await asyncio.gather(runner.kafka.start(), producer.start())
    try:
        while runner.kafka.assignment() == set():
            await runner._fetch()  # noqa: SLF001 - joins the group; nothing to read yet

        async def fetched(*values: bytes) -> tuple[list[bytes], float]:
            for value in values:
                await producer.send_and_wait(topic, value)
            started = time.monotonic()
            batches = await runner._fetch()  # noqa: SLF001
            return [m.value for messages in batches.values() for m in messages], time.monotonic() - started

        # After a quiet spell: the message is applied as it comes, no linger.
        first, took = await fetched(b"1")
        assert first == [b"1"] and took < LINGER
        # A second, then a third message soon after: steady arrival.
        assert (await fetched(b"2"))[0] == [b"2"]
        later = asyncio.get_running_loop().call_later(0.1, lambda: asyncio.ensure_future(producer.send(topic, b"4")))
        third, took = await fetched(b"3")
        later.cancel()
        assert third == [b"3", b"4"]  # the third round waited, and took the message sent meanwhile
        assert took < LINGER + 1.0
    finally:
        await asyncio.gather(runner.kafka.stop(), producer.stop())
