"""Benchmark: a standing caseload through assistance's POST /v1/applications/batch.

One run on a private stack (embedded PostgreSQL, the tansu broker, assistance as its own process; the registry is
not started: every member is already in assistance's copy of the person index, as after the district's roster):
- N lines in files of 200 (the district loader's BATCH_LINES), sent one after the other: 20% dibao households
  of three (the worked example of the tests), 20% tekun (dispersed, care levels varied), 20% orphans, 20%
  disability living and 20% disability care subsidies (a line in 50 a temporary grant instead), each submitted
  and reviewed 20 days ago and confirmed 2 days ago (after the 7-day notice);
- CPU-seconds of assistance and of PostgreSQL (every backend) per line, and the wall time;
- with --statements, the statements PostgreSQL ran per line (pg_stat_statements), the costliest listed.
`--py-spy FILE` records assistance's profile during the upload (raw collapsed stacks).
Setup (the persons written to the copy) is not timed.

Run:  .venv/bin/python bench/application_batch.py [--n 1000] [--statements] [--py-spy out.txt]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import SECRET, BenchStack, cpu_seconds, dsn, start_stack, tree_cpu_seconds  # noqa: E402
from shared import identity  # noqa: E402
from shared import settings as settings_mod  # noqa: E402
from shared.auth import issue_token  # noqa: E402

TOWN = "340207003001"
FILE_LINES = 200


def person(born: date, seq: int) -> dict[str, Any]:
    number = identity.make("340207", born, seq % 1000)
    return {"person_id": uuid.uuid4(), "id_number": number, "birth_date": born, "name": f"P{seq}"}


def member(p: dict[str, Any], relation: str, **extra: Any) -> dict[str, Any]:
    return {"id_number": p["id_number"], "relation": relation, **extra}


def application(i: int, persons: list[dict[str, Any]]) -> dict[str, Any]:
    """The i-th line's application, over persons it appends to `persons`."""
    kind = ("dibao", "tekun", "orphan", "disability_living", "disability_care")[i % 5]
    base = date(1960, 1, 1) + timedelta(days=i)
    if i % 50 == 49:  # a temporary grant now and then: taken alone by the single path between chunks
        p = person(base, i)
        persons.append(p)
        grant = {"type": "emergency", "need": "900"}
        return {"program": "temporary", "members": [member(p, "self")], "temporary": grant}
    if kind == "tekun":
        elder = person(date(1940, 1, 1) + timedelta(days=i), i)
        persons.append(elder)
        care = {"supporter": "none", "placement": "dispersed", "adl_items_failed": i % 7}
        return {"program": "tekun", "members": [member(elder, "self")], "tekun": care}
    if kind == "dibao":
        adults = [person(base, 2 * i), person(base + timedelta(days=400), 2 * i + 1)]
        child = person(date(2015, 1, 1) + timedelta(days=i % 900), i)
        persons += [*adults, child]
        return {
            "program": "dibao",
            "members": [
                member(
                    adults[0], "self", employment_cost="300.00", incomes=[{"kind": "wage", "monthly_amount": "1200.00"}]
                ),
                member(adults[1], "spouse", seriously_ill=True),
                member(child, "child", incomes=[{"kind": "scholarship", "monthly_amount": "100.00"}]),
            ],
            "rigid_expenses": [{"member": 1, "kind": "medical", "monthly_amount": "150.00"}],
            "assets": {"financial": "3000.00", "homes": 1},
        }
    if kind == "orphan":
        child = person(date(2012, 1, 1) + timedelta(days=i % 1500), i)
        persons.append(child)
        return {
            "program": "orphan",
            "members": [member(child, "self")],
            "orphan": {"parents": ["dead", "dead"], "placement": "dispersed"},
        }
    p = person(base, i)
    persons.append(p)
    return {"program": kind, "members": [member(p, "self", disability={"grade": 1 + i % 2, "kind": "physical"})]}


async def seed(stack: BenchStack, persons: list[dict[str, Any]]) -> None:
    conn = await asyncpg.connect(dsn(stack.pg, "assistance"))
    await conn.copy_records_to_table(
        "people",
        records=[(p["person_id"], p["id_number"], p["name"], p["birth_date"], TOWN) for p in persons],
        columns=["person_id", "id_number", "name", "birth_date", "hukou_division"],
    )
    await conn.close()


def start_py_spy(pid: int, out: str) -> subprocess.Popen[bytes]:
    command = [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid), "--format", "raw"]
    return subprocess.Popen([*command, "--rate", "200", "-o", out], stdout=subprocess.DEVNULL)


