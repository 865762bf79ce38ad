"""What a piece of work cost the PostgreSQL server: CPU-seconds of its processes (from /proc) and WAL bytes.

The machine's load stretches wall times; the CPU a backend spends on a statement
and the WAL it writes hardly move with it, so the benchmarks print both.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_TICK = os.sysconf("SC_CLK_TCK")

Snapshot = tuple[dict[int, float], int]


@dataclass(frozen=True)
class Cost:
    """What a run cost the server, which the machine's load does not distort (unlike the wall time)."""

    backend_cpu: float  # CPU-seconds of the session's own backend process
    server_cpu: float  # CPU-seconds of every server process (the backend, WAL writer, checkpointer, ...)
    wal_bytes: int


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (the server runs on this machine)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0  # ended meanwhile (an autovacuum worker)
    return (int(fields[11]) + int(fields[12])) / _TICK


async def snapshot(s: AsyncSession) -> Snapshot:
    """The CPU-seconds of every server process so far, and the WAL position."""
    pids = (await s.execute(text("SELECT pid FROM pg_stat_activity"))).scalars().all()
    lsn = (await s.execute(text("SELECT pg_current_wal_lsn() - '0/0'"))).scalar_one()
    return {pid: cpu_seconds(pid) for pid in pids}, int(lsn)


def between(backend: int, before: Snapshot, after: Snapshot) -> Cost:
    """The cost of the work between two snapshots; `backend` is the pid of the session that did it."""
    spent = {pid: after[0].get(pid, 0.0) - before[0].get(pid, 0.0) for pid in after[0]}
    return Cost(spent.get(backend, 0.0), sum(v for v in spent.values() if v > 0), after[1] - before[1])
