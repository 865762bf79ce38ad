"""Benchmark: events per second monitoring applies from its topics, beside the raw limit of the same run.

One private stack (embedded PostgreSQL, the tansu broker, 3 partitions per
topic) and the monitoring service alone, as its own process. `--persons`
records are bulk-loaded first (not timed); then a burst of events about them
is published at once on the five topics monitoring reads, in the mix a
district sends: registry deaths and moves out, assistance enrolments and
amount changes, eldercare allowances, partners' incomes and medical bills.
Each event goes through monitoring's fold (record, history, the warning
rules, alerts, leads, its own events into the outbox).

Printed: the burst's events/s (first publish to the last consumer commit),
each consumer's events/s between its first and last commit, the raw limit of
the same messages measured in the same run (produce → consume in a group →
ids inserted → offsets committed, see bench/death_flow.py), and the
CPU-seconds each process spent per 1,000 events, which other work on the
machine hardly moves.

Run:  .venv/bin/python bench/monitoring_ingest.py [--persons 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaProducer
from pydantic import BaseModel

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BenchStack, dsn, start_stack  # noqa: E402
from bench.death_flow import consumer_rates, raw_limit  # noqa: E402
from shared import event_types as ev  # noqa: E402
from shared import identity  # noqa: E402
from shared.events import envelope  # noqa: E402

TOWN = "340207002001"
TODAY = date(2026, 11, 1)


def person(i: int) -> ev.PersonRef:
    number = identity.make("340207", date(1940, 1, 1) + timedelta(days=i // 900), i % 900)
    return ev.PersonRef(person_id=uuid.uuid5(uuid.NAMESPACE_OID, number), id_number=number, hukou_division=TOWN)


def events_of(i: int, p: ev.PersonRef) -> list[tuple[str, str, BaseModel]]:
    """One person's events in the district's mix: (topic, type, payload); about 1.9 per person."""
    ref = p.model_dump()
    out: list[tuple[str, str, BaseModel]] = []
    case = {"case_id": uuid.uuid4(), "program": "dibao", "status": "active", "effective_date": TODAY}
    if i % 5 < 2:
        out.append((ev.ASSISTANCE_EVENTS, "assistance.case.enrolled",
                    ev.CaseEnrolled(**ref, **case, monthly_amount=Decimal("500.00"))))  # fmt: skip
    if i % 5 == 0:
        out.append((ev.ASSISTANCE_EVENTS, "assistance.case.amount-changed",
                    ev.CaseAmountChanged(**ref, **case, monthly_amount=Decimal("450.00"))))  # fmt: skip
    if i % 5 == 3:
        out.append((ev.ELDERCARE_EVENTS, "eldercare.allowance.enrolled",
                    ev.AllowanceEnrolled(**ref, allowance_id=uuid.uuid4(), status="active",
                                         monthly_amount=Decimal("100.00"), effective_date=TODAY)))  # fmt: skip
    if i % 2 == 0:
        amount = Decimal("300.00") if i % 4 == 0 else Decimal("950.00")
        out.append((ev.PARTNER_INCOME, "partner.income.reported",
                    ev.PartnerIncome(id_number=p.id_number, monthly_amount=amount, period="2026-10",
                                     reference=f"I-{i}")))  # fmt: skip
    if i % 5 == 4:
        out.append((ev.PARTNER_MEDICAL_EXPENSES, "partner.medical-expense.reported",
                    ev.PartnerMedicalExpense(id_number=p.id_number, amount=Decimal("6200.00"), date=TODAY,
                                             reference=f"M-{i}")))  # fmt: skip
    if i % 20 == 7:
        out.append((ev.REGISTRY_EVENTS, "registry.person.died",
                    ev.PersonDied(**ref, death_id=uuid.uuid4(), date_of_death=TODAY, source="hospital",
                                  status="reported")))  # fmt: skip
    if i % 20 == 11:
        out.append((ev.REGISTRY_EVENTS, "registry.hukou.moved-out",
                    ev.HukouMovedOut(**{**ref, "hukou_division": "340208001001"}, change_id=uuid.uuid4(),
                                     kind="move_out", from_division=TOWN, to_division="340208001001",
                                     effective_date=TODAY, in_district=False)))  # fmt: skip
    return out


def messages(persons: list[ev.PersonRef]) -> list[tuple[str, bytes, bytes]]:
    """(topic, key, CloudEvent JSON) for every event, keyed like their publishers (person, or identity number)."""
    out = []
    for i, p in enumerate(persons):
        for topic, type_, payload in events_of(i, p):
            partner = topic in (ev.PARTNER_INCOME, ev.PARTNER_MEDICAL_EXPENSES)
            key = p.id_number if partner else str(p.person_id)
            body = envelope(service=topic.split(".")[0], type=type_, subject=str(p.person_id), data=payload,
                            time=datetime.now(UTC))  # fmt: skip
            out.append((topic, key.encode(), json.dumps(body).encode()))
    return out


async def seed(stack: BenchStack, persons: list[ev.PersonRef]) -> None:
    """The records monitoring already holds (bulk-loaded, not timed): partners' reports then find their person."""
    conn = await asyncpg.connect(dsn(stack.pg, "monitoring"))
    await conn.execute(
        "INSERT INTO records (id, person_id, id_number, hukou_division, status, categories, programs)"
        " SELECT gen_random_uuid(), p, n, $3, 'active', '[]', '{}' FROM unnest($1::uuid[], $2::text[]) AS u(p, n)",
        [p.person_id for p in persons],
        [p.id_number for p in persons],
        TOWN,
    )
    await conn.execute("ANALYZE records")
    await conn.close()


