"""Benchmark: monitoring's month figures consumer (services/monitoring/flows.py) alone, against PostgreSQL.

What a month's payroll costs the consumer that counts amounts paid, entries and exits: payment lines of dibao and of
the old-age allowance over the district's communities, and enrolments and endings, applied through the batch
handler in chunks as the runner gives them (the runner's own processed_events insert is not included).

Run:  .venv/bin/python bench/month_figures.py [--n 50000] [--chunk 500]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import sys
import tempfile
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pydantic import BaseModel  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bench.handlers import Meter, at_once, per_thousand, received  # noqa: E402
from services import MODULES  # noqa: E402
from services.monitoring.flows import flows  # noqa: E402
from shared import devstack, identity, migrations  # noqa: E402
from shared import event_types as ev  # noqa: E402
from shared.db import make_engine, make_sessionmaker  # noqa: E402

COMMUNITIES = [f"{town}{n:03d}" for town in ("340207001", "340207003", "340207101", "340207102") for n in (1, 2, 3)]


def payroll(n: int, rng: random.Random) -> list[BaseModel]:
    """A month of payment lines (four in five dibao, the rest the allowance), with one enrolment or ending in 25."""
    events: list[BaseModel] = []
    for i in range(n):
        ref = {"person_id": uuid.uuid4(), "id_number": identity.make("340207", date(1950, 1, 1), i % 1000),
               "hukou_division": rng.choice(COMMUNITIES)}  # fmt: skip
        if i % 5:
            events.append(ev.AssistancePaymentIssued(**ref, payment_id=uuid.uuid4(), program="dibao", month="2026-10",
                                                     amount=Decimal("780.00")))  # fmt: skip
        else:
            events.append(ev.EldercarePaymentIssued(**ref, payment_id=uuid.uuid4(), program="old_age_allowance",
                                                    month="2026-10", amount=Decimal("100.00")))  # fmt: skip
        if i % 25 == 0:
            model = ev.CaseEnrolled if i % 50 else ev.CaseTerminated
            on = date(2026, 10, 1 + i % 28)
            events.append(model(**ref, case_id=uuid.uuid4(), program="dibao", status="active",
                                monthly_amount=Decimal("780.00"), effective_date=on))  # fmt: skip
    return events


async def main(n: int, chunk: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="minzheng-bench-month-figures-"))
    pg = devstack.Postgres(tmp / "pgdata", port=devstack.free_port())
    pg.start()
    try:
        pg.create_databases(["monitoring"])
        await asyncio.to_thread(migrations.upgrade, MODULES["monitoring"].migrations, pg.url("monitoring"))
        sm = make_sessionmaker(make_engine(pg.url("monitoring"), pool_size=2))
        events = [received(p) for p in payroll(n, random.Random(1))]
        meter = Meter(pg)
        t0 = meter.read()
        await at_once(sm, flows, events, chunk)
        t1 = meter.read()
        async with sm() as s:
            rows, paid = (await s.execute(text("SELECT count(*), sum(payments) FROM program_months"))).one()
        assert paid == n, (paid, n)
        print(
            f"month figures consumer, {len(events):,} events ({n:,} payments) in chunks of {chunk}: {rows} total rows"
        )
        print(
            f"  {'events/s':>11} {'py':>9} {'pg':>9}   (CPU-s per 1,000 events: this process, every PostgreSQL process)"
        )
        print(f"  {per_thousand(t0, t1, len(events))}")
        print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    finally:
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000, help="payment lines")
    parser.add_argument("--chunk", type=int, default=500)
    args = parser.parse_args()
    asyncio.run(main(args.n, args.chunk))
