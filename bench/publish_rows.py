"""Benchmark: what `shared.events.publish_many` costs an event, in Python and in PostgreSQL.

A private PostgreSQL (assistance's schema) takes `--rounds` transactions of
`--n` typical payloads each (a death's: cases suspended, allowances stopped,
alerts raised, households changed). Reported per event: this process's CPU summed over the rounds
(building the rows, binding them, the driver), the backend's CPU (from /proc)
and the wall time (median and best round). CPU is moved far less than
wall time by other work on the machine.

Run:  .venv/bin/python bench/publish_rows.py [--n 1000] [--rounds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402

from bench.common import cpu_seconds  # noqa: E402
from services import MODULES  # noqa: E402
from shared import devstack, migrations  # noqa: E402
from shared import event_types as ev  # noqa: E402
from shared.db import make_engine, make_sessionmaker  # noqa: E402
from shared.events import publish_many  # noqa: E402


def payloads(n: int) -> list[ev.Payload]:
    """`n` payloads of the types a death makes, in turn."""
    out: list[ev.Payload] = []
    for i in range(n):
        ref = {
            "person_id": uuid.uuid4(),
            "id_number": f"34020719400501{i % 10000:04d}",
            "hukou_division": "340207003001",
        }
        match i % 4:
            case 0:
                out.append(
                    ev.CaseSuspended(
                        **ref,
                        case_id=uuid.uuid4(),
                        status="suspended",
                        reason="death",
                        program="dibao",
                        monthly_amount=Decimal("780.00"),
                        effective_date=date(2026, 11, 20),
                    )
                )
            case 1:
                out.append(
                    ev.AllowanceStopped(
                        **ref,
                        allowance_id=uuid.uuid4(),
                        status="stopped",
                        monthly_amount=Decimal("100.00"),
                        effective_date=date(2026, 11, 20),
                        reason="death",
                    )
                )
            case 2:
                out.append(
                    ev.AlertRaised(
                        alert_id=uuid.uuid4(),
                        kind="beneficiary_died",
                        status="open",
                        person_id=ref["person_id"],
                        hukou_division=ref["hukou_division"],
                        summary="died while receiving benefits",
                        benefits=["dibao"],
                    )
                )
            case _:
                out.append(
                    ev.PersonDied(
                        **ref,
                        death_id=uuid.uuid4(),
                        date_of_death=date(2026, 11, 20),
                        source="hospital",
                        status="reported",
                    )
                )
    return out


async def run(n: int, rounds: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="minzheng-bench-publish-"))
    pg = devstack.Postgres(tmp / "pgdata", port=devstack.free_port())
    pg.start()
    try:
        pg.create_databases(("assistance",))
        await asyncio.to_thread(migrations.upgrade, MODULES["assistance"].migrations, pg.url("assistance"))
        engine = make_engine(pg.url("assistance"))
        sessionmaker = make_sessionmaker(engine)
        py, db, wall = [], [], []
        async with sessionmaker() as session:
            backend = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            await session.commit()
            for r in range(rounds + 2):  # two rounds of warm-up (statement caches, pools)
                batch = payloads(n)
                await session.execute(text("TRUNCATE outbox"))
                await session.commit()
                t0, c0, b0 = time.perf_counter(), time.process_time(), cpu_seconds(backend)
                await publish_many(session, batch)
                t1, c1, b1 = time.perf_counter(), time.process_time(), cpu_seconds(backend)
                await session.commit()
                if r >= 2:
                    wall.append(t1 - t0)
                    py.append(c1 - c0)
                    db.append(b1 - b0)
        await engine.dispose()
        events = n * rounds
        print(f"{events} events in {rounds} statements of {n}; CPU summed over the rounds (clock ticks of 10 ms)")
        print(f"   python CPU: {sum(py) / events * 1e6:6.1f} us/event (building, binding, the driver)")
        print(f" postgres CPU: {sum(db) / events * 1e6:6.1f} us/event (the backend)")
        print(
            f"         wall: median {statistics.median(wall) / n * 1e6:6.1f} us/event, best {min(wall) / n * 1e6:6.1f}"
        )
    finally:
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)  # the database's files (~100 MB)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(run(args.n, args.rounds))


if __name__ == "__main__":
    main()
