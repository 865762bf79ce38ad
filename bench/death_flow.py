"""Benchmark: partner death reports through the whole flow, each effect timed at its commit.

One private stack per run (embedded PostgreSQL, the tansu broker, the four
services as separate processes, 3 partitions per topic). Every person has a
dibao case, an old-age allowance and a monitoring record; a death has four
effects: the case suspended (assistance), the allowance stopped (eldercare),
the record marked deceased and one beneficiary_died alert (monitoring).

Modes:
- burst (`--n N`, default 10,000): N deaths published at once on
  partner.deaths.v1; the time from the first publish to the last effect;
- steady (`--rate R --seconds S`): R deaths a second for S seconds;
  publish → last effect of each death, p50/p99;
- then, with the queues empty, `--trickle T` deaths one at a time, each sent
  when the previous one's effects are all in: publish → last effect, p50/p99.

An effect's time is the commit of the transaction that last wrote its row
(PostgreSQL's `track_commit_timestamp`, read as `pg_xact_commit_timestamp(xmin)`),
not `updated_at`, which is `now()`: the start of the transaction, shared by a
whole chunk and moved by later events.

Each consumer's events/s (its processed_events rows over the span between its
first and last commit) is printed beside the raw limit measured in the same
run, before the services start: N messages of the same size produced to a
3-partition topic while a consumer in a group reads them, inserts each event
id into a processed-events table in one transaction per fetched batch and
commits its offsets. Its clock runs from the first produce to the last offset
commit, so nothing is counted from a client-side prefetch. No consumer can beat it.

Run:  .venv/bin/python bench/death_flow.py [--n 10000] [--trickle 50]
      .venv/bin/python bench/death_flow.py --rate 1000 --seconds 30
Setup (persons, cases, allowances, monitoring records) is bulk-loaded and not timed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import pgstatements  # noqa: E402
from bench.common import BenchStack, cpu_seconds, dsn, pct, start_stack  # noqa: E402
from shared import identity  # noqa: E402

TOWNS = ["340207001", "340207002", "340207003", "340207101"]
# Where each effect lands: (database, table, the row's state once the effect is applied).
EFFECTS = {
    "case suspended": ("assistance", "cases", "status = 'suspended'"),
    "allowance stopped": ("eldercare", "allowances", "status = 'stopped'"),
    "record deceased": ("monitoring", "records", "status = 'deceased'"),
    "alert raised": ("monitoring", "alerts", "kind = 'beneficiary_died'"),
}
# When the death event's transaction wrote its history row (later events write the record row again).
RECORD_DIED_AT = (
    "SELECT r.person_id, extract(epoch FROM min(pg_xact_commit_timestamp(h.xmin)))::float8 AS at"
    " FROM records r JOIN record_history h ON h.record_id = r.id AND h.event_type = 'registry.person.died'"
    " WHERE r.status = 'deceased' AND r.person_id = ANY($1::uuid[]) GROUP BY r.person_id"
)
MONITORING_EVENTS_PER_DEATH = 3  # person died, case suspended, allowance stopped


def numbers(n: int) -> list[str]:
    start = date(1925, 1, 1)
    return [identity.make("340207", start + timedelta(days=i // 1000), i % 1000) for i in range(n)]


async def seed(stack: BenchStack, ids: list[str]) -> dict[str, uuid.UUID]:
    """Persons in the registry, each with a case, an allowance and a monitoring record (COPY, not timed).

    Assistance and eldercare also get their copies of the persons (`people`), as the registry's events
    would have given them: eldercare finds an allowance by identity number through its copy.
    """
    person_ids = {n: uuid.uuid4() for n in ids}
    rows = [(pid, n, TOWNS[i % 4]) for i, (n, pid) in enumerate(person_ids.items())]
    copy_columns = ["person_id", "id_number", "name", "sex", "birth_date", "hukou_division", "in_district", "status"]
    copies = [(p, n, "测试", identity.parse(n).sex, identity.parse(n).birth_date, t, True, "alive") for p, n, t in rows]
    tables = {
        "registry": (
            "persons",
            [
                "id",
                "id_number",
                "name",
                "sex",
                "birth_date",
                "registered_division",
                "hukou_division",
                "in_district",
                "status",
            ],
            [
                (p, n, "测试", identity.parse(n).sex, identity.parse(n).birth_date, t, t, True, "alive")
                for p, n, t in rows
            ],
        ),
        "assistance": (
            "cases",
            ["id", "person_id", "id_number", "program", "monthly_amount", "status", "started_on", "hukou_division"],
            [(uuid.uuid4(), p, n, "dibao", 780, "active", date(2025, 1, 1), t) for p, n, t in rows],
        ),
        "eldercare": (
            "allowances",
            ["id", "person_id", "id_number", "status", "monthly_amount", "explanation", "started_on", "hukou_division"],
            [(uuid.uuid4(), p, n, "active", 30, "seeded", date(2025, 1, 1), t) for p, n, t in rows],
        ),
        "monitoring": (
            "records",
            ["id", "person_id", "id_number", "hukou_division", "status", "categories", "programs"],
            [
                (
                    uuid.uuid4(),
                    p,
                    n,
                    t,
                    "active",
                    '["dibao", "elder"]',
                    '{"dibao": "active", "old_age_allowance": "active"}',
                )
                for p, n, t in rows
            ],
        ),
    }
    loads = [(db, *spec) for db, spec in tables.items()]
    loads += [(db, "people", copy_columns, copies) for db in ("assistance", "eldercare")]
    for db, table, columns, records in loads:
        conn = await asyncpg.connect(dsn(stack.pg, db))
        await conn.copy_records_to_table(table, columns=columns, records=records)
        await conn.close()
    return person_ids


def death_event(id_number: str, i: int) -> bytes:
    died = (date.today() - timedelta(days=1)).isoformat()
    return json.dumps(
        {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": "/partners/hospital",
            "type": "partner.death.reported",
            "time": datetime.now(UTC).isoformat(),
            "datacontenttype": "application/json",
            "data": {
                "id_number": id_number,
                "date_of_death": died,
                "source": "hospital",
                "reference": f"BENCH-{i:08d}",
            },
        }
    ).encode()


# -- the raw limit -------------------------------------------------------------------


@dataclass
class RawLimit:
    produce_per_s: float
    consume_per_s: float  # produce → consume in a group → ids inserted in batch transactions → offsets committed


async def raw_limit(stack: BenchStack, messages: list[bytes]) -> RawLimit:
    """What no consumer can beat, measured on this machine now (see the module's docstring)."""
    bootstrap = stack.broker.bootstrap
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic("bench.raw", 3, 1)])
    await admin.close()
    stack.pg.create_databases(["bench"])
    db = await asyncpg.connect(dsn(stack.pg, "bench"))
    await db.execute(
        "CREATE TABLE processed_events (consumer text, event_id text, topic text NOT NULL, type text NOT NULL,"
        " processed_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (consumer, event_id))"
    )
    consumer = AIOKafkaConsumer(
        "bench.raw",
        bootstrap_servers=bootstrap,
        group_id="bench-raw",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_wait_ms=50,
        max_poll_records=500,
    )
    await consumer.start()
    while not consumer.assignment():  # join the group on the empty topic: the join is not timed
        await consumer.getmany(timeout_ms=100)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=2)
    await producer.start()

    async def produce() -> float:
        started = time.perf_counter()
        futures = [await producer.send("bench.raw", m, key=str(i % 1000).encode()) for i, m in enumerate(messages)]
        await asyncio.gather(*futures)
        return time.perf_counter() - started

    t0 = time.perf_counter()
    producing = asyncio.create_task(produce())
    got = 0
    while got < len(messages):
        batch = await consumer.getmany(timeout_ms=1000, max_records=500)
        ids = [json.loads(m.value)["id"] for msgs in batch.values() for m in msgs]
        if not ids:
            continue
        async with db.transaction():
            await db.execute(
                "INSERT INTO processed_events (consumer, event_id, topic, type)"
                " SELECT 'raw', unnest($1::text[]), 'bench.raw', 'partner.death.reported' ON CONFLICT DO NOTHING",
                ids,
            )
        await consumer.commit()
        got += len(ids)
    consume_secs = time.perf_counter() - t0
    produce_secs = await producing
    await producer.stop()
    await consumer.stop()
    await db.close()
    return RawLimit(len(messages) / produce_secs, len(messages) / consume_secs)


