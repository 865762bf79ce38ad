"""Benchmark: the downstream consumers' handlers alone, against PostgreSQL, without the broker.

What one chunk of death events costs each consumer (assistance, eldercare,
monitoring) when applied at once through its batch handler (a fixed number
of statements per chunk), beside the same handler taking the events one per
call (what the runner falls back to when a chunk fails). Each death is
three events for monitoring (the death, the case suspended, the allowance
stopped), one for assistance and one for eldercare.

Run:  .venv/bin/python bench/handlers.py [--n 10000] [--chunk 500]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pydantic import BaseModel  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker  # noqa: E402

from bench.common import cpu_seconds, tree_cpu_seconds  # noqa: E402
from services import MODULES  # noqa: E402
from services.assistance import handlers as assistance  # noqa: E402
from services.assistance.models import Case  # noqa: E402
from services.eldercare import handlers as eldercare  # noqa: E402
from services.eldercare.models import Allowance  # noqa: E402
from services.monitoring import handlers as monitoring  # noqa: E402
from services.monitoring.models import Record  # noqa: E402
from shared import devstack, identity, migrations, people  # noqa: E402
from shared import event_types as ev  # noqa: E402
from shared.consumer import Consumer  # noqa: E402
from shared.db import make_engine, make_sessionmaker  # noqa: E402
from shared.events import ReceivedEvent, typed  # noqa: E402

DOD = date(2026, 11, 20)


class Person:
    def __init__(self, i: int):
        self.id = uuid.uuid4()
        self.id_number = identity.make("340207", date(1925, 1, 1) + timedelta(days=i // 1000), i % 1000)
        self.division = "340207003001"
        self.case_id, self.allowance_id = uuid.uuid4(), uuid.uuid4()

    def known(self) -> dict[str, Any]:
        """The person's row of a service's people copy, as their registration left it."""
        born = identity.parse(self.id_number).birth_date
        return {**self.ref(), "name": "王秀英", "sex": "F", "birth_date": born, "status": "alive", "in_district": True}

    def ref(self) -> dict[str, Any]:
        return {"person_id": self.id, "id_number": self.id_number, "hukou_division": self.division}

    def died(self) -> BaseModel:
        death = {"death_id": uuid.uuid4(), "date_of_death": DOD, "source": "hospital"}
        return ev.PersonDied(**self.ref(), **death, status="reported")

    def case_suspended(self) -> BaseModel:
        return ev.CaseSuspended(
            **self.ref(),
            case_id=self.case_id,
            program="dibao",
            status="suspended",
            monthly_amount=Decimal("780.00"),
            effective_date=DOD,
            reason="death",
        )

    def allowance_stopped(self) -> BaseModel:
        return ev.AllowanceStopped(
            **self.ref(),
            allowance_id=self.allowance_id,
            status="stopped",
            monthly_amount=Decimal("100.00"),
            effective_date=DOD,
            reason="death",
        )


def received(payload: BaseModel) -> ReceivedEvent:
    spec = ev.spec_of(payload)
    data = payload.model_dump(mode="json")
    source = f"/minzheng/{spec.service}"
    event = ReceivedEvent(str(uuid.uuid4()), spec.type, source, None, None, data, str(data["person_id"]))
    return typed(event, spec.topic)


async def seed(sessionmakers: dict[str, async_sessionmaker[AsyncSession]], persons: Sequence[Person]) -> None:
    """Each person as registered before dying: in the people copy, with a case, an allowance and a record."""
    started = date(2024, 1, 1)
    for service in ("assistance", "eldercare"):
        async with sessionmakers[service]() as s, s.begin():
            await s.execute(insert(people.people), [p.known() for p in persons])
    async with sessionmakers["assistance"]() as s, s.begin():
        await s.execute(
            insert(Case),
            [
                {
                    "id": p.case_id,
                    "person_id": p.id,
                    "id_number": p.id_number,
                    "program": "dibao",
                    "monthly_amount": Decimal("780.00"),
                    "status": "active",
                    "started_on": started,
                    "hukou_division": p.division,
                }
                for p in persons
            ],
        )
    async with sessionmakers["eldercare"]() as s, s.begin():
        await s.execute(
            insert(Allowance),
            [
                {
                    "id": p.allowance_id,
                    "person_id": p.id,
                    "id_number": p.id_number,
                    "status": "active",
                    "monthly_amount": Decimal("100.00"),
                    "explanation": "90-99",
                    "started_on": started,
                    "hukou_division": p.division,
                }
                for p in persons
            ],
        )
    async with sessionmakers["monitoring"]() as s, s.begin():
        await s.execute(
            insert(Record),
            [
                {
                    "id": uuid.uuid4(),
                    "person_id": p.id,
                    "id_number": p.id_number,
                    "hukou_division": p.division,
                    "status": "active",
                    "categories": ["dibao", "elder"],
                    "programs": {"dibao": "active", "old_age_allowance": "active"},
                }
                for p in persons
            ],
        )


Sessions = async_sessionmaker[AsyncSession]


class Meter:
    """Wall time and CPU-seconds of this process (the handler's Python) and of PostgreSQL over a run.

    CPU per event is hardly moved by other work on a shared machine, unlike events per second.
    """

    def __init__(self, pg: devstack.Postgres):
        self.postmaster = int((pg.data_dir / "postmaster.pid").read_text().split()[0])

    def read(self) -> tuple[float, float, float]:
        return time.perf_counter(), cpu_seconds(os.getpid()), tree_cpu_seconds(self.postmaster)


def per_thousand(before: tuple[float, float, float], after: tuple[float, float, float], n: int) -> str:
    """Events/s, then the CPU-seconds per 1,000 events of Python and of PostgreSQL."""
    wall, python, pg = (a - b for a, b in zip(after, before, strict=True))
    return f"{n / wall:>9,.0f}/s {python * 1000 / n:>9.3f} {pg * 1000 / n:>9.3f}"


async def at_once(sm: Sessions, consumer: Consumer, events: list[ReceivedEvent], chunk: int) -> None:
    assert consumer.batch_handler is not None
    for i in range(0, len(events), chunk):
        async with sm() as session, session.begin():
            await consumer.batch_handler(session, events[i : i + chunk])


async def one_per_call(sm: Sessions, consumer: Consumer, events: list[ReceivedEvent], chunk: int) -> None:
    """The per-event handler, many calls per transaction (as the runner's fallback)."""
    for i in range(0, len(events), chunk):
        async with sm() as session, session.begin():
            for event in events[i : i + chunk]:
                await consumer.handlers[event.type](session, event)


async def main(n: int, chunk: int, single: int, living: int, only: list[str]) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="minzheng-bench-handlers-"))
    pg = devstack.Postgres(tmp / "pgdata", port=devstack.free_port())
    pg.start()
    try:
        services = ("assistance", "eldercare", "monitoring")
        pg.create_databases(list(services))
        for s in services:
            await asyncio.to_thread(migrations.upgrade, MODULES[s].migrations, pg.url(s))
        sms = {s: make_sessionmaker(make_engine(pg.url(s), pool_size=2)) for s in services}
        persons = [Person(i) for i in range(n + single + living)]
        print(f"seeding {len(persons):,} persons with a dibao case, an old-age allowance and a monitoring record…")
        await seed(sms, persons)
        for s in services:  # statistics as a running service has them, and no autovacuum inside a measurement
            engine = sms[s].kw["bind"]
            async with engine.connect() as conn:
                await (await conn.execution_options(isolation_level="AUTOCOMMIT")).execute(text("VACUUM ANALYZE"))
        # Who dies: spread over the population (seeded, so runs compare), as deaths are in a district.
        dying = random.Random(1).sample(persons, n + single) if living else persons
        bulk, each = dying[:n], dying[n:]
        deaths = [received(p.died()) for p in bulk]
        trio = [received(e) for p in bulk for e in (p.died(), p.case_suspended(), p.allowance_stopped())]
        few_deaths = [received(p.died()) for p in each]
        few_trio = [received(e) for p in each for e in (p.died(), p.case_suspended(), p.allowance_stopped())]
        runs = [
            run
            for run in [
                ("assistance.registry-events", sms["assistance"], assistance.registry_events, deaths, few_deaths),
                ("eldercare.registry-events", sms["eldercare"], eldercare.registry_events, deaths, few_deaths),
                ("monitoring.service-events", sms["monitoring"], monitoring.service_events, trio, few_trio),
            ]
            if run[0].split(".")[0] in only
        ]
        among = f" among {len(persons):,} persons" if living else ""
        print(f"\nhandlers alone, {n:,} deaths{among} in chunks of {chunk} (PostgreSQL on this machine, no broker)")
        print("  (CPU-s per 1,000 events: py = the handler's Python, this process; pg = every PostgreSQL process)")
        head = f"{'events/s':>11} {'py':>9} {'pg':>9}"
        print(f"  {'consumer':<28} {'events':>8}  chunk at once: {head}   one per call: {head}")
        meter = Meter(pg)
        for name, sm, consumer, events, few in runs:
            t0 = meter.read()
            await at_once(sm, consumer, events, chunk)
            t1 = meter.read()
            await one_per_call(sm, consumer, few, chunk)
            t2 = meter.read()
            fast, slow = per_thousand(t0, t1, len(events)), per_thousand(t1, t2, len(few))
            print(f"  {name:<28} {len(events):>8,}  {'':>15}{fast}   {'':>14}{slow}")
        print(f"\nload average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        extra = f" --living {living}" if living else ""
        print(f"\nreproduce: .venv/bin/python bench/handlers.py --n {n} --chunk {chunk}{extra} --only {','.join(only)}")
    finally:
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="deaths applied in chunks")
    parser.add_argument("--chunk", type=int, default=500)
    parser.add_argument("--single", type=int, default=500, help="deaths applied one per handler call")
    parser.add_argument("--living", type=int, default=0, help="persons seeded who do not die (deaths among them)")
    parser.add_argument("--only", default="assistance,eldercare,monitoring", help="which consumers, comma-separated")
    args = parser.parse_args()
    asyncio.run(main(args.n, args.chunk, args.single, args.living, args.only.split(",")))
