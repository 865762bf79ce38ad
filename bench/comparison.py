"""Benchmark: a department's list compared with the monitoring records (比对), end to end on PostgreSQL.

Seeds `--records` records (every fifth on dibao), then streams a salary list
of `--lines` lines (CSV, 64 KiB chunks, as an HTTP body arrives) through the
comparison run: the lines judged in the service against the scope's records
(read once), a batch at a time in a worker thread while the batch before has
its findings copied and its alerts written, progress committed per batch.
The process's collector is set as `minzheng serve` sets it (services/cli.py).
Half the lines name a record, a tenth of those are salaries above the dibao
standard. Besides the wall time it prints the CPU-seconds this process and
PostgreSQL (every backend) spent on the run, which other work on the machine
hardly moves.

Run:  .venv/bin/python bench/comparison.py [--records 200000] [--lines 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402

from services import MODULES  # noqa: E402
from services.monitoring.comparisons import ComparisonRun  # noqa: E402
from services.monitoring.models import Comparison  # noqa: E402
from shared import devstack, identity, migrations  # noqa: E402
from shared.db import make_engine, make_sessionmaker  # noqa: E402

DIVISION = "340207003001"


def cpu_seconds(pid: int) -> float:
    """CPU time of a process and its descendants (living ones read, exited ones in their parent's cutime)."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, list[int]] = {}
    own: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split() if entry.name.isdigit() else None
        except OSError:
            fields = None  # exited meanwhile
        if fields:
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
            own[int(entry.name)] = sum(int(f) for f in fields[11:15]) / tick
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += own.get(current, 0.0)
        todo += parents.get(current, [])
    return total


def number(i: int) -> str:
    return identity.make("340207", date(1930, 1, 1) + timedelta(days=i // 1000), i % 1000)


async def seed(sm, records: int) -> None:  # noqa: ANN001
    async with sm() as s, s.begin():
        await s.execute(
            text(
                "INSERT INTO records (id, person_id, id_number, hukou_division, status, categories, programs)"
                " SELECT gen_random_uuid(), gen_random_uuid(), n, :d, 'active',"
                " CASE WHEN o % 5 = 1 THEN '[\"dibao\"]'::jsonb ELSE '[]'::jsonb END,"
                " CASE WHEN o % 5 = 1 THEN '{\"dibao\": \"active\"}'::jsonb ELSE '{}'::jsonb END"
                " FROM unnest(CAST(:numbers AS text[])) WITH ORDINALITY AS u(n, o)"
            ),
            {"numbers": [number(i) for i in range(records)], "d": DIVISION},
        )


def salary_list(records: int, lines: int) -> bytes:
    rows = ["id_number,monthly_amount"]
    for i in range(lines):
        known = i % 2 == 0
        n = number((i // 2) % records) if known else number(records + i)
        rows.append(f"{n},{'2300.00' if i % 20 == 0 else '600.00'}")
    return ("\n".join(rows) + "\n").encode()


async def chunks(body: bytes, size: int = 65536) -> AsyncIterator[bytes]:
    for i in range(0, len(body), size):
        yield body[i : i + size]


async def main(records: int, lines: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="minzheng-bench-comparison-"))
    pg = devstack.Postgres(tmp / "pgdata", port=devstack.free_port())
    pg.start()
    try:
        pg.create_databases(["monitoring"])
        await asyncio.to_thread(migrations.upgrade, MODULES["monitoring"].migrations, pg.url("monitoring"))
        engine = make_engine(pg.url("monitoring"), pool_size=2)
        sm = make_sessionmaker(engine)
        print(f"seeding {records:,} records…")
        await seed(sm, records)
        async with engine.connect() as c:  # vacuumed like a long-lived table: autovacuum stays out of the run
            await (await c.execution_options(isolation_level="AUTOCOMMIT")).exec_driver_sql("VACUUM ANALYZE records")
        body = salary_list(records, lines)
        gc.freeze()  # as `minzheng serve` runs the service: what lives as long as the process left out of full passes
        gc.set_threshold(10_000, 10, 10)
        async with sm() as s, s.begin():
            c = Comparison(
                id=uuid.uuid4(), source="salary", status="running", created_by="bench", hukou_division="340207"
            )
            s.add(c)
        run = ComparisonRun(sm, c.id, "salary", "340207")
        postmaster = int((tmp / "pgdata" / "postmaster.pid").read_text().split()[0])
        pg0, me0, t0 = cpu_seconds(postmaster), time.process_time(), time.perf_counter()
        await run.run(chunks(body), "csv")
        elapsed = time.perf_counter() - t0
        me, pg_cpu = time.process_time() - me0, cpu_seconds(postmaster) - pg0
        k = run.counts
        size = len(body) / 2**20
        print(f"\n{lines:,} lines ({size:.1f} MiB) against {records:,} records: {elapsed:.2f} s to the result,")
        print(f"  {lines / elapsed:,.0f} lines/s; matched {k.matched:,}, findings {k.findings:,}, alerts {k.alerts:,}")
        print(f"  CPU: {me:.2f} s in the service code, {pg_cpu:.2f} s in PostgreSQL ({me + pg_cpu:.2f} s in all;")
        print(f"  {(me + pg_cpu) / lines * 1e6:.1f} µs per line); load average {os.getloadavg()[0]:.1f}")
        print(f"\nreproduce: .venv/bin/python bench/comparison.py --records {records} --lines {lines}")
    finally:
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--lines", type=int, default=1_000_000)
    args = parser.parse_args()
    asyncio.run(main(args.records, args.lines))
