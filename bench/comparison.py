"""Benchmark: a department's list compared with the monitoring records (比对), end to end on PostgreSQL.

Seeds `--records` records (every fifth on dibao), then streams a salary list
of `--lines` lines (CSV, 64 KiB chunks, as an HTTP body arrives) through the
comparison run: identity numbers checked, matched a batch at a time, findings
and alerts written, progress committed per batch. Half the lines name a
record, a tenth of those are salaries above the dibao standard.

Run:  .venv/bin/python bench/comparison.py [--records 200000] [--lines 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
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
        await s.execute(text("ANALYZE records"))


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
        sm = make_sessionmaker(make_engine(pg.url("monitoring"), pool_size=2))
        print(f"seeding {records:,} records…")
        await seed(sm, records)
        body = salary_list(records, lines)
        async with sm() as s, s.begin():
            c = Comparison(
                id=uuid.uuid4(), source="salary", status="running", created_by="bench", hukou_division="340207"
            )
            s.add(c)
        run = ComparisonRun(sm, c.id, "salary", "340207")
        t0 = time.perf_counter()
        await run.run(chunks(body), "csv")
        elapsed = time.perf_counter() - t0
        k = run.counts
        size = len(body) / 2**20
        print(f"\n{lines:,} lines ({size:.1f} MiB) against {records:,} records: {elapsed:.2f} s to the result,")
        print(f"  {lines / elapsed:,.0f} lines/s; matched {k.matched:,}, findings {k.findings:,}, alerts {k.alerts:,}")
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
