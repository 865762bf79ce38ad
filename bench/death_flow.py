"""Benchmark: N partner death reports through the whole flow.

Measures, in one run on a private stack (embedded PostgreSQL, the tansu
broker, the four services as separate processes):
- events per second for each consumer (registry's partner feed; assistance,
  eldercare and monitoring on registry.events.v1 and the others' topics),
- latency from publishing a death on partner.deaths.v1 to monitoring's record
  of that person being marked deceased (p50, p99, max),
- the raw broker produce and consume rate for messages of the same size;
- then, with the queues drained, the same latency for deaths reported one at
  a time (`--trickle`, default 50, 100 ms apart): what one report costs when
  nothing waits ahead of it.

Run:  .venv/bin/python bench/death_flow.py [--n 10000]
Setup (persons, cases, allowances, monitoring records) is bulk-loaded and not timed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BenchStack, pct, start_stack  # noqa: E402
from shared import identity  # noqa: E402


def numbers(n: int) -> list[str]:
    out, i = [], 0
    start = date(1925, 1, 1)
    while len(out) < n:
        born = start + timedelta(days=i // 1000)
        out.append(identity.make("340207", born, i % 1000))
        i += 1
    return out


async def seed(stack: BenchStack, ids: list[str]) -> list[uuid.UUID]:
    person_ids = [uuid.uuid4() for _ in ids]
    dsn = lambda db: stack.pg.url(db, driver="asyncpg").replace("postgresql+asyncpg", "postgresql")  # noqa: E731
    towns = ["340207001", "340207002", "340207003", "340207101"]
    reg = await asyncpg.connect(dsn("registry"))
    await reg.copy_records_to_table(
        "persons",
        columns=["id", "id_number", "name", "sex", "birth_date", "registered_division", "hukou_division", "in_district", "status"],
        records=[
            (pid, n, "测试", identity.parse(n).sex, identity.parse(n).birth_date, towns[i % 4], towns[i % 4], True, "alive")
            for i, (pid, n) in enumerate(zip(person_ids, ids, strict=True))
        ],
    )
    await reg.close()
    asg = await asyncpg.connect(dsn("assistance"))
    await asg.copy_records_to_table(
        "cases",
        columns=["id", "person_id", "id_number", "program", "monthly_amount", "status", "started_on", "hukou_division"],
        records=[(uuid.uuid4(), pid, n, "dibao", 780, "active", date(2025, 1, 1), towns[i % 4]) for i, (pid, n) in enumerate(zip(person_ids, ids, strict=True))],
    )
    await asg.close()
    eld = await asyncpg.connect(dsn("eldercare"))
    await eld.copy_records_to_table(
        "allowances",
        columns=["id", "person_id", "id_number", "status", "monthly_amount", "explanation", "started_on", "hukou_division"],
        records=[(uuid.uuid4(), pid, n, "active", 30, "seeded", date(2025, 1, 1), towns[i % 4]) for i, (pid, n) in enumerate(zip(person_ids, ids, strict=True))],
    )
    await eld.close()
    mon = await asyncpg.connect(dsn("monitoring"))
    await mon.copy_records_to_table(
        "records",
        columns=["id", "person_id", "id_number", "hukou_division", "status", "categories", "programs"],
        records=[
            (uuid.uuid4(), pid, n, towns[i % 4], "active", '["dibao", "elder"]', '{"dibao": "active", "old_age_allowance": "active"}')
            for i, (pid, n) in enumerate(zip(person_ids, ids, strict=True))
        ],
    )
    await mon.close()
    return person_ids


def death_event(id_number: str, i: int) -> bytes:
    return json.dumps({
        "specversion": "1.0", "id": str(uuid.uuid4()), "source": "/partners/hospital", "type": "partner.death.reported",
        "time": datetime.now(UTC).isoformat(), "datacontenttype": "application/json",
        "data": {"id_number": id_number, "date_of_death": (date.today() - timedelta(days=1)).isoformat(), "source": "hospital", "reference": f"BENCH-{i:08d}"},
    }).encode()


async def raw_broker_rate(bootstrap: str, n: int, size: int) -> tuple[float, float]:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic("bench.raw", 3, 1)])
    await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=2)
    await producer.start()
    payload = b"x" * size
    t = time.perf_counter()
    futures = [await producer.send("bench.raw", payload, key=str(i).encode()) for i in range(n)]
    await asyncio.gather(*futures)
    produce_rate = n / (time.perf_counter() - t)
    await producer.stop()
    consumer = AIOKafkaConsumer("bench.raw", bootstrap_servers=bootstrap, group_id="bench-raw", auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    got = 0
    first = await consumer.getmany(timeout_ms=10_000, max_records=500)  # the group join is not counted
    got += sum(len(m) for m in first.values())
    t = time.perf_counter()
    while got < n:
        batch = await consumer.getmany(timeout_ms=2000, max_records=500)
        got += sum(len(m) for m in batch.values())
    consume_rate = (n - sum(len(m) for m in first.values())) / (time.perf_counter() - t)
    await consumer.stop()
    return produce_rate, consume_rate


async def consumer_rates(stack: BenchStack, since: datetime) -> dict[str, tuple[int, float]]:
    out = {}
    for svc in ("registry", "assistance", "eldercare", "monitoring"):
        conn = await asyncpg.connect(stack.pg.url(svc).replace("postgresql+asyncpg", "postgresql"))
        rows = await conn.fetch(
            "SELECT consumer, count(*) AS n, extract(epoch FROM max(processed_at) - min(processed_at)) AS secs "
            "FROM processed_events WHERE processed_at >= $1 GROUP BY consumer", since,
        )
        await conn.close()
        for r in rows:
            out[r["consumer"]] = (r["n"], r["n"] / float(r["secs"]) if r["secs"] else float("nan"))
    return out


async def main(n: int, trickle: int) -> None:
    stack = await start_stack()
    try:
        ids = numbers(n + trickle)
        ids, quiet_ids = ids[:n], ids[n:]
        print(f"seeding {n} persons with a dibao case, an old-age allowance and a monitoring record…", flush=True)
        await seed(stack, ids + quiet_ids)
        stack.start_services()
        sample = death_event(ids[0], 0)
        raw_produce, raw_consume = await raw_broker_rate(stack.broker.bootstrap, n, len(sample))

        producer = AIOKafkaProducer(bootstrap_servers=stack.broker.bootstrap, acks="all", linger_ms=2)
        await producer.start()
        # Let every consumer group settle before the clock starts.
        await asyncio.sleep(3)
        since = datetime.now(UTC)
        sent_at: dict[str, float] = {}
        t0 = time.time()
        futures = []
        for i, number in enumerate(ids):
            sent_at[number] = time.time()
            futures.append(await producer.send("partner.deaths.v1", death_event(number, i), key=number[-4:].encode()))
        await asyncio.gather(*futures)
        publish_secs = time.time() - t0
        await producer.stop()

        mon = await asyncpg.connect(stack.pg.url("monitoring").replace("postgresql+asyncpg", "postgresql"))
        deadline = time.time() + max(120, n / 20)
        while time.time() < deadline:
            done = await mon.fetchval("SELECT count(*) FROM records WHERE status = 'deceased'")
            if done >= n:
                break
            await asyncio.sleep(0.5)
        rows = await mon.fetch("SELECT id_number, extract(epoch FROM updated_at) AS at FROM records WHERE status = 'deceased'")
        alerts = await mon.fetchval("SELECT count(*) FROM alerts WHERE kind = 'beneficiary_died'")
        total_secs = time.time() - t0
        latencies = [(float(r["at"]) - sent_at[r["id_number"]]) * 1000 for r in rows]
        rates = await consumer_rates(stack, since)

        # With the queues drained: one report at a time.
        await asyncio.sleep(5)
        producer = AIOKafkaProducer(bootstrap_servers=stack.broker.bootstrap, acks="all")
        await producer.start()
        for i, number in enumerate(quiet_ids):
            sent_at[number] = time.time()
            await producer.send_and_wait("partner.deaths.v1", death_event(number, n + i), key=number[-4:].encode())
            await asyncio.sleep(0.1)
        await producer.stop()
        deadline = time.time() + 30
        while time.time() < deadline and await mon.fetchval("SELECT count(*) FROM records WHERE status = 'deceased'") < n + len(quiet_ids):
            await asyncio.sleep(0.2)
        quiet_rows = await mon.fetch("SELECT id_number, extract(epoch FROM updated_at) AS at FROM records WHERE status = 'deceased' AND id_number = ANY($1::text[])", quiet_ids)
        quiet = [(float(r["at"]) - sent_at[r["id_number"]]) * 1000 for r in quiet_rows]
        await mon.close()

        print()
        print(f"death flow, N={n} partner death reports (3 partitions per topic, 4 services as processes, 2 cores)")
        print(f"  published to partner.deaths.v1 in {publish_secs:.2f} s ({n / publish_secs:,.0f}/s)")
        print(f"  monitoring records marked deceased: {len(rows)}/{n} in {total_secs:.1f} s; beneficiary_died alerts: {alerts}")
        if latencies:
            print(f"  publish → monitoring record updated: p50 {pct(latencies, 50):,.0f} ms, p99 {pct(latencies, 99):,.0f} ms, max {max(latencies):,.0f} ms")
        print("  consumer throughput (events processed / seconds between first and last):")
        for name, (count, rate) in sorted(rates.items()):
            print(f"    {name:<32} {count:>7} events  {rate:>8,.0f}/s")
        print(f"  raw broker, same message size ({len(sample)} B): produce {raw_produce:,.0f}/s, consume {raw_consume:,.0f}/s")
        if quiet:
            print(
                f"  one at a time, queues empty ({len(quiet)}/{len(quiet_ids)} deaths): publish → monitoring record updated "
                f"p50 {pct(quiet, 50):,.0f} ms, p99 {pct(quiet, 99):,.0f} ms"
            )
        print(f"\nreproduce: .venv/bin/python bench/death_flow.py --n {n} --trickle {trickle}")
    finally:
        stack.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000, help="death reports to send at once (default 10,000)")
    parser.add_argument("--trickle", type=int, default=50, help="then deaths sent one at a time, 100 ms apart (default 50)")
    args = parser.parse_args()
    asyncio.run(main(args.n, args.trickle))
