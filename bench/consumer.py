"""Benchmark: what the consumer runner itself costs per event, beside the raw loop, in CPU time.

N `registry.person.died` events (the envelope and headers the relay sends)
are produced to a 3-partition topic first; then, with the clock and the CPU
counter running, they are consumed three times by fresh groups:
- raw: aiokafka `getmany`, the id read from the JSON, ids inserted into
  processed_events in one transaction per fetch, offsets committed (what no
  consumer can beat);
- runner: `shared.consumer.ConsumerRunner` with a batch handler that does
  nothing: every message read, validated against the catalogue, recorded in
  processed_events and its offsets committed, with its spans and metrics.
- ignoring: the runner for a consumer with no handler for that type (as
  assistance has none for eldercare's allowance events): each message skipped
  from its envelope's type, nothing validated or recorded, offsets committed.
The difference is the runner's own cost, which every consumer pays on top of its handler's SQL.
With `--rate R`, the events are sent R a second by a child process while the
runner consumes them, without and then with its linger (see ConsumerRunner._fetch):
at steady arrival the per-chunk statements are paid by fewer events each.
CPU is this process's (the broker and PostgreSQL are reported apart), so other
work on the machine hardly moves it.

Run:  .venv/bin/python bench/consumer.py [--n 20000]
      .venv/bin/python bench/consumer.py --n 8000 --rate 400
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BenchStack, cpu_seconds, dsn, start_stack, tree_cpu_seconds  # noqa: E402
from shared import event_types as ev  # noqa: E402
from shared import identity, metrics  # noqa: E402
from shared.consumer import Consumer, ConsumerRunner  # noqa: E402
from shared.db import make_engine, make_sessionmaker  # noqa: E402
from shared.events import ReceivedEvent  # noqa: E402
from shared.settings import Settings  # noqa: E402

TOPIC = ev.REGISTRY_EVENTS
SELF = str(Path(__file__).resolve())  # run again as the steady mode's sender
TRACEPARENT = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def died(i: int) -> tuple[bytes, bytes]:
    """One death as the registry's relay sends it: (key, structured CloudEvent)."""
    person = uuid.uuid4()
    payload = ev.PersonDied(
        person_id=person,
        id_number=identity.make("340207", date(1930, 1, 1), i % 1000),
        hukou_division="340207003001",
        death_id=uuid.uuid4(),
        date_of_death=date(2026, 11, 20),
        source="hospital",
        status="reported",
    )
    body = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "/minzheng/registry",
        "type": "registry.person.died",
        "subject": str(person),
        "time": datetime.now(UTC).isoformat(),
        "datacontenttype": "application/json",
        "data": json.loads(payload.model_dump_json()),
    }
    return str(person).encode(), json.dumps(body, separators=(",", ":")).encode()  # compact, as the relay joins it


async def produce(stack: BenchStack, n: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=stack.broker.bootstrap, acks="all", linger_ms=5)
    await producer.start()
    headers = [("content-type", b"application/cloudevents+json"), ("traceparent", TRACEPARENT)]
    futures = []
    for i in range(n):
        key, value = died(i)
        futures.append(await producer.send(TOPIC, value, key=key, headers=headers))
    await asyncio.gather(*futures)
    await producer.stop()


async def raw(stack: BenchStack, n: int) -> None:
    db = await asyncpg.connect(dsn(stack.pg, "assistance"))
    consumer = AIOKafkaConsumer(
        TOPIC,
        bootstrap_servers=stack.broker.bootstrap,
        group_id="bench-raw",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_wait_ms=50,
        max_poll_records=500,
    )
    await consumer.start()
    got = 0
    while got < n:
        batch = await consumer.getmany(timeout_ms=1000, max_records=500)
        ids = [json.loads(m.value)["id"] for msgs in batch.values() for m in msgs]
        if not ids:
            continue
        async with db.transaction():
            await db.execute(
                "INSERT INTO processed_events (consumer, event_id, topic, type)"
                " SELECT 'raw', unnest($1::text[]), $2, 'registry.person.died' ON CONFLICT DO NOTHING",
                ids,
                TOPIC,
            )
        await consumer.commit()
        got += len(ids)
    await consumer.stop()
    await db.close()


async def runner(stack: BenchStack, n: int) -> None:
    settings = Settings(
        service="assistance", database_url=stack.pg.url("assistance"), kafka_bootstrap_servers=stack.broker.bootstrap
    )
    engine = make_engine(settings.database_url)
    spec = Consumer(name="bench.runner", topics=[TOPIC])

    @spec.batch
    async def nothing(_session: object, _events: list[ReceivedEvent]) -> dict[str, str]:
        return {}

    run = ConsumerRunner(settings, make_sessionmaker(engine), spec, group_id="bench-runner")
    run.start()
    db = await asyncpg.connect(dsn(stack.pg, "assistance"))
    while await db.fetchval("SELECT count(*) FROM processed_events WHERE consumer = 'bench.runner'") < n:
        await asyncio.sleep(0.05)
    await db.close()
    await run.stop()
    await engine.dispose()


async def runner_ignoring(stack: BenchStack, n: int) -> None:
    """The runner for a consumer with no handler for `registry.person.died`: every message skipped unread."""
    settings = Settings(
        service="assistance", database_url=stack.pg.url("assistance"), kafka_bootstrap_servers=stack.broker.bootstrap
    )
    engine = make_engine(settings.database_url)
    spec = Consumer(name="bench.ignoring", topics=[TOPIC])

    @spec.on("registry.person.registered")
    async def registered(_session: object, _event: ReceivedEvent) -> None:
        return None

    ignored = metrics.EVENTS_CONSUMED.labels("assistance", TOPIC, "ignored")
    start = ignored._value.get()  # noqa: SLF001
    run = ConsumerRunner(settings, make_sessionmaker(engine), spec, group_id="bench-ignoring")
    run.start()
    while ignored._value.get() - start < n:  # noqa: SLF001
        await asyncio.sleep(0.05)
    await run.stop()
    await engine.dispose()


