"""Benchmark: a partner file of deaths and hukou changes through POST /v1/intake/batches.

One run on a private stack (embedded PostgreSQL, the tansu broker, the
registry as its own process, 3 partitions per topic):
- lines per second from the first byte sent to the answer (every line
  accepted, duplicate or rejected, and committed with its per-line report);
- lines per second to events on registry.events.v1 (every event the batch
  caused acknowledged by the broker: the outbox has nothing left unpublished);
- the registry process's resident memory before, and its peak during, the
  upload (VmHWM): the body is streamed and applied in chunks, never held whole;
- CPU-seconds of the registry process and of PostgreSQL (every backend) per
  1,000 lines: what the machine's other load does not distort.
`--py-spy FILE` records the registry's profile during the upload (py-spy, raw
collapsed stacks).

The file: N lines, 10% household-register roster lines (persons not yet
registered, three to a household key), 50% deaths (a third from a second
source that confirms an earlier line, some with a mismatched name that goes to
review), 39% hukou transfers; 1% of lines are broken and must be rejected
without stopping the rest.
Setup (N/2 persons bulk-loaded, the file written to disk) is not timed.

Run:  .venv/bin/python bench/intake.py [--n 500000]

Figures: see the README's benchmark table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import SECRET, BenchStack, cpu_seconds, start_stack  # noqa: E402
from shared import identity  # noqa: E402
from shared import settings as settings_mod  # noqa: E402
from shared.auth import issue_token  # noqa: E402

TOWNS = ["340207001", "340207002", "340207003", "340207004", "340207005", "340207101", "340207102", "340207103"]


def numbers(n: int) -> list[str]:
    out, i = [], 0
    start = date(1930, 1, 1)
    while len(out) < n:
        out.append(identity.make("340207", start + timedelta(days=i // 1000), i % 1000))
        i += 1
    return out


async def seed(stack: BenchStack, ids: list[str]) -> None:
    conn = await asyncpg.connect(stack.pg.url("registry").replace("postgresql+asyncpg", "postgresql"))
    records = []
    for i, n in enumerate(ids):
        p = identity.parse(n)
        town = TOWNS[i % len(TOWNS)]
        records.append((uuid.uuid4(), n, f"居民{i}", p.sex, p.birth_date, town, town, True, "alive", "unmarried"))
    await conn.copy_records_to_table(
        "persons",
        columns=[
            "id",
            "id_number",
            "name",
            "sex",
            "birth_date",
            "registered_division",
            "hukou_division",
            "in_district",
            "status",
            "marital_status",
        ],
        records=records,
    )
    await conn.close()


def write_file(path: Path, ids: list[str], newcomers: list[str], n: int) -> dict[str, int]:
    rng = random.Random(7)
    died = (date.today() - timedelta(days=3)).isoformat()
    moved = (date.today() - timedelta(days=10)).isoformat()
    kinds = {"person": 0, "death": 0, "death_second_source": 0, "name_mismatch": 0, "hukou": 0, "broken": 0}
    reported: list[int] = []
    with path.open("w") as f:
        for line in range(n):
            i = line % len(ids)
            roll = rng.random()
            if roll < 0.01:
                f.write('{"type": "death", "id_number": "not-a-number"}\n')
                kinds["broken"] += 1
            elif roll < 0.11 and kinds["person"] < len(newcomers):
                k = kinds["person"]
                town = TOWNS[(k // 3) % len(TOWNS)]
                line_of = {"type": "person", "id_number": newcomers[k], "name": f"新户{k}", "hukou_division": town}
                relation = ("head", "spouse", "child")[k % 3]
                f.write(json.dumps({**line_of, "household": f"HH-{k // 3}", "relation": relation}) + "\n")
                kinds["person"] += 1
            elif roll < 0.50:
                town = TOWNS[i % len(TOWNS)]
                dest = TOWNS[(i + 1 + line // len(ids)) % len(TOWNS)]
                frm = town if line < len(ids) else TOWNS[(i + line // len(ids)) % len(TOWNS)]
                f.write(
                    json.dumps(
                        {
                            "type": "hukou",
                            "id_number": ids[i],
                            "kind": "transfer",
                            "from_division": frm,
                            "to_division": dest,
                            "effective_date": moved,
                            "reference": f"PS-{line}",
                        }
                    )
                    + "\n"
                )
                kinds["hukou"] += 1
            elif roll < 0.67 and reported:
                j = reported[rng.randrange(len(reported))]
                f.write(
                    json.dumps(
                        {
                            "type": "death",
                            "id_number": ids[j],
                            "name": f"居民{j}",
                            "date_of_death": died,
                            "source": "funeral_home",
                            "reference": f"FH-{line}",
                        }
                    )
                    + "\n"
                )
                kinds["death_second_source"] += 1
            else:
                name = f"居民{i}" if roll > 0.68 else f"居民{i}X"
                kinds["name_mismatch" if roll <= 0.68 else "death"] += 1
                f.write(
                    json.dumps(
                        {
                            "type": "death",
                            "id_number": ids[i],
                            "name": name,
                            "date_of_death": died,
                            "source": "hospital",
                            "reference": f"H-{line}",
                        }
                    )
                    + "\n"
                )
                reported.append(i)
    return kinds


def rss_kb(pid: int, field: str) -> int:
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        if row.startswith(field + ":"):
            return int(row.split()[1])
    return 0


async def body(path: Path, chunk: int = 256 * 1024):  # noqa: ANN201 - an async byte stream
    with path.open("rb") as f:
        while data := f.read(chunk):
            yield data


def tree_cpu(pid: int) -> float:
    """CPU-seconds of a process and its descendants, living or exited (PostgreSQL's backends)."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    own: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
            own[int(entry.name)] = sum(int(x) for x in fields[11:15]) / tick
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += own.get(current, 0.0)
        todo += children.get(current, [])
    return total


async def database_writes(conn: asyncpg.Connection) -> dict[str, int]:
    """WAL written and rows inserted/updated (and HOT-updated) per table so far: where PostgreSQL's CPU goes."""
    out = {"wal_bytes": int(await conn.fetchval("SELECT wal_bytes FROM pg_stat_wal"))}
    await conn.execute("SELECT pg_stat_force_next_flush()")
    for name, ins, upd, hot in await conn.fetch(
        "SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables"
    ):
        out[f"{name}+"], out[f"{name}~"], out[f"{name}~hot"] = ins, upd, hot
    return out


async def print_statements(stack: BenchStack, n: int) -> None:
    """PostgreSQL's time by statement (pg_stat_statements): which writes and reads the lines cost."""
    conn = await asyncpg.connect(stack.pg.url("registry").replace("postgresql+asyncpg", "postgresql"))
    rows = await conn.fetch(
        "SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 110) AS q, calls, total_exec_time, rows"
        " FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 15"
    )
    total = sum(r["total_exec_time"] for r in await conn.fetch("SELECT total_exec_time FROM pg_stat_statements"))
    await conn.close()
    print(f"  PostgreSQL statements (all: {total / 1000:,.1f} s, {total * 1000 / n:,.0f} µs a line):")
    for r in rows:
        share = r["total_exec_time"] * 1000 / n
        print(f"    {share:6.1f} µs/line {r['calls']:>7,} calls {r['rows']:>9,} rows  {r['q']}")


def start_py_spy(pid: int, out: str) -> subprocess.Popen[bytes]:
    """py-spy recording the registry until sent SIGINT (raw collapsed stacks: grep-able, flamegraph-able)."""
    command = [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid), "--format", "raw"]
    return subprocess.Popen([*command, "--rate", "200", "-o", out], stdout=subprocess.DEVNULL)