# -- observing the effects -----------------------------------------------------------


class Effects:
    """Reads the four effects of deaths from the services' databases, with the commit time of each."""

    def __init__(self, conns: dict[str, asyncpg.Connection], bootstrap: str, backends: list[int]):
        self.conns = conns
        self.bootstrap = bootstrap
        self.backends = backends  # the PostgreSQL backends serving these connections (their CPU is the bench's)

    @classmethod
    async def open(cls, stack: BenchStack) -> Effects:
        conns = {db: await asyncpg.connect(dsn(stack.pg, db)) for db in ("registry", *{e[0] for e in EFFECTS.values()})}
        backends = [await conn.fetchval("SELECT pg_backend_pid()") for conn in conns.values()]
        return cls(conns, stack.broker.bootstrap, backends)

    def polling_cpu(self) -> float:
        """CPU-seconds PostgreSQL has spent answering this bench's own queries (counts, commit times)."""
        return sum(cpu_seconds(pid) for pid in self.backends)

    async def close(self) -> None:
        for conn in self.conns.values():
            await conn.close()

    async def counts(self, person_ids: list[uuid.UUID] | None = None) -> dict[str, int]:
        """How many persons (all, or those given) show each effect."""
        out = {}
        for name, (db, table, where) in EFFECTS.items():
            if person_ids is None:
                out[name] = await self.conns[db].fetchval(f"SELECT count(*) FROM {table} WHERE {where}")  # noqa: S608 - constants
            else:
                sql = f"SELECT count(*) FROM {table} WHERE {where} AND person_id = ANY($1::uuid[])"  # noqa: S608
                out[name] = await self.conns[db].fetchval(sql, person_ids)
        return out

    async def registry_applied(self, event_id: str) -> float:
        """When the registry committed a partner report (its processed_events row), epoch seconds."""
        return await self.conns["registry"].fetchval(
            "SELECT extract(epoch FROM pg_xact_commit_timestamp(xmin))::float8 FROM processed_events"
            " WHERE consumer = 'registry.partner-feeds' AND event_id = $1",
            event_id,
        )

    async def monitoring_processed(self) -> int:
        return await self.conns["monitoring"].fetchval("SELECT count(*) FROM processed_events")

    async def committed(self, person_ids: list[uuid.UUID]) -> dict[str, dict[uuid.UUID, float]]:
        """Per effect, per person: when the transaction that made the effect committed (epoch seconds).

        That is the commit of the row's last writer, except for the monitoring
        record, which the case and allowance events write again after the death:
        its death is timed by the history row the death event left.
        """
        out: dict[str, dict[uuid.UUID, float]] = {}
        for name, (db, table, where) in EFFECTS.items():
            sql = (
                RECORD_DIED_AT
                if name == "record deceased"
                else (
                    f"SELECT person_id, extract(epoch FROM pg_xact_commit_timestamp(xmin))::float8 AS at"  # noqa: S608
                    f" FROM {table} WHERE {where} AND person_id = ANY($1::uuid[])"
                )
            )
            rows = await self.conns[db].fetch(sql, person_ids)
            out[name] = {r["person_id"]: r["at"] for r in rows}
        return out

    async def wait_drained(self, quiet_for: float = 2.0, timeout: float = 600) -> float:
        """Until no consumer of any service has recorded an event for `quiet_for` seconds; return the seconds waited.

        The burst's effects can all be in while monitoring is still taking the
        burst's other events (a case suspended, an allowance stopped): a death
        sent "one at a time" then would wait behind that backlog.
        """
        started = time.time()
        last, since = -1, started
        while time.time() - started < timeout:
            total = 0
            for conn in self.conns.values():
                total += await conn.fetchval("SELECT count(*) FROM processed_events")
            if total != last:
                last, since = total, time.time()
            elif time.time() - since >= quiet_for:
                break
            await asyncio.sleep(0.25)
        return time.time() - started

    async def alerts_in(self, person_ids: list[uuid.UUID] | None, n: int) -> bool:
        """Whether the alerts, the last effect of a burst, are all in: the one count polled while they are not.

        Counting every effect's table four times a second cost PostgreSQL as
        much CPU as half the services' work when a loaded machine made the run long.
        """
        if person_ids is not None:
            return True  # a few persons: the counts themselves are cheap
        db, table, where = EFFECTS["alert raised"]
        return await self.conns[db].fetchval(f"SELECT count(*) >= $1 FROM {table} WHERE {where}", n)  # noqa: S608

    async def wait_all(self, person_ids: list[uuid.UUID] | None, n: int, base: int, timeout: float) -> bool:
        """Until every effect is in for `n` persons and monitoring has taken each death's three events."""
        deadline = time.time() + timeout
        settled_at: float | None = None
        pause = 0.002 if person_ids is not None and len(person_ids) == 1 else 0.25
        while time.time() < deadline:
            if await self.alerts_in(person_ids, n) and all(c >= n for c in (await self.counts(person_ids)).values()):
                settled_at = settled_at or time.time()
                processed = await self.monitoring_processed()
                if processed >= base + MONITORING_EVENTS_PER_DEATH * n or time.time() - settled_at > 2:
                    return True
            await asyncio.sleep(pause)
        return False