async def produce_steady(bootstrap: str, n: int, rate: float) -> None:
    """N deaths sent `rate` a second, in ticks of 10 ms (the `--produce` child: its CPU is not the runner's)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=2)
    await producer.start()
    headers = [("content-type", b"application/cloudevents+json"), ("traceparent", TRACEPARENT)]
    start, sent = time.perf_counter(), 0
    while sent < n:
        due = min(n, int((time.perf_counter() - start) * rate) + 1)
        for i in range(sent, due):
            key, value = died(i)
            await producer.send(TOPIC, value, key=key, headers=headers)
        sent = due
        await asyncio.sleep(0.01)
    await producer.flush()
    await producer.stop()


async def runner_steady(stack: BenchStack, n: int, rate: float, linger: bool) -> None:
    """The runner (a batch handler doing nothing) while a child process sends N deaths `rate` a second."""
    settings = Settings(
        service="assistance", database_url=stack.pg.url("assistance"), kafka_bootstrap_servers=stack.broker.bootstrap
    )
    engine = make_engine(settings.database_url)
    spec = Consumer(name="bench.steady", topics=[TOPIC])
    chunks: list[int] = []

    @spec.batch
    async def nothing(_session: object, events: list[ReceivedEvent]) -> dict[str, str]:
        chunks.append(len(events))
        return {}

    run = ConsumerRunner(settings, make_sessionmaker(engine), spec, group_id="bench-steady")
    if not linger:
        run.linger_rate = float("inf")
    db = await asyncpg.connect(dsn(stack.pg, "assistance"))
    start = await db.fetchval("SELECT count(*) FROM processed_events WHERE consumer = 'bench.steady'")
    run.start()
    while run.kafka is None or not run.kafka.assignment():
        await asyncio.sleep(0.05)
    await asyncio.sleep(1)
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        SELF,
        "--produce",
        stack.broker.bootstrap,
        "--n",
        str(n),
        "--rate",
        str(rate),
    )
    sent_from = time.perf_counter()
    while await db.fetchval("SELECT count(*) FROM processed_events WHERE consumer = 'bench.steady'") - start < n:
        await asyncio.sleep(0.05)
    applied = time.perf_counter() - sent_from
    await child.wait()
    await db.close()
    await run.stop()
    await engine.dispose()
    mode = "with" if linger else "without"
    print(f"    ({mode} the linger: {len(chunks):,} chunks, {n / len(chunks):.1f} each; all in {applied:.1f} s)")


async def measure(stack: BenchStack, name: str, n: int, work: asyncio.Future[None] | object) -> None:
    parts = {"this process": os.getpid(), "postgresql": _postmaster(stack), "broker": stack.broker.proc.pid}  # type: ignore[union-attr]
    before = {k: (cpu_seconds(p) if k == "this process" else tree_cpu_seconds(p)) for k, p in parts.items()}
    t0 = time.perf_counter()
    await work  # type: ignore[misc]
    wall = time.perf_counter() - t0
    spent = {k: (cpu_seconds(p) if k == "this process" else tree_cpu_seconds(p)) - before[k] for k, p in parts.items()}
    shown = ", ".join(f"{k} {v / n * 1e6:,.0f} µs" for k, v in spent.items())
    print(f"  {name:<7} {n / wall:>8,.0f} events/s wall; CPU per event: {shown}", flush=True)


def _postmaster(stack: BenchStack) -> int:
    return int((stack.pg.data_dir / "postmaster.pid").read_text().split()[0])


async def steady(n: int, rate: float) -> None:
    """Without and with the linger, each on a stack of its own (nothing left over from the other)."""
    print(f"consuming {n:,} registry.person.died events sent {rate:,.0f}/s:")
    for linger in (False, True):
        stack = await start_stack(partitions=3)
        try:
            print(f"  (load average {os.getloadavg()[0]:.1f})")
            await measure(stack, "steady", n, runner_steady(stack, n, rate, linger=linger))
        finally:
            stack.stop()
    print(f"\nreproduce: .venv/bin/python bench/consumer.py --n {n} --rate {rate:g}")


async def main(n: int, rate: float | None) -> None:
    if rate:
        await steady(n, rate)
        return
    stack = await start_stack(partitions=3)
    try:
        print(f"producing {n:,} registry.person.died events…", flush=True)
        await produce(stack, n)
        print(f"consuming them (load average {os.getloadavg()[0]:.1f}):")
        await measure(stack, "raw", n, raw(stack, n))
        await measure(stack, "runner", n, runner(stack, n))
        await measure(stack, "ignoring", n, runner_ignoring(stack, n))
        print(f"\nreproduce: .venv/bin/python bench/consumer.py --n {n}")
    finally:
        stack.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20_000, help="events (default 20,000)")
    parser.add_argument("--rate", type=float, help="instead: events sent this many a second, without and with linger")
    parser.add_argument("--produce", metavar="BOOTSTRAP", help=argparse.SUPPRESS)  # the steady mode's sender
    args = parser.parse_args()
    if args.produce:
        asyncio.run(produce_steady(args.produce, args.n, args.rate))
    else:
        asyncio.run(main(args.n, args.rate))
