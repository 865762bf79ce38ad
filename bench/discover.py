"""Benchmark: allowance discovery over the people copy, against PostgreSQL.

1,000,000 residents (200,000 of them aged 80+, most in their eighties as in
the district, the rest 20-79) are inserted set-based into eldercare's people copy, as the registry
events would have left it, and analysed as autovacuum would. Then
`POST /v1/allowances/discover` is run as the endpoint runs it (the use case
and its commit): the first run enrols everyone eligible, 200,000 allowances and
their 200,000 events in the outbox (target under 5 s); a second run finds
nothing to do (target under 1 s).

Beside the wall time it prints what a run cost the server, which the machine's load distorts far less: the
CPU-seconds of the discovering backend and of every server process (from /proc), and the WAL written (bytes a row).

Run:  .venv/bin/python bench/discover.py [--residents 1000000 --aged 200000] [--tuned]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker  # noqa: E402

from bench import pgcost  # noqa: E402
from services import MODULES  # noqa: E402
from services.eldercare.allowances import discover  # noqa: E402
from shared import devstack, migrations  # noqa: E402
from shared.db import make_engine, make_sessionmaker  # noqa: E402

TOWNS = ["001", "002", "003", "004", "005", "101", "102", "103", "104"]

# Residents numbered :first..:last, aged :min_age plus `spread` years before :today (a day spread by the number).
_INSERT = """
    INSERT INTO people (person_id, id_number, name, sex, birth_date, hukou_division, in_district, status)
    SELECT gen_random_uuid(), '340207' || lpad(g::text, 12, '0'), '测试' || g,
           CASE WHEN g % 2 = 0 THEN 'F' ELSE 'M' END,
           CAST(:today AS date) - make_interval(years => CAST(:min_age AS int) + {spread}, days => 1 + g % 360),
           '340207' || (CAST(:towns AS text[]))[1 + g % 9] || lpad((1 + g % 7)::text, 3, '0'), true, 'alive'
    FROM generate_series(CAST(:first AS int), CAST(:last AS int)) g
"""
# Aged 80+ as a district has them: 85 in 100 in their eighties, 13 in their nineties, 2 aged 100 or more.
_AGED = text(
    _INSERT.format(spread="CASE WHEN g % 100 < 85 THEN g % 10 WHEN g % 100 < 98 THEN 10 + g % 10 ELSE 20 + g % 5 END")
)
_YOUNGER = text(_INSERT.format(spread="g % 60"))  # 20-79


async def fill(sm: async_sessionmaker[AsyncSession], residents: int, aged: int, today: date) -> float:
    start = time.perf_counter()
    async with sm() as s:
        common = {"today": today, "towns": TOWNS}
        await s.execute(_AGED, {**common, "first": 1, "last": aged, "min_age": 80})
        await s.execute(_YOUNGER, {**common, "first": aged + 1, "last": residents, "min_age": 20})
        await s.commit()
        await s.execute(text("ANALYZE people"))
        await s.commit()
    return time.perf_counter() - start


async def timed_discover(
    sm: async_sessionmaker[AsyncSession], as_of: date
) -> tuple[float, discover.Counts, pgcost.Cost]:
    async with sm() as s:
        backend = (await s.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        await s.commit()
        cpu_before, wal_before = await pgcost.snapshot(s)
        await s.commit()
        start = time.perf_counter()
        counts = await discover.discover(s, as_of)
        await s.commit()
        seconds = time.perf_counter() - start
        cpu_after, wal_after = await pgcost.snapshot(s)
        await s.commit()
    return seconds, counts, pgcost.between(backend, (cpu_before, wal_before), (cpu_after, wal_after))


def describe(cost: pgcost.Cost, rows: int) -> str:
    per_row = f", {cost.wal_bytes / rows:,.0f} B of WAL a row" if rows else ""
    return (
        f"            server CPU {cost.server_cpu:.2f} s (the discovering backend {cost.backend_cpu:.2f} s), "
        f"WAL {cost.wal_bytes / 1e6:,.1f} MB{per_row}"
    )


async def calibrate(sm: async_sessionmaker[AsyncSession]) -> None:
    """How busy the machine is: one CPU-bound query whose idle time is known (about 0.4 s on a modern core)."""
    start = time.perf_counter()
    async with sm() as s:
        await s.execute(text("SELECT count(*) FROM generate_series(1, 5000000)"))
    load = os.getloadavg()[0]
    print(
        f"machine check: count(*) over generate_series(1, 5000000) took {time.perf_counter() - start:.2f} s "
        f"(about 0.4 s on an idle core: the figures below scale with it); load average {load}"
    )


# What a production server would set for bulk writes (the development server keeps PostgreSQL's defaults:
# 4 MB of WAL buffers, a checkpoint every 1 GB of WAL).
TUNED = {"wal_buffers": "64MB", "shared_buffers": "512MB", "max_wal_size": "8GB", "checkpoint_timeout": "30min"}


async def tune(pg: devstack.Postgres) -> None:
    engine = make_engine(pg.url("postgres"), pool_size=1)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        for name, value in TUNED.items():
            await conn.execute(text(f"ALTER SYSTEM SET {name} = '{value}'"))
    await engine.dispose()
    await asyncio.to_thread(pg.stop)
    await asyncio.to_thread(pg.start)


async def main(residents: int, aged: int, tuned: bool) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="minzheng-bench-discover-"))
    pg = devstack.Postgres(tmp / "pgdata", port=devstack.free_port())
    pg.start()
    try:
        if tuned:
            await tune(pg)
            print("server settings: " + ", ".join(f"{k} = {v}" for k, v in TUNED.items()))
        else:
            print("server settings: PostgreSQL's defaults (as the development stack runs it)")
        pg.create_databases(["eldercare"])
        await asyncio.to_thread(migrations.upgrade, MODULES["eldercare"].migrations, pg.url("eldercare"))
        engine = make_engine(pg.url("eldercare"), pool_size=2)
        sm = make_sessionmaker(engine)
        today = date.today()
        await calibrate(sm)
        seconds = await fill(sm, residents, aged, today)
        print(f"people copy: {residents:,} residents ({aged:,} aged 80+) inserted set-based in {seconds:.2f} s")
        first, counts, cost = await timed_discover(sm, today)
        print(
            f"discover #1: enrolled {counts.enrolled:,}, raised {counts.raised:,}, stopped {counts.stopped:,} "
            f"in {first:.2f} s (target under 5 s)"
        )
        print(describe(cost, counts.enrolled))
        async with sm() as s:
            events = (await s.execute(text("SELECT count(*) FROM outbox"))).scalar_one()
            await s.execute(text("ANALYZE allowances, outbox"))
            await s.commit()
        print(f"            {events:,} eldercare.allowance.enrolled events in the outbox, by the same statement")
        second, counts, cost = await timed_discover(sm, today)
        print(
            f"discover #2: enrolled {counts.enrolled:,}, raised {counts.raised:,}, stopped {counts.stopped:,} "
            f"in {second:.2f} s (target under 1 s)"
        )
        print(describe(cost, counts.enrolled))
        await engine.dispose()
    finally:
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"command: .venv/bin/python bench/discover.py --residents {residents} --aged {aged}"
        + (" --tuned" if tuned else "")
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--aged", type=int, default=200_000)
    parser.add_argument("--tuned", action="store_true", help="WAL buffers and checkpoints as a production server")
    args = parser.parse_args()
    asyncio.run(main(args.residents, args.aged, args.tuned))