async def consumer_rates(stack: BenchStack, since: datetime) -> dict[str, tuple[int, float]]:
    """Per consumer: events processed since `since`, and events/s between its first and last commit."""
    out = {}
    for svc in ("registry", "assistance", "eldercare", "monitoring"):
        conn = await asyncpg.connect(dsn(stack.pg, svc))
        rows = await conn.fetch(
            "SELECT consumer, count(*) AS n, extract(epoch FROM max(pg_xact_commit_timestamp(xmin))"
            " - min(pg_xact_commit_timestamp(xmin)))::float8 AS secs"
            " FROM processed_events WHERE processed_at >= $1 GROUP BY consumer",
            since,
        )
        await conn.close()
        for r in rows:
            out[r["consumer"]] = (r["n"], r["n"] / r["secs"] if r["secs"] else float("nan"))
    return out


def consumed(stack: BenchStack) -> Counter[tuple[str, str, str]]:
    """Every service's events_consumed_total now, by (service, topic, result), read from its /metrics."""
    out: Counter[tuple[str, str, str]] = Counter()
    for service in stack.by_service:
        for family in text_string_to_metric_families(httpx.get(f"{stack.url(service)}/metrics", timeout=10).text):
            if family.name != "events_consumed":
                continue
            for sample in family.samples:
                if sample.name == "events_consumed_total":
                    out[service, sample.labels["topic"], sample.labels["result"]] += int(sample.value)
    return out