async def processed(stack: BenchStack) -> int:
    conn = await asyncpg.connect(dsn(stack.pg, "monitoring"))
    try:
        # The records' consumers (the month figures' consumer, monitoring.flows, records the case events apart)
        return await conn.fetchval("SELECT count(*) FROM processed_events WHERE consumer <> 'monitoring.flows'")
    finally:
        await conn.close()


async def publish(bootstrap: str, batch: list[tuple[str, bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=2)
    await producer.start()
    try:
        futures = [await producer.send(topic, value, key=key) for topic, key, value in batch]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def wait_for(stack: BenchStack, target: int, timeout: float) -> int:
    """Until monitoring has processed `target` events, or nothing moved for 10 s."""
    deadline, last, still_since = time.monotonic() + timeout, -1, time.monotonic()
    while time.monotonic() < deadline:
        done = await processed(stack)
        if done >= target:
            return done
        if done != last:
            last, still_since = done, time.monotonic()
        elif time.monotonic() - still_since > 10:
            return done
        await asyncio.sleep(0.25)
    return last


async def main(n: int) -> None:
    stack = await start_stack(partitions=3, commit_timestamps=True)
    try:
        persons = [person(i) for i in range(n)]
        burst = messages(persons)
        print(f"measuring the raw limit with {len(burst):,} messages…", flush=True)
        raw = await raw_limit(stack, [value for _, _, value in burst])
        await seed(stack, persons)
        stack.start_services(only=("monitoring",))
        warm = messages([person(n + 1)])  # a stranger's events: the consumers join and warm up, not timed
        await seed(stack, [person(n + 1)])
        await publish(stack.broker.bootstrap, warm)
        base = await wait_for(stack, len(warm), 120)
        since = datetime.now(UTC)
        before = stack.cpu()
        t0 = time.perf_counter()
        await publish(stack.broker.bootstrap, burst)
        done = await wait_for(stack, base + len(burst), 600) - base
        after = stack.cpu()
        rates = await consumer_rates(stack, since)
        conn = await asyncpg.connect(dsn(stack.pg, "monitoring"))
        last = await conn.fetchval(
            "SELECT extract(epoch FROM max(pg_xact_commit_timestamp(xmin)))::float8 FROM processed_events"
            " WHERE consumer <> 'monitoring.flows'"
        )
        alerts = await conn.fetchval("SELECT count(*) FROM alerts")
        leads = await conn.fetchval("SELECT count(*) FROM leads")
        await conn.close()
        span = (last - since.timestamp()) if last else time.perf_counter() - t0
        print(f"\n{done:,} of {len(burst):,} events about {n:,} persons applied by monitoring in {span:.2f} s:")
        print(f"  {done / span:,.0f} events/s into records, history, alerts ({alerts:,}) and leads ({leads:,})")
        print("  per consumer (events / seconds between its first and last commit), beside the raw limit:")
        print(f"    raw limit: produce {raw.produce_per_s:,.0f}/s; produce → consume → ids → commit "
              f"{raw.consume_per_s:,.0f}/s")  # fmt: skip
        for name, (events, per_s) in sorted(rates.items()):
            print(f"    {name:<34} {events:>7,} events {per_s:>8,.0f}/s  {per_s / raw.consume_per_s:>6.1%} of raw")
        print("  CPU-seconds during the burst (total, per 1,000 events):")
        for name in after:
            secs = after[name] - before.get(name, 0.0)
            print(f"    {name:<24} {secs:>7.2f} s  {secs / max(done, 1) * 1000:>6.3f} s")
        print(f"\nreproduce: .venv/bin/python bench/monitoring_ingest.py --persons {n}")
    finally:
        stack.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=10_000)
    asyncio.run(main(parser.parse_args().persons))
