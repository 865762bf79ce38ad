"""PostgreSQL's own account of a benchmark's work: statements by total time, and the tables' non-HOT updates.

Turned on by `MINZHENG_BENCH_STATEMENTS=1` (bench/common.start_stack loads
pg_stat_statements into the bench's private server; CI's servers never load
it). A benchmark resets the counters when its timed part starts and prints
`report(...)` when it ends: each statement's calls, rows, time and WAL bytes
per unit of work, and for every table the updates that were not HOT (each of
those wrote every index of the table again).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import asyncpg

from bench.pgcost import cpu_seconds

ENABLED = os.environ.get("MINZHENG_BENCH_STATEMENTS", "") not in ("", "0")
LIBRARY_SETTING = "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'"
_TRACK = "ALTER SYSTEM SET pg_stat_statements.track = 'all'"  # statements inside functions (DO blocks) too


@dataclass(frozen=True)
class Statement:
    """One normalised statement's figures over the timed part, in one database."""

    database: str
    query: str
    calls: int
    rows: int
    total_ms: float
    wal_bytes: int
    shared_hit: int
    shared_dirtied: int


async def enable(dsns: list[str]) -> None:
    """Create the extension in each database (its library is already loaded by the server)."""
    for dsn in dsns:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        finally:
            await conn.close()


async def settings(dsn: str) -> None:
    """Ask the server to load the library on its next start (the caller restarts it)."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(LIBRARY_SETTING)
        await conn.execute(_TRACK)
    finally:
        await conn.close()


# The backends' CPU-seconds when the timed part began, by pid: (database, CPU-seconds).
_BACKENDS: dict[int, tuple[str, float]] = {}


async def _backends(conn: asyncpg.Connection) -> dict[int, tuple[str, float]]:
    """Each client backend's database and CPU-seconds so far (from /proc: the server runs on this machine)."""
    rows = await conn.fetch("SELECT pid, datname FROM pg_stat_activity WHERE backend_type = 'client backend'")
    return {r["pid"]: (r["datname"], cpu_seconds(r["pid"])) for r in rows}


async def reset(dsn: str) -> None:
    """Zero the statements' and the tables' counters: what follows is the timed part alone."""
    conn = await asyncpg.connect(dsn)
    try:
        _BACKENDS.clear()
        _BACKENDS.update(await _backends(conn))
        await conn.execute("SELECT pg_stat_statements_reset()")
        await conn.execute("SELECT pg_stat_reset_shared('wal')")
    finally:
        await conn.close()
    for db in _databases():
        c = await asyncpg.connect(_with_db(dsn, db))
        try:
            await c.execute("SELECT pg_stat_reset()")  # this database's table counters
        finally:
            await c.close()


def _databases() -> list[str]:
    from services import SERVICES

    return list(SERVICES)


def _with_db(dsn: str, db: str) -> str:
    return dsn.rsplit("/", 1)[0] + "/" + db


async def statements(dsn: str) -> list[Statement]:
    """Every statement run since the reset, most total time first."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT d.datname, s.query, s.calls, s.rows, s.total_exec_time, s.wal_bytes,"
            " s.shared_blks_hit, s.shared_blks_dirtied"
            " FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid"
            " ORDER BY s.total_exec_time DESC"
        )
    finally:
        await conn.close()
    return [Statement(r[0], " ".join(r[1].split()), r[2], r[3], r[4], int(r[5]), r[6], r[7]) for r in rows]


async def table_updates(dsn: str) -> list[tuple[str, str, int, int, int, int]]:
    """(database, table, inserts, updates, HOT updates, deletes) of every table written since the reset."""
    out = []
    for db in _databases():
        conn = await asyncpg.connect(_with_db(dsn, db))
        try:
            rows = await conn.fetch(
                "SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del FROM pg_stat_user_tables"
                " WHERE n_tup_ins + n_tup_upd + n_tup_del > 0 ORDER BY n_tup_upd - n_tup_hot_upd DESC"
            )
        finally:
            await conn.close()
        out += [(db, r[0], r[1], r[2], r[3], r[4]) for r in rows]
    return out


async def database_cpu(dsn: str) -> dict[str, float]:
    """CPU-seconds the client backends of each database spent since the reset (backends that ended meanwhile,
    and the server's own processes, are not counted: the pools keep theirs open)."""
    conn = await asyncpg.connect(dsn)
    try:
        now = await _backends(conn)
    finally:
        await conn.close()
    spent: dict[str, float] = {}
    for pid, (db, cpu) in now.items():
        spent[db] = spent.get(db, 0.0) + cpu - _BACKENDS.get(pid, (db, 0.0))[1]
    return spent


async def report(dsn: str, units: int, unit: str = "death", top: int = 40) -> str:
    """The statements and the tables' updates since the reset, per `unit` of work, as printable text."""
    cpu = await database_cpu(dsn)
    stmts = await statements(dsn)
    total = sum(s.total_ms for s in stmts) or 1.0
    lines = [f"  PostgreSQL backends' CPU by database, ms per {unit}:"]
    lines += [f"    {db:<11}{seconds / units * 1000:>8.3f}" for db, seconds in sorted(cpu.items()) if db]
    lines += [
        f"  PostgreSQL statements from the first publish until the queues drained (pg_stat_statements),"
        f" per {unit} of {units:,} (exec ms: time inside the server, lock waits included, not CPU):",
        f"    {'db':<11}{'exec ms':>10}{'share':>7}{'calls/' + unit:>12}{'rows/' + unit:>11}"
        f"{'WAL B/' + unit:>12}  statement",
    ]
    for s in stmts[:top]:
        lines.append(
            f"    {s.database:<11}{s.total_ms / units:>10.4f}{s.total_ms / total:>7.1%}{s.calls / units:>12.3f}"
            f"{s.rows / units:>11.2f}{s.wal_bytes / units:>12.0f}  {s.query[:150]}"
        )
    wal = sum(s.wal_bytes for s in stmts)
    lines.append(f"    all statements: {total / units:.4f} ms and {wal / units:,.0f} WAL bytes a {unit}")
    lines.append(f"  tables written (per {unit}): inserts, updates, of them HOT, non-HOT, deletes")
    for db, table, ins, upd, hot, dele in await table_updates(dsn):
        lines.append(
            f"    {db:<11}{table:<32}{ins / units:>8.2f}{upd / units:>8.2f}{hot / units:>8.2f}"
            f"{(upd - hot) / units:>8.2f}{dele / units:>8.2f}"
        )
    return "\n".join(lines)
