"""Graceful shutdown: SIGTERM in the middle of a burst of events loses and duplicates nothing.

A real `minzheng serve assistance` process, on its own database and consumer
group (so it shares neither relay nor offsets with the in-process services),
takes a burst of `registry.person.registered` events. It is stopped with
SIGTERM while it works through them and started again; afterwards every
event's effect is there once, the first run committed the offsets of all it
had applied (the second run sees no duplicate), and each run exited cleanly
within the grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from sqlalchemy import insert

from shared import devstack
from shared.db import make_engine, make_sessionmaker, outbox
from shared.events import envelope
from shared.outbox import OutboxRelay
from tests.support import JWT_SECRET, Infra, eventually, new_id_number

TOPIC = "registry.events.v1"
CONSUMER = "assistance.registry-events"  # the assistance service's only consumer
GRACE = 10
N = 2000  # set-based consumers apply a chunk at once: enough that SIGTERM lands mid-burst


def _registered(person_id: uuid.UUID) -> dict:
    born = date(1960, 5, 17)
    data = {
        "person_id": str(person_id),
        "id_number": new_id_number(),
        "hukou_division": "340207003001",
        "name": "测试",
        "sex": "F",
        "birth_date": born.isoformat(),
    }
    return envelope(service="registry", type="registry.person.registered", subject=str(person_id), data=data)


async def _start_group_at_end(bootstrap: str, group: str) -> None:
    """Commit the group's offsets at the topic's end, so the process reads only this test's events."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.topics()  # fetches the cluster's metadata
        tps = [TopicPartition(TOPIC, p) for p in sorted(consumer.partitions_for_topic(TOPIC) or [])]
        assert tps
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        await consumer.commit({tp: ends[tp] for tp in tps})
    finally:
        await consumer.stop()


class Process:
    """One `minzheng serve assistance` child process."""

    def __init__(self, env: dict[str, str], log: Path):
        self.env, self.log = env, log
        self.port = int(env["PORT"])
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "serve", "assistance"],
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        out.close()

    async def ready(self) -> None:
        """Ready, and its consumer holds its partitions (lag is reported per assigned partition)."""

        async def check() -> bool:
            assert self.proc is not None and self.proc.poll() is None, self.log.read_text()[-3000:]
            try:
                async with httpx.AsyncClient(timeout=2) as client:
                    r = await client.get(f"http://127.0.0.1:{self.port}/readyz")
            except httpx.HTTPError:
                return False
            return r.status_code == 200 and bool(r.json()["consumers"][CONSUMER]["lag"])

        await eventually(check, timeout=30, interval=0.1)

    async def metric(self, name: str, **labels: str) -> float:
        async with httpx.AsyncClient(timeout=2) as client:
            text = (await client.get(f"http://127.0.0.1:{self.port}/metrics")).text
        total = 0.0
        for line in text.splitlines():
            if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
                total += float(line.rsplit(" ", 1)[1])
        return total

    async def terminate(self) -> float:
        """SIGTERM; return how long it took to exit. Fails unless it exits cleanly within the grace period."""
        assert self.proc is not None
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.to_thread(self.proc.wait, GRACE)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(f"still running {GRACE}s after SIGTERM") from None
        # uvicorn re-raises the signal once it has shut down cleanly (143 to a container runtime).
        assert code in (0, -signal.SIGTERM), self.log.read_text()[-3000:]
        return time.monotonic() - started

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
async def assistance_process(infra: Infra, tmp_path: Path) -> AsyncIterator[tuple[Process, str]]:
    url = await asyncio.to_thread(infra.database, f"assistance_shutdown_{uuid.uuid4().hex[:8]}", "assistance")
    group = f"minzheng-shutdown-test-{uuid.uuid4().hex[:8]}"
    await _start_group_at_end(infra.broker.bootstrap, f"{group}.{CONSUMER}")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSISTANCE_", "OTEL_"))}
    env |= {
        "DATABASE_URL": url,
        "KAFKA_BOOTSTRAP_SERVERS": infra.broker.bootstrap,
        "CONSUMER_GROUP": group,
        "JWT_SECRET": JWT_SECRET,
        "PORT": str(devstack.free_port()),
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        "SHUTDOWN_GRACE_SECONDS": str(GRACE - 2),
        # One event a transaction, so SIGTERM lands between many of them (a set-based
        # chunk of ten applies so fast that the whole burst could end before uvicorn's
        # shutdown reaches the consumer).
        "CONSUMER_BATCH_SIZE": "1",
        # The broker waits out a departed member's session before it reassigns its partitions.
        "CONSUMER_SESSION_TIMEOUT_MS": "1500",
    }
    process = Process(env, tmp_path / "assistance.log")
    try:
        yield process, url
    finally:
        process.kill()