def print_consumed(before: Counter[tuple[str, str, str]], after: Counter[tuple[str, str, str]]) -> None:
    """Per service and topic, what its consumers did with the messages: processed, or ignored (no handler) unread."""
    print("  messages taken by each service, by result (ignored: a type it has no handler for, skipped unread):")
    rows: dict[tuple[str, str], dict[str, int]] = {}
    for (service, topic, result), n in (after - before).items():
        rows.setdefault((service, topic), {})[result] = n
    for (service, topic), results in sorted(rows.items()):
        total = sum(results.values())
        shown = ", ".join(f"{r} {n:,}" for r, n in sorted(results.items()))
        print(f"    {service:<11} {topic:<22} {total:>8,}: {shown} ({results.get('ignored', 0) / total:.0%} ignored)")


def latencies(sent_at: dict[uuid.UUID, float], committed: dict[str, dict[uuid.UUID, float]]) -> dict[str, list[float]]:
    """Milliseconds from publish to each effect's commit, and to the last of a death's effects."""
    out = {name: [(at - sent_at[p]) * 1000 for p, at in rows.items()] for name, rows in committed.items()}
    out["last effect"] = [
        (max(rows[p] for rows in committed.values() if p in rows) - sent_at[p]) * 1000 for p in sent_at
    ]
    return out