async def print_statements(stack: BenchStack, n: int) -> None:
    conn = await asyncpg.connect(dsn(stack.pg, "assistance"))
    rows = await conn.fetch(
        "SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 110) AS q, calls, total_exec_time"
        " FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'assistance')"
        " ORDER BY calls DESC"
    )
    await conn.close()
    calls = sum(r["calls"] for r in rows)
    ms = sum(r["total_exec_time"] for r in rows)
    print(f"  statements: {calls / n:,.1f} a line ({ms * 1000 / n:,.0f} µs a line of execution); the most called:")
    for r in rows[:25]:
        print(f"    {r['calls'] / n:6.2f}/line {r['total_exec_time'] * 1000 / n:7.1f} µs/line  {r['q']}")


DIGESTED = {
    "applications": "SELECT applicant_id_number, program, status, eligible, monthly_total, submitted_on, review_due_on,"
    " due_on, survey_notes, notice_from, notice_until, confirmed_on, paid_from, hukou_division, assessment::text"
    " FROM applications ORDER BY 1, 2",
    "steps": "SELECT a.applicant_id_number, a.program, s.step, s.actor, s.note FROM application_steps s"
    " JOIN applications a ON a.id = s.application_id ORDER BY 1, 2, s.id",
    "cases": "SELECT id_number, program, monthly_amount, status, started_on, review_due_on, placement, care_level,"
    " origin FROM cases ORDER BY 1, 2",
    "amounts": "SELECT c.id_number, c.program, m.from_month, m.until_month, m.amount, m.reason FROM case_amounts m"
    " JOIN cases c ON c.id = m.case_id ORDER BY 1, 2, 3",
    "events": "SELECT type, count(*) FROM outbox GROUP BY 1 ORDER BY 1",
}


async def digest(stack: BenchStack) -> None:
    """A fingerprint of what the lines left (ids aside), to compare two versions of the path on the same file."""
    conn = await asyncpg.connect(dsn(stack.pg, "assistance"))
    for name, query in DIGESTED.items():
        rows = [tuple(r) for r in await conn.fetch(query)]
        print(f"  digest {name}: {len(rows):,} rows, {hashlib.sha256(repr(rows).encode()).hexdigest()[:16]}")
    await conn.close()


async def main(n: int, py_spy: str | None, statements: bool) -> None:
    stack = await start_stack()
    try:
        if statements:
            admin = await asyncpg.connect(dsn(stack.pg, "postgres"))
            await admin.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
            await admin.close()
            stack.pg.stop()
            stack.pg.start()
        persons: list[dict[str, Any]] = []
        today = date.today()
        steps = {
            "submitted_on": (today - timedelta(days=20)).isoformat(),
            "reviewed_on": (today - timedelta(days=20)).isoformat(),
            "confirmed_on": (today - timedelta(days=2)).isoformat(),
        }
        lines = [json.dumps({"application": application(i, persons), **steps}) for i in range(n)]
        await seed(stack, persons)
        stack.start_services(only=("assistance",))
        pid = stack.by_service["assistance"].pid
        postmaster = int((stack.pg.data_dir / "postmaster.pid").read_text().split()[0])
        tok = issue_token(
            settings_mod.Settings(service="assistance", jwt_secret=SECRET),
            sub="bench",
            scopes="assistance:read assistance:write",
            division="340207",
        )
        if statements:
            conn = await asyncpg.connect(dsn(stack.pg, "assistance"))
            await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            await conn.execute("SELECT pg_stat_statements_reset()")
            await conn.close()
        spy = start_py_spy(pid, py_spy) if py_spy else None
        if spy:
            await asyncio.sleep(1)
        load = os.getloadavg()[0]
        outcomes: Counter[str] = Counter()
        cpu0, pg0, t0 = cpu_seconds(pid), tree_cpu_seconds(postmaster), time.perf_counter()
        async with httpx.AsyncClient(
            base_url=stack.url("assistance"), timeout=None, headers={"Authorization": f"Bearer {tok}"}
        ) as c:
            for start in range(0, n, FILE_LINES):
                body = "".join(x + "\n" for x in lines[start : start + FILE_LINES]).encode()
                r = await c.post(
                    "/v1/applications/batch", content=body, headers={"Content-Type": "application/x-ndjson"}
                )
                r.raise_for_status()
                for answer in map(json.loads, r.text.splitlines()):
                    outcomes[f"{answer['status']} {answer.get('application_status', answer.get('detail', ''))}"] += 1
        wall = time.perf_counter() - t0
        cpu, pg = cpu_seconds(pid) - cpu0, tree_cpu_seconds(postmaster) - pg0
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait()
        print(f"applications batch, N={n:,} lines in files of {FILE_LINES} (load average {load:.1f} at the start)")
        print(f"  answers: {dict(outcomes)}")
        print(f"  wall: {wall:,.1f} s, {n / wall:,.0f} lines/s")
        print(f"  CPU a line: assistance {cpu * 1e3 / n:,.2f} ms, PostgreSQL {pg * 1e3 / n:,.2f} ms")
        if statements:
            await print_statements(stack, n)
        await digest(stack)
    finally:
        stack.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--py-spy", default=None)
    parser.add_argument("--statements", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.n, args.py_spy, args.statements))
