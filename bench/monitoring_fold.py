"""Benchmark: what monitoring's consumers cost per death, without the broker: Python CPU, PostgreSQL CPU and statements.

One private PostgreSQL (with pg_stat_statements) and monitoring's database; `--deaths` persons bulk-loaded as the
death flow seeds them (a dibao case and the old-age allowance, both active). Their deaths' events, as the registry,
assistance and eldercare publish them (registry.person.died, assistance.case.suspended and
eldercare.allowance.stopped, reason death), go through the real consumer runner (`ConsumerRunner.handle_batch`:
read and validate, processed-events bookkeeping, the batch handler, commit) in chunks of the runner's size, as the
partitions would deliver them: the service-events consumer takes all three types; the flows consumer takes the
assistance and eldercare events too (the death's, which it counts, and nothing else).

Printed: this process's CPU-ms a death per consumer, the PostgreSQL backends' CPU-ms a death, and the top statements
by total time (pg_stat_statements: calls, ms, ms a call), which the machine's load hardly moves.

Run:  .venv/bin/python bench/monitoring_fold.py [--deaths 10000] [--profile out.txt]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import dsn, tree_cpu_seconds  # noqa: E402
from services import MODULES  # noqa: E402
from services.monitoring.handlers import flows, service_events  # noqa: E402
from shared import devstack, identity, migrations  # noqa: E402
from shared import event_types as ev  # noqa: E402
from shared import settings as settings_mod  # noqa: E402
from shared.consumer import Consumer, ConsumerRunner  # noqa: E402
from shared.db import make_engine, make_sessionmaker  # noqa: E402
from shared.events import envelope  # noqa: E402
from shared.gc_tuning import tuned_collector  # noqa: E402

TOWNS = ["340207001", "340207002", "340207003", "340207101"]
PARTITIONS = 3


@dataclass
class Message:
    """What the runner reads of a Kafka message."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]
    timestamp: int = 0


