"""Benchmark: how long an event takes from its commit to a consumer of the topic (the outbox relay).

Registers N persons one by one through the registry's HTTP API (10 ms apart:
a clerk's pace, so the relay is idle between them) and measures, for each,
the time from the commit of the transaction that wrote the person and its
event (PostgreSQL's commit timestamp of the person's row, `track_commit_timestamp`)
to the `registry.person.registered` event being handed to a consumer of
registry.events.v1 in this process.

Run:  .venv/bin/python bench/outbox_latency.py [--n 500]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import SECRET, dsn, pct, start_stack  # noqa: E402
from shared import identity  # noqa: E402
from shared import settings as settings_mod  # noqa: E402
from shared.auth import issue_token  # noqa: E402


async def main(n: int) -> None:
    stack = await start_stack(commit_timestamps=True)
    try:
        stack.start_services(only=("registry",))
        token = issue_token(
            settings_mod.Settings(service="registry", jwt_secret=SECRET),
            sub="bench",
            scopes="registry:write",
            division="340207",
        )
        consumer = AIOKafkaConsumer(
            "registry.events.v1",
            bootstrap_servers=stack.broker.bootstrap,
            group_id=f"bench-{uuid.uuid4().hex}",
            auto_offset_reset="latest",
            fetch_max_wait_ms=20,
        )
        await consumer.start()
        while not consumer.assignment():
            await asyncio.sleep(0.05)
        await consumer.seek_to_end()
        arrived: dict[uuid.UUID, float] = {}

        async def consume() -> None:
            while len(arrived) < n:
                for msgs in (await consumer.getmany(timeout_ms=100)).values():
                    at = time.time()
                    for m in msgs:
                        arrived[uuid.UUID(json.loads(m.value)["data"]["person_id"])] = at

        reader = asyncio.create_task(consume())
        async with httpx.AsyncClient(base_url=stack.url("registry"), headers={"Authorization": f"Bearer {token}"}) as c:
            for i in range(n):
                number = identity.make("340207", date(1960, 1, 1) + timedelta(days=i // 1000), i % 1000)
                r = await c.post(
                    "/v1/persons", json={"id_number": number, "name": "测试", "hukou_division": "340207001"}
                )
                r.raise_for_status()
                await asyncio.sleep(0.01)  # one at a time, as a clerk's requests come: latency, not throughput
        await asyncio.wait_for(reader, timeout=60)
        await consumer.stop()
        db = await asyncpg.connect(dsn(stack.pg, "registry"))
        rows = await db.fetch(
            "SELECT id, extract(epoch FROM pg_xact_commit_timestamp(xmin))::float8 AS at FROM persons"
            " WHERE id = ANY($1::uuid[])",
            list(arrived),
        )
        # The relay marks a row published in the transaction that saw the broker's acknowledgement.
        acked = await db.fetch(
            "SELECT key, extract(epoch FROM pg_xact_commit_timestamp(xmin))::float8 AS at FROM outbox"
            " WHERE type = 'registry.person.registered' AND published_at IS NOT NULL"
        )
        await db.close()
        committed = {r["id"]: r["at"] for r in rows}
        relay = [(r["at"] - committed[uuid.UUID(r["key"])]) * 1000 for r in acked if uuid.UUID(r["key"]) in committed]
        lat = [(arrived[r["id"]] - r["at"]) * 1000 for r in rows]
        print(f"\noutbox relay, N={n} events, each committed by an HTTP request and read back from registry.events.v1")
        print(
            f"  commit → consumed from the topic: p50 {pct(lat, 50):.1f} ms, p99 {pct(lat, 99):.1f} ms, "
            f"max {max(lat):.1f} ms ({len(lat)} events)"
        )
        print(
            f"  of which the relay, commit → acknowledged by the broker and marked published:"
            f" p50 {pct(relay, 50):.1f} ms, p99 {pct(relay, 99):.1f} ms"
        )
        print(f"\nreproduce: .venv/bin/python bench/outbox_latency.py --n {n}")
    finally:
        stack.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=500)
    asyncio.run(main(parser.parse_args().n))