def print_latencies(title: str, lat: dict[str, list[float]]) -> None:
    print(f"  {title} (ms, p50 / p99 / max):")
    for name, values in lat.items():
        if values:
            p50, p99 = pct(values, 50), pct(values, 99)
            print(f"    {name:<18} {p50:>8,.0f} {p99:>8,.0f} {max(values):>8,.0f}  ({len(values):,})")


# -- the modes -----------------------------------------------------------------------


async def publish_burst(
    producer: AIOKafkaProducer, ids: list[str], person: dict[str, uuid.UUID]
) -> dict[uuid.UUID, float]:
    sent_at: dict[uuid.UUID, float] = {}
    futures = []
    for i, number in enumerate(ids):
        sent_at[person[number]] = time.time()
        futures.append(await producer.send("partner.deaths.v1", death_event(number, i), key=number[-4:].encode()))
    await asyncio.gather(*futures)
    return sent_at


async def publish_steady(
    producer: AIOKafkaProducer, ids: list[str], person: dict[str, uuid.UUID], rate: float
) -> dict[uuid.UUID, float]:
    """`rate` deaths a second, sent in small slices every 5 ms as they fall due."""
    sent_at: dict[uuid.UUID, float] = {}
    futures = []
    start = time.time()
    i = 0
    while i < len(ids):
        due = min(len(ids), int((time.time() - start) * rate) + 1)
        while i < due:
            number = ids[i]
            sent_at[person[number]] = time.time()
            futures.append(await producer.send("partner.deaths.v1", death_event(number, i), key=number[-4:].encode()))
            i += 1
        await asyncio.sleep(0.005)
    await asyncio.gather(*futures)
    return sent_at


async def one_at_a_time(
    effects: Effects, ids: list[str], person: dict[str, uuid.UUID], offset: int
) -> list[dict[str, float]]:
    """Deaths sent one at a time, each when the previous one's effects are in; per death, ms from publish to each hop.

    The hops: the registry's commit of the partner report, then each effect's
    commit, then the last effect. Where an outlier's time went is in the gap
    between two of them (a relay, a consumer's fetch, a transaction).
    """
    producer = AIOKafkaProducer(bootstrap_servers=effects.bootstrap, acks="all")
    await producer.start()
    out = []
    try:
        for i, number in enumerate(ids):
            pid = person[number]
            base = await effects.monitoring_processed()
            event = death_event(number, offset + i)
            sent = time.time()
            await producer.send_and_wait("partner.deaths.v1", event, key=number[-4:].encode())
            if await effects.wait_all([pid], 1, base, timeout=30):
                committed = await effects.committed([pid])
                hops = {"registry applied": await effects.registry_applied(json.loads(event)["id"])}
                hops |= {name: rows[pid] for name, rows in committed.items()}
                hops["last effect"] = max(rows[pid] for rows in committed.values())
                out.append({name: (at - sent) * 1000 for name, at in hops.items()})
    finally:
        await producer.stop()
    return out


def print_hops(quiet: list[dict[str, float]], wanted: int) -> None:
    """One at a time: p50/p99/max of each hop, and where the slowest deaths spent their time."""
    last = [q["last effect"] for q in quiet]
    print(
        f"  one at a time, queues empty ({len(quiet)}/{wanted} deaths): publish → last effect "
        f"p50 {pct(last, 50):,.0f} ms, p99 {pct(last, 99):,.0f} ms, max {max(last):,.0f} ms"
    )
    print_latencies("one at a time, publish → each hop committed", {h: [q[h] for q in quiet] for h in quiet[0]})
    print("    the three slowest (ms from publish):")
    for q in sorted(quiet, key=lambda q: q["last effect"])[-3:]:
        print("      " + ", ".join(f"{h} {v:,.0f}" for h, v in q.items()))