def persons(n: int) -> list[tuple[uuid.UUID, str, str]]:
    start = date(1925, 1, 1)
    numbers = [identity.make("340207", start + timedelta(days=i // 1000), i % 1000) for i in range(n)]
    return [(uuid.uuid4(), number, TOWNS[i % 4]) for i, number in enumerate(numbers)]


def death_messages(people: list[tuple[uuid.UUID, str, str]]) -> dict[str, list[list[Message]]]:
    """Each topic's messages, by partition (keyed by person, as the services key them), in publication order."""
    died = date.today() - timedelta(days=1)
    by_topic: dict[str, list[list[Message]]] = {}

    def add(topic: str, service: str, payload: ev.Payload) -> None:
        spec = ev.SPEC_OF_MODEL[type(payload)]
        body = envelope(service=service, type=spec.type, subject=str(payload.person_id), data=payload)
        partitions = by_topic.setdefault(topic, [[] for _ in range(PARTITIONS)])
        part = partitions[payload.person_id.int % PARTITIONS]
        key = str(payload.person_id).encode()
        part.append(Message(topic, payload.person_id.int % PARTITIONS, len(part), key, orjson.dumps(body), []))

    for pid, number, town in people:
        ref = {"person_id": pid, "id_number": number, "hukou_division": town}
        add(ev.REGISTRY_EVENTS, "registry", ev.PersonDied(**ref, death_id=uuid.uuid4(), date_of_death=died,
                                                          source="hospital", status="reported"))  # fmt: skip
        add(ev.ASSISTANCE_EVENTS, "assistance", ev.CaseSuspended(**ref, case_id=uuid.uuid4(), program="dibao",
            status="suspended", monthly_amount="780.00", effective_date=died, reason="death"))  # fmt: skip
        add(ev.ELDERCARE_EVENTS, "eldercare", ev.AllowanceStopped(**ref, allowance_id=uuid.uuid4(), status="stopped",
            monthly_amount="30.00", effective_date=died, reason="death"))  # fmt: skip
    return by_topic


async def seed(url: str, people: list[tuple[uuid.UUID, str, str]]) -> None:
    conn = await asyncpg.connect(url)
    programs = '{"dibao": "active", "old_age_allowance": "active"}'
    rows = [(uuid.uuid4(), p, n, t, "active", '["dibao", "elder"]', programs) for p, n, t in people]
    columns = ["id", "person_id", "id_number", "hukou_division", "status", "categories", "programs"]
    await conn.copy_records_to_table("records", columns=columns, records=rows)
    await conn.execute("VACUUM ANALYZE records")
    await conn.close()


async def run(consumer: Consumer, sessionmaker: Any, by_topic: dict[str, list[list[Message]]]) -> float:  # noqa: ANN401
    """Every partition of the consumer's topics through the runner; this process's CPU-seconds."""
    runner = ConsumerRunner(settings_mod.load("monitoring"), sessionmaker, consumer)
    size = runner.settings.consumer_batch_size
    started = time.process_time()
    for topic in consumer.topics:
        for part in by_topic.get(topic, []):
            for i in range(0, len(part), size):
                await runner.handle_batch(part[i : i + size])  # type: ignore[arg-type]
    return time.process_time() - started


def profiler(out: Path) -> subprocess.Popen[bytes]:
    """py-spy recording this process (raw stacks) until sent SIGINT."""
    spy = str(Path(sys.executable).parent / "py-spy")
    command = [spy, "record", "--nonblocking", "--format", "raw", "-r", "200", "-p", str(os.getpid()), "-o", str(out)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def statements(url: str, top: int = 14) -> list[tuple[int, float, str]]:
    conn = await asyncpg.connect(url)
    rows = await conn.fetch(
        "SELECT calls, total_exec_time + total_plan_time AS ms, query FROM pg_stat_statements"
        " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'monitoring') ORDER BY 2 DESC LIMIT $1",
        top,
    )
    await conn.close()
    return [(r["calls"], r["ms"], r["query"]) for r in rows]


async def main(deaths: int, profile: Path | None, explain: Path | None) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="minzheng-fold-"))
    pg = devstack.Postgres(tmp / "pgdata", port=devstack.free_port())
    try:
        pg.start()
        conn = await asyncpg.connect(dsn(pg, "postgres"))
        await conn.execute("ALTER SYSTEM SET shared_preload_libraries = pg_stat_statements, auto_explain")
        if explain:  # every statement's plan with its row counts and times, in the server's log, copied at the end
            for setting in ("log_min_duration = 0", "log_analyze = on", "log_buffers = on", "log_triggers = on"):
                await conn.execute(f"ALTER SYSTEM SET auto_explain.{setting}")
        await conn.close()
        pg.stop()
        pg.start()
        pg.create_databases(["monitoring"])
        await asyncio.to_thread(migrations.upgrade, MODULES["monitoring"].migrations, pg.url("monitoring"))
        conn = await asyncpg.connect(dsn(pg, "monitoring"))
        await conn.execute("CREATE EXTENSION pg_stat_statements")
        await conn.close()
        people = persons(deaths)
        await seed(dsn(pg, "monitoring"), people)
        by_topic = death_messages(people)
        engine = make_engine(pg.url("monitoring"))
        sessionmaker = make_sessionmaker(engine)
        postmaster = int((pg.data_dir / "postmaster.pid").read_text().split()[0])
        conn = await asyncpg.connect(dsn(pg, "monitoring"))
        await conn.execute("SELECT pg_stat_statements_reset()")
        await conn.close()
        spy = profiler(profile) if profile else None
        if spy:
            await asyncio.sleep(1)
        pg_before, t0 = tree_cpu_seconds(postmaster), time.monotonic()
        with tuned_collector():  # as the service runs its consumers
            cpu = {c.name: await run(c, sessionmaker, by_topic) for c in (service_events, flows)}
        wall, pg_cpu = time.monotonic() - t0, tree_cpu_seconds(postmaster) - pg_before
        if spy:
            spy.send_signal(2)
            spy.wait(30)
        await engine.dispose()
        print(f"monitoring's consumers over {deaths:,} deaths (3 events each), no broker; wall {wall:.1f} s")
        for name, secs in cpu.items():
            print(f"  {name:<28} Python {secs / deaths * 1000:6.3f} CPU-ms a death")
        print(f"  {'all':<28} Python {sum(cpu.values()) / deaths * 1000:6.3f} CPU-ms a death")
        print(f"  {'PostgreSQL (all processes)':<28}        {pg_cpu / deaths * 1000:6.3f} CPU-ms a death")
        print("  statements by total time (calls, ms, ms a call):")
        for calls, ms, query in await statements(dsn(pg, "monitoring")):
            print(f"    {calls:>7,} {ms:>9,.1f} {ms / max(calls, 1):>8.3f}  {' '.join(query.split())[:110]}")
    finally:
        pg.stop()
        if explain:
            shutil.copy(pg.data_dir / "server.log", explain)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deaths", type=int, default=10_000)
    parser.add_argument("--profile", type=Path, help="py-spy this process into this file (raw stacks)")
    parser.add_argument("--explain", type=Path, help="copy the server's log with every statement's plan (auto_explain)")
    args = parser.parse_args()
    asyncio.run(main(args.deaths, args.profile, args.explain))
