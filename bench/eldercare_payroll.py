"""Benchmark: the old-age allowance's monthly payroll, at the district's scale and at 100,000 allowances.

1. The district's 80+ residents of the 2022 report (19,685), inserted set-based
   into eldercare's people copy and enrolled by discovery, then one month's
   payroll built as `POST /v1/payrolls` builds it (the use case and its
   commit). Its total is printed beside the report's: about 10.8536 M yuan a
   year, 904,467 a month. The age split is assumed (POLICY.md gives no ages;
   15,768 aged 80-89, 3,819 aged 90-99, 98 aged 100+), chosen so the
   brackets' average is the derived 46 yuan: the match checks the payroll's
   arithmetic and brackets, not the split.
2. The allowances brought to 100,000 (the same split), the next month's
   payroll built (one INSERT ... SELECT of the lines writing their payment
   events in the outbox), then asked for again (the same payroll, nothing paid twice).

The machine is shared: beside the wall time each step prints the CPU seconds
of the PostgreSQL backend that ran it (from /proc) and of this process, which
the load does not inflate.

Run:  .venv/bin/python bench/eldercare_payroll.py [--allowances 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker  # noqa: E402

from bench.discover import TOWNS, calibrate  # noqa: E402
from services import MODULES  # noqa: E402
from services.eldercare.allowances import brackets as br  # noqa: E402
from services.eldercare.allowances import discover, payroll  # noqa: E402
from shared import devstack, migrations  # noqa: E402
from shared.db import make_engine, make_sessionmaker  # noqa: E402

DISTRICT_AGED = 19_685
SPLIT = ((80, 15_768), (90, 3_819), (100, 98))  # (youngest age of the bracket, people); sums to 19,685
REPORT_YEARLY = Decimal("10853600")  # about 10.8536 M yuan a year (POLICY.md)
AS_OF = date(2026, 10, 31)  # discovery's day; the first payroll is the month after
FIRST_MONTH = date(2026, 11, 1)

# Residents numbered :first..:last, aged :age (+ up to 9 years within the bracket) on :day, the day whose age
# sets the month's bracket; the birthday passed 1-300 days before it, so the age is exact.
_INSERT = text(
    """
    INSERT INTO people (person_id, id_number, name, sex, birth_date, hukou_division, in_district, status)
    SELECT gen_random_uuid(), '340207' || lpad(g::text, 12, '0'), '测试' || g,
           CASE WHEN g % 2 = 0 THEN 'F' ELSE 'M' END,
           CAST(:day AS date) - make_interval(years => CAST(:age AS int) + g % CAST(:spread AS int),
                                              days => 1 + g % 300),
           '340207' || (CAST(:towns AS text[]))[1 + g % 9] || lpad((1 + g % 7)::text, 3, '0'), true, 'alive'
    FROM generate_series(CAST(:first AS int), CAST(:last AS int)) g
    """
)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process on this machine (utime and stime of /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100


@dataclass(frozen=True)
class Timed:
    wall: float
    backend_cpu: float
    client_cpu: float
    totals: payroll.Totals
    created: bool


async def add_people(sm: async_sessionmaker[AsyncSession], first: int, scale: float) -> int:
    """The split's people, scaled, numbered from `first`; returns the next free number."""
    async with sm() as s:
        for age, count in SPLIT:
            n = round(count * scale)
            spread = 10 if age < 100 else 3
            params = {"day": AS_OF, "age": age, "spread": spread, "towns": TOWNS, "first": first, "last": first + n - 1}
            await s.execute(_INSERT, params)
            first += n
        await s.commit()
        await s.execute(text("ANALYZE people"))
        await s.commit()
    return first


async def enrol(sm: async_sessionmaker[AsyncSession]) -> int:
    async with sm() as s:
        counts = await discover.discover(s, AS_OF)
        await s.commit()
        await s.execute(text("ANALYZE allowances, outbox"))
        await s.commit()
    return counts.enrolled


async def build(sm: async_sessionmaker[AsyncSession], month: date) -> Timed:
    """The month's payroll as the endpoint builds it, with its totals, timed."""
    async with sm() as s:
        pid = (await s.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        backend, client, start = cpu_seconds(pid), time.process_time(), time.perf_counter()
        built = await payroll.build(s, month=month, actor="bench")
        totals = await payroll.totals(s, built.payroll.id)
        await s.commit()
        return Timed(
            time.perf_counter() - start,
            cpu_seconds(pid) - backend,
            time.process_time() - client,
            totals,
            built.created,
        )


def report(label: str, t: Timed) -> None:
    print(
        f"{label}: {t.totals.paid_lines:,} lines paid, {t.totals.total:,} yuan "
        f"({'built' if t.created else 'the same payroll again'}) in {t.wall:.2f} s wall, "
        f"{t.backend_cpu:.2f} CPU-s in PostgreSQL, {t.client_cpu:.2f} CPU-s here"
    )


async def main(allowances: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="minzheng-bench-eldercare-payroll-"))
    pg = devstack.Postgres(tmp / "pgdata", port=devstack.free_port())
    pg.start()
    try:
        pg.create_databases(["eldercare"])
        await asyncio.to_thread(migrations.upgrade, MODULES["eldercare"].migrations, pg.url("eldercare"))
        engine = make_engine(pg.url("eldercare"), pool_size=2)
        sm = make_sessionmaker(engine)
        await calibrate(sm)

        following = await add_people(sm, 1, 1.0)
        print(f"district: {await enrol(sm):,} allowances found by discovery on {AS_OF}")
        district = await build(sm, FIRST_MONTH)
        report(f"payroll {FIRST_MONTH:%Y-%m}", district)
        monthly = (REPORT_YEARLY / 12).quantize(Decimal("1"))
        gap = (district.totals.total - monthly) / monthly * 100
        print(
            f"    the report: about {REPORT_YEARLY:,} yuan a year, {monthly:,} a month; "
            f"this payroll {district.totals.total:,} ({gap:+.2f} %), {district.totals.total * 12:,} a year"
        )
        brackets = await _brackets(sm)
        print(f"    brackets: {brackets}")

        await add_people(sm, following, (allowances - DISTRICT_AGED) / DISTRICT_AGED)
        print(f"scale: {await enrol(sm):,} more allowances found by discovery")
        month = date(2026, 12, 1)
        report(f"payroll {month:%Y-%m}", await build(sm, month))
        report(f"payroll {month:%Y-%m} again", await build(sm, month))
        await engine.dispose()
    finally:
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"command: .venv/bin/python bench/eldercare_payroll.py --allowances {allowances}")


async def _brackets(sm: async_sessionmaker[AsyncSession]) -> str:
    async with sm() as s:
        found = await br.in_force(s, FIRST_MONTH)
    return ", ".join(f"{b.min_age}+ {b.monthly_amount}" for b in found)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--allowances", type=int, default=100_000)
    asyncio.run(main(parser.parse_args().allowances))