def cpu_now(stack: BenchStack, effects: Effects) -> dict[str, float]:
    """CPU-seconds so far of each part, the bench's own queries taken out of PostgreSQL's and shown apart."""
    cpu = stack.cpu()
    polling = effects.polling_cpu()
    cpu["postgresql"] -= polling
    cpu["bench: PostgreSQL polling"] = polling
    return cpu


def print_cpu(
    before: dict[str, float], after: dict[str, float], deaths: int, idle: dict[str, float], secs: float
) -> None:
    """CPU-seconds each part spent from the first publish to the last effect, per death, beside its idle rate.

    `idle` is each part's CPU a second with nothing to do (heartbeats, empty
    fetches the broker holds for fetch_max_wait_ms, the relays' polls),
    measured just before the burst: a run made long by a loaded machine pays
    it for every second, so its CPU per death overstates what the work costs.
    (Busy, the empty fetches become full ones: idle x wall is an upper bound
    of that part, not a figure to subtract.)
    """
    print(f"  CPU-seconds from the first publish to the last effect ({secs:.1f} s):")
    print(f"    {'':<26} {'total':>8} {'ms/death':>9} {'cores busy':>10} {'cores idle':>10}")
    spent = {name: after[name] - before.get(name, 0.0) for name in after}
    rows = {**spent, "all but the bench": sum(v for k, v in spent.items() if not k.startswith("bench"))}
    idle = {**idle, "all but the bench": sum(v for k, v in idle.items() if not k.startswith("bench"))}
    for name, used in rows.items():
        per_death, busy = used / deaths * 1000, used / secs
        print(f"    {name:<26} {used:>7.2f}s {per_death:>9.3f} {busy:>10.3f} {idle.get(name, 0.0):>10.3f}")