async def main(n: int, py_spy: str | None, statements: bool) -> None:
    stack = await start_stack()
    try:
        if statements:  # pg_stat_statements needs a restart to load
            admin = await asyncpg.connect(stack.pg.url("postgres").replace("postgresql+asyncpg", "postgresql"))
            await admin.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
            await admin.close()
            stack.pg.stop()
            stack.pg.start()
        everyone = numbers(max(1000, n // 2) + n // 10 + 10)
        ids, newcomers = everyone[: max(1000, n // 2)], everyone[max(1000, n // 2) :]
        print(f"seeding {len(ids):,} persons and writing a {n:,}-line file…", flush=True)
        await seed(stack, ids)
        path = stack.tmp / "partner.ndjson"
        kinds = write_file(path, ids, newcomers, n)
        size_mb = path.stat().st_size / 1e6
        stack.start_services(only=("registry",))
        pid = stack.procs[0].pid
        tok = issue_token(
            settings_mod.Settings(service="registry", jwt_secret=SECRET),
            sub="bench",
            scopes="registry:read registry:write",
            division="340207",
        )
        rss_before = rss_kb(pid, "VmRSS")
        postmaster = int((stack.pg.data_dir / "postmaster.pid").read_text().split()[0])
        cpu_before, pg_before = cpu_seconds(pid), tree_cpu(postmaster)
        spy = None
        if py_spy:
            spy = start_py_spy(pid, py_spy)
            await asyncio.sleep(1)
        samples: list[int] = []
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.5):
                samples.append(rss_kb(pid, "VmRSS"))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        conn = await asyncpg.connect(stack.pg.url("registry").replace("postgresql+asyncpg", "postgresql"))
        outbox_before = await conn.fetchval("SELECT count(*) FROM outbox")
        writes_before = await database_writes(conn)
        if statements:
            await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            await conn.execute("SELECT pg_stat_statements_reset()")
        t0 = time.perf_counter()
        async with httpx.AsyncClient(
            base_url=stack.url("registry"), timeout=None, headers={"Authorization": f"Bearer {tok}"}
        ) as c:
            r = await c.post(
                "/v1/intake/batches",
                content=body(path),
                headers={"Content-Type": "application/x-ndjson"},
                params={"filename": path.name},
            )
        accepted_secs = time.perf_counter() - t0
        cpu_answer, pg_answer = cpu_seconds(pid) - cpu_before, tree_cpu(postmaster) - pg_before
        writes = {k: v - writes_before.get(k, 0) for k, v in (await database_writes(conn)).items()}
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait()
        r.raise_for_status()
        summary = r.json()
        while await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL"):  # noqa: ASYNC110 - polling another process's table
            await asyncio.sleep(0.2)
        published_secs = time.perf_counter() - t0
        events = await conn.fetchval("SELECT count(*) FROM outbox") - outbox_before
        reviews = await conn.fetchval("SELECT count(*) FROM review_items")
        await conn.close()
        stop.set()
        peak = rss_kb(pid, "VmHWM")
        cpu = cpu_seconds(pid) - cpu_before

        print()
        print(f"intake batch, N={n:,} lines ({size_mb:,.1f} MB NDJSON; registry as one process, 2 cores)")
        print(f"  file: {kinds}")
        counts = ", ".join(f"{k} {summary[k]:,}" for k in ("lines", "accepted", "duplicate", "rejected", "in_review"))
        print(f"  answer: {counts} (review items: {reviews:,})")
        print(f"  to the answer: {accepted_secs:,.1f} s, {n / accepted_secs:,.0f} lines/s")
        print(
            f"  to events on registry.events.v1 ({events:,} events acknowledged by the broker):"
            f" {published_secs:,.1f} s, {n / published_secs:,.0f} lines/s"
        )
        load = os.getloadavg()[0]
        print(f"  registry CPU: {cpu:,.1f} s, {n / cpu:,.0f} lines per CPU-second; load average {load:.1f}")
        print(
            f"  CPU to the answer per 1,000 lines: registry {cpu_answer * 1e3 / n:,.3f} s,"
            f" PostgreSQL {pg_answer * 1e3 / n:,.3f} s (together {(cpu_answer + pg_answer) * 1e6 / n:,.0f} µs a line;"
            f" 20,000 lines/s on 2 cores leaves 100 µs)"
        )
        sampled = f"min {min(samples or [0]) / 1024:,.0f} MB, max {max(samples or [0]) / 1024:,.0f} MB"
        rows = ", ".join(f"{k} {v / n:.2f}" for k, v in sorted(writes.items()) if k != "wal_bytes" and v)
        print(f"  PostgreSQL's work to the answer, a line: WAL {writes['wal_bytes'] / n:,.0f} bytes; {rows}")
        print(
            f"  registry RSS: {rss_before / 1024:,.0f} MB before, peak {peak / 1024:,.0f} MB"
            f" (sampled during the upload: {sampled})"
        )
        if statements:
            await print_statements(stack, n)
        print(f"\nreproduce: .venv/bin/python bench/intake.py --n {n}")
    finally:
        stack.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=500_000, help="lines in the partner file (default 500,000)")
    parser.add_argument("--py-spy", help="write the registry's py-spy profile (raw) of the upload to this file")
    parser.add_argument("--statements", action="store_true", help="PostgreSQL's time by statement (a restart)")
    args = parser.parse_args()
    asyncio.run(main(args.n, args.py_spy, args.statements))
