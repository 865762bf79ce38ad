"""Benchmark: the monthly payroll, at the district's scale and at 100,000 cases, against PostgreSQL.

1. The district's caseload of the 2022 report, inserted set-based as migrated
   cases at the amounts on file (each program's average monthly payment
   derived from the report, spread around it): 8,204 dibao people (in 5,647
   households, which the registry keeps), 1,781 tekun, 60 orphans, 4,020 +
   8,337 disability subsidies. One month's payroll is built and its totals
   are printed beside the report's monthly averages (Jan-Oct totals / 10).
2. The cases are brought to 100,000 and a month's payroll is built (target
   under 3 s), then asked for again (target under 0.5 s): the use case and
   its commit, as `POST /v1/payrolls` runs them, with the totals it answers.

Run:  .venv/bin/python bench/payroll.py [--cases 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker  # noqa: E402

from bench import pgcost  # noqa: E402
from services import MODULES  # noqa: E402
from services.assistance import payroll  # noqa: E402
from shared import devstack, migrations  # noqa: E402
from shared.db import make_engine, make_sessionmaker  # noqa: E402

TOWNS = ["001", "002", "003", "004", "005", "101", "102", "103", "104"]
# program, people, the report's monthly average paid (yuan), the average per person on file
DISTRICT = [
    ("dibao", 8204, Decimal("6518200.00"), Decimal("794.54")),  # (66.641 - 1.459) M / 10; one-off subsidies apart
    ("tekun", 1781, Decimal("1896800.00"), Decimal("1065.02")),  # 18.968 M / 10
    ("orphan", 60, Decimal("70665.00"), Decimal("1177.75")),  # 706,650 / 10
    ("disability_living", 4020, None, Decimal("80.00")),
    ("disability_care", 8337, None, Decimal("80.00")),
]
DISABILITY_MONTHLY = Decimal("988796.00")  # 9.88796 M / 10, both subsidies together

# Persons and their migrated cases, numbered from :first, `amount` spread +-50 yuan around the average
# (in steps that cancel over every 11 cases), spread over the towns' communities.
_INSERT = text(
    """
    WITH n AS (SELECT g AS i, gen_random_uuid() AS pid FROM generate_series(CAST(:first AS int),
                                                                            CAST(:last AS int)) g),
    p AS (
        INSERT INTO people (person_id, id_number, name, hukou_division, in_district, status)
        SELECT pid, '340207' || lpad(i::text, 12, '0'), '测试' || i,
               '340207' || (CAST(:towns AS text[]))[1 + i % 9] || lpad((1 + i % 7)::text, 3, '0'), true, 'alive'
        FROM n
        RETURNING person_id, id_number, hukou_division
    )
    INSERT INTO cases (id, person_id, id_number, program, monthly_amount, status, started_on, origin,
                       hukou_division, transfer_pending)
    SELECT gen_random_uuid(), p.person_id, p.id_number, CAST(:program AS text),
           GREATEST(CAST(:amount AS numeric) + CASE WHEN CAST(:amount AS numeric) > 100
                                                    THEN ((right(p.id_number, 6)::int % 11) - 5) * 10 ELSE 0 END, 0),
           'active', DATE '2022-01-01', 'migrated', p.hukou_division, false
    FROM p
    """
)


async def insert_cases(
    sm: async_sessionmaker[AsyncSession], first: int, count: int, program: str, amount: Decimal
) -> int:
    async with sm() as s:
        await s.execute(
            _INSERT, {"first": first, "last": first + count - 1, "towns": TOWNS, "program": program, "amount": amount}
        )
        await s.commit()
    return first + count


# Each dibao and tekun case's amounts as the rules recomputed them: on file from its start, then after the
# standards of July 2024 and July 2025 (the latest is the amount the case pays now), as case_amounts holds them.
_HISTORY = text(
    """
    INSERT INTO case_amounts (id, case_id, from_month, until_month, amount, previous_amount, reason, explanation)
    SELECT gen_random_uuid(), c.id, h.from_month, h.until_month, c.monthly_amount - h.less, NULL, h.reason,
           '{}'::jsonb
    FROM cases c
    CROSS JOIN (VALUES (DATE '2022-01-01', DATE '2024-07-01', 60, 'the amount on file before its first change'),
                       (DATE '2024-07-01', DATE '2025-07-01', 25, 'standard dibao.standard in force from 2024-07-01'),
                       (DATE '2025-07-01', NULL, 0, 'standard dibao.standard in force from 2025-07-01'))
               AS h(from_month, until_month, less, reason)
    WHERE c.program IN ('dibao', 'tekun') AND c.monthly_amount > 60
    """
)


async def add_amount_history(sm: async_sessionmaker[AsyncSession]) -> int:
    """Three recorded amounts per dibao and tekun case (the payroll reads the one in force that month)."""
    async with sm() as s:
        added = (await s.execute(_HISTORY)).rowcount
        await s.commit()
    return added


async def analyze(sm: async_sessionmaker[AsyncSession]) -> None:
    """Statistics of the tables just filled, as autovacuum keeps them in a running database."""
    async with sm() as s:
        await s.execute(text("ANALYZE cases, people, case_amounts"))
        await s.commit()


async def timed_build(
    sm: async_sessionmaker[AsyncSession], month: date
) -> tuple[float, payroll.Built, payroll.Totals, pgcost.Cost]:
    """The build and its commit as `POST /v1/payrolls` runs them, with the totals it answers, and its cost."""
    async with sm() as s:
        backend = (await s.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        before = await pgcost.snapshot(s)
        await s.commit()
        start = time.perf_counter()
        built = await payroll.build(s, month=month, actor="bench")
        await s.commit()
        totals = await payroll.totals(s, built.payroll.id)
        seconds = time.perf_counter() - start
        after = await pgcost.snapshot(s)
        await s.commit()
    return seconds, built, totals, pgcost.between(backend, before, after)


def describe(cost: pgcost.Cost, lines: int) -> str:
    """PostgreSQL's CPU and WAL for a build: moved far less than the wall time by the machine's load."""
    per_line = (
        f"; {cost.server_cpu / lines * 1e6:,.1f} us of CPU and {cost.wal_bytes / lines:,.0f} B of WAL a line"
        if lines
        else ""
    )
    return (
        f"      PostgreSQL CPU {cost.server_cpu:.2f} s (the building backend {cost.backend_cpu:.2f} s), "
        f"WAL {cost.wal_bytes / 1e6:,.1f} MB{per_line}"
    )


async def main(cases: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="minzheng-bench-payroll-"))
    pg = devstack.Postgres(tmp / "pgdata", port=devstack.free_port())
    pg.start()
    try:
        pg.create_databases(["assistance"])
        await asyncio.to_thread(migrations.upgrade, MODULES["assistance"].migrations, pg.url("assistance"))
        engine = make_engine(pg.url("assistance"), pool_size=2)
        sm = make_sessionmaker(engine)
        await calibrate(sm)
        await district(sm)
        await scale(sm, cases)
        await engine.dispose()
    finally:
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print("command: .venv/bin/python bench/payroll.py" + (f" --cases {cases}" if cases != 100_000 else ""))


async def calibrate(sm: async_sessionmaker[AsyncSession]) -> None:
    """How busy the machine is: one CPU-bound query whose idle time is known (about 0.4 s on a modern core)."""
    start = time.perf_counter()
    async with sm() as s:
        await s.execute(text("SELECT count(*) FROM generate_series(1, 5000000)"))
    print(
        f"machine check: count(*) over generate_series(1, 5000000) took {time.perf_counter() - start:.2f} s "
        f"(about 0.4 s on an idle core: the figures below scale with it); load average {_load()}"
    )


def _load() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "unknown"


async def district(sm: async_sessionmaker[AsyncSession]) -> None:
    start = time.perf_counter()
    nxt = 1
    for program, people, _report, average in DISTRICT:
        nxt = await insert_cases(sm, nxt, people, program, average)
    inserted = time.perf_counter() - start
    await analyze(sm)
    seconds, built, t, _cost = await timed_build(sm, date(2026, 11, 1))
    print(
        f"district data set: {nxt - 1:,} cases inserted set-based in {inserted:.2f} s "
        f"(5,647 dibao households are the registry's; 8,204 dibao people)"
    )
    print(f"payroll 2026-11: {t.paid_lines:,} lines paid, total {t.total:,} yuan, built in {seconds:.2f} s")
    print(f"{'program':<20}{'people':>8}{'payroll':>16}{'report / month':>18}")
    for program, people, report, _average in DISTRICT:
        shown = f"{report:,}" if report is not None else "(together below)"
        print(f"{program:<20}{people:>8,}{t.by_program.get(program, Decimal(0)):>16,}{shown:>18}")
    both = t.by_program.get("disability_living", Decimal(0)) + t.by_program.get("disability_care", Decimal(0))
    print(f"{'disability, both':<20}{4020 + 8337:>8,}{both:>16,}{DISABILITY_MONTHLY:>18,}")


async def scale(sm: async_sessionmaker[AsyncSession], cases: int) -> None:
    async with sm() as s:
        have = (await s.execute(text("SELECT count(*), max(right(id_number, 12)::int) FROM cases"))).one()
    if cases > have[0]:
        await insert_cases(sm, have[1] + 1, cases - have[0], "dibao", Decimal("794.54"))
    history = await add_amount_history(sm)
    await analyze(sm)
    first, built, t, first_cost = await timed_build(sm, date(2026, 12, 1))
    again, built_again, t_again, again_cost = await timed_build(sm, date(2026, 12, 1))
    assert built.created and not built_again.created and built_again.payroll.id == built.payroll.id
    assert t_again.total == t.total and t_again.paid_lines == t.paid_lines
    async with sm() as s:
        paid = text("SELECT count(*) FROM outbox WHERE type = 'assistance.payment.issued'")
        events = (await s.execute(paid)).scalar()
    print(f"payroll 2026-12 for {cases:,} cases: {t.paid_lines:,} lines, total {t.total:,} yuan")
    print(f"  amounts recorded by month (case_amounts, read for the month's amount): {history:,} rows")
    print(f"  first call (lines, back-pay, payment events, commit, totals): {first:.2f} s  (target < 3 s)")
    print(describe(first_cost, t.paid_lines + t.withheld_lines))
    print(f"  the same month again (the same payroll, nothing paid twice):  {again:.3f} s  (target < 0.5 s)")
    print(describe(again_cost, 0))
    print(f"  assistance.payment.issued in the outbox (both months): {events:,}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    asyncio.run(main(parser.parse_args().cases))