async def test_sigterm_mid_burst_loses_and_duplicates_nothing(
    infra: Infra, assistance_process: tuple[Process, str]
) -> None:
    process, url = assistance_process
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    process.start()
    await process.ready()

    person_ids = [uuid.uuid4() for _ in range(N)]
    events = [_registered(p) for p in person_ids]
    event_ids = [e["id"] for e in events]
    producer = AIOKafkaProducer(bootstrap_servers=infra.broker.bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        futures = [
            await producer.send(
                TOPIC,
                json.dumps(e).encode(),
                key=str(p).encode(),
                headers=[("content-type", b"application/cloudevents+json")],
            )
            for p, e in zip(person_ids, events, strict=True)
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()

    db = await asyncpg.connect(dsn)
    try:

        async def applied() -> int:
            return int(await db.fetchval("SELECT count(*) FROM people WHERE person_id = ANY($1::uuid[])", person_ids))

        # SIGTERM as soon as the burst is under way: set-based consumers apply a chunk fast,
        # and a loaded machine may wake this test late.
        await eventually(lambda: _at_least(applied, 1), timeout=20, interval=0.005)
        took = await process.terminate()
        first_run = await applied()
        assert first_run < N, "SIGTERM came after the burst was done; the test proved nothing"
        log = process.log.read_text()
        assert '"service stopped"' in log and re.search(r'"service":\s*"assistance"', log)

        process.start()
        await process.ready()
        await eventually(lambda: _at_least(applied, N), timeout=30, interval=0.05)

        # The second run applied exactly what the first had not, and saw no duplicate:
        # the first committed the offsets of everything it had applied before it stopped.
        processed = await process.metric("events_consumed_total", topic=TOPIC, result="processed")
        duplicates = await process.metric("events_consumed_total", topic=TOPIC, result="duplicate")
        assert (processed, duplicates) == (N - first_run, 0)
        rows = await db.fetch(
            "SELECT event_id, count(*) AS n FROM processed_events"
            " WHERE consumer = $1 AND event_id = ANY($2::text[]) GROUP BY event_id",
            CONSUMER,
            event_ids,
        )
        assert len(rows) == N and all(r["n"] == 1 for r in rows)
        assert await applied() == N
        await process.terminate()
    finally:
        await db.close()
    assert took < GRACE


async def _at_least(count: object, n: int) -> bool:
    return await count() >= n  # type: ignore[operator]


async def test_relay_flushes_pending_rows_before_it_stops(infra: Infra) -> None:
    """Rows committed without a wake-up (the relay would only find them at its next poll) are published on stop."""
    url = await asyncio.to_thread(infra.database, f"assistance_relay_{uuid.uuid4().hex[:8]}", "assistance")
    settings = infra.settings("assistance", database_url=url, outbox_poll_seconds=3600, shutdown_grace_seconds=5)
    engine = make_engine(url)
    relay = OutboxRelay(settings, engine, make_sessionmaker(engine))
    try:
        relay.start()
        await eventually(lambda: _true(relay.is_leader), timeout=10)
        await asyncio.sleep(0.2)  # idle: waiting for a wake-up that will not come
        ids = [uuid.uuid4() for _ in range(7)]
        async with engine.begin() as conn:
            for event_id in ids:
                env = envelope(
                    service="assistance",
                    type="assistance.review.due",
                    subject=str(event_id),
                    data={},
                    event_id=event_id,
                )
                await conn.execute(
                    insert(outbox).values(
                        id=event_id,
                        topic="assistance.events.v1",
                        key=str(event_id),
                        type=env["type"],
                        subject=env["subject"],
                        time=env["time"],
                        data=env["data"],
                        headers={},
                    )
                )
        started = time.monotonic()
        await relay.stop()
        assert time.monotonic() - started < 3
        async with engine.connect() as conn:
            pending = (
                await conn.exec_driver_sql("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            ).scalar_one()
        assert pending == 0
    finally:
        with contextlib.suppress(Exception):
            await relay.stop()
        await engine.dispose()


async def _true(value: bool) -> bool:
    return value