def profilers(stack: BenchStack, folder: Path) -> list[subprocess.Popen[bytes]]:
    """py-spy recording each service process (collapsed stacks, `<folder>/<service>.txt`) until stopped."""
    folder.mkdir(parents=True, exist_ok=True)
    spy = str(Path(sys.executable).parent / "py-spy")
    return [
        subprocess.Popen(
            [spy, "record", "--nonblocking", "--format", "raw", "-r", "200", "-p", str(proc.pid)]
            + ["-o", str(folder / f"{name}.txt")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name, proc in stack.by_service.items()
    ]


def stop_profilers(spies: list[subprocess.Popen[bytes]]) -> None:
    for spy in spies:
        spy.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
    for spy in spies:
        spy.wait(30)


async def idle_cpu(stack: BenchStack, effects: Effects, seconds: float = 3.0) -> dict[str, float]:
    """Each part's CPU-seconds a second while nothing is sent (the services settled, the queues empty)."""
    before = cpu_now(stack, effects)
    await asyncio.sleep(seconds)
    after = cpu_now(stack, effects)
    return {name: (after[name] - before[name]) / seconds for name in after}


async def main(n: int, rate: float | None, seconds: float, trickle: int, profile: Path | None) -> None:
    count = int(rate * seconds) if rate else n
    stack = await start_stack(commit_timestamps=True)
    try:
        all_ids = numbers(count + trickle)
        ids, quiet_ids = all_ids[:count], all_ids[count:]
        print(f"seeding {len(all_ids):,} persons with a dibao case, an old-age allowance and a monitoring record…")
        person = await seed(stack, all_ids)
        sample = death_event(ids[0], 0)
        print(f"measuring the raw limit with {count:,} messages of {len(sample)} B…", flush=True)
        raw = await raw_limit(stack, [death_event(number, i) for i, number in enumerate(ids)])
        stack.start_services()
        effects = await Effects.open(stack)
        producer = AIOKafkaProducer(bootstrap_servers=stack.broker.bootstrap, acks="all", linger_ms=2)
        await producer.start()
        await asyncio.sleep(3)  # let every consumer group settle before the clock starts
        idle = await idle_cpu(stack, effects)
        since = datetime.now(UTC)
        base = await effects.monitoring_processed()
        spies = profilers(stack, profile) if profile else []
        cpu_before, consumed_before = cpu_now(stack, effects), consumed(stack)
        if pgstatements.ENABLED:
            await pgstatements.reset(dsn(stack.pg, "postgres"))
        t0 = time.time()
        if rate:
            print(f"publishing {rate:,.0f} deaths/s for {seconds:,.0f} s…", flush=True)
            sent_at = await publish_steady(producer, ids, person, rate)
        else:
            print(f"publishing {count:,} deaths at once…", flush=True)
            sent_at = await publish_burst(producer, ids, person)
        publish_secs = time.time() - t0
        await producer.stop()
        complete = await effects.wait_all(None, count, base, timeout=max(300, count / 5))  # a loaded machine is slow
        cpu_after, consumed_after = cpu_now(stack, effects), consumed(stack)
        stop_profilers(spies)
        committed = await effects.committed(list(sent_at))
        last_effect = max((at for rows in committed.values() for at in rows.values()), default=t0)
        lat = latencies(sent_at, committed)
        rates = await consumer_rates(stack, since)
        drained = await effects.wait_drained() if quiet_ids else 0.0
        # After the drain: every consumer's work on the burst counted (monitoring's trails the last effect).
        statements = await pgstatements.report(dsn(stack.pg, "postgres"), count) if pgstatements.ENABLED else ""
        quiet = await one_at_a_time(effects, quiet_ids, person, count) if quiet_ids else []
        await effects.close()

        mode = f"steady, {rate:,.0f} deaths/s for {seconds:,.0f} s" if rate else f"burst of {count:,}"
        print()
        print(f"death flow, {mode} (3 partitions per topic, 4 services as processes, 2 cores)")
        print(f"  published {count:,} to partner.deaths.v1 in {publish_secs:.2f} s ({count / publish_secs:,.0f}/s)")
        shown = ", ".join(f"{name} {len(rows):,}" for name, rows in committed.items())
        print(f"  effects ({'all in' if complete else 'NOT ALL IN before the timeout'}): {shown}")
        secs = last_effect - t0
        print(f"  first publish → last effect: {secs:.1f} s ({count / secs:,.0f} deaths/s end to end)")
        print_latencies("publish → effect committed", lat)
        print("  consumers (events / seconds between first and last commit), beside the raw limit:")
        print(
            f"    raw limit: produce {raw.produce_per_s:,.0f}/s; produce → consume → insert ids → commit offsets "
            f"{raw.consume_per_s:,.0f}/s"
        )
        for name, (events, per_s) in sorted(rates.items()):
            print(f"    {name:<34} {events:>7,} events {per_s:>8,.0f}/s  {per_s / raw.consume_per_s:>6.1%} of raw")
        if quiet:
            print(f"  (the queues drained {drained:.1f} s after the last effect, before the first death sent alone)")
            print_hops(quiet, len(quiet_ids))
        print_consumed(consumed_before, consumed_after)
        print_cpu(cpu_before, cpu_after, count, idle, secs)
        if statements:
            print(statements)
        print(f"  load average at the end: {os.getloadavg()[0]:.1f} (other work shares the two cores)")
        flags = f"--rate {rate:g} --seconds {seconds:g}" if rate else f"--n {n}"
        print(f"\nreproduce: .venv/bin/python bench/death_flow.py {flags} --trickle {trickle}")
    finally:
        stack.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000, help="deaths sent at once (default 10,000)")
    parser.add_argument("--rate", type=float, help="deaths a second, sent steadily (instead of a burst)")
    parser.add_argument("--seconds", type=float, default=30, help="how long the steady mode sends (default 30)")
    parser.add_argument("--trickle", type=int, default=50, help="then deaths one at a time, queues empty (default 50)")
    parser.add_argument("--profile", type=Path, help="py-spy each service during the timed part into this folder")
    args = parser.parse_args()
    asyncio.run(main(args.n, args.rate, args.seconds, args.trickle, args.profile))
