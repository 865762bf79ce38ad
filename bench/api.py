"""Benchmark: HTTP reads and writes of the four services at 32 connections.

One private stack (embedded PostgreSQL, the tansu broker, the four services
as separate processes); the load generator is wrk, a process of its own (2
threads, 32 connections, `--latency`). Each run lasts `--seconds`:
- reads: `GET /v1/persons?id_number=` (registry) and one list of each other
  service filtered by a person (`/v1/cases`, `/v1/allowances`, `/v1/records`),
  a different person on every request, among `--persons` seeded ones;
- writes: registering persons (`POST /v1/persons`), then enrolling those
  persons in a case (`POST /v1/cases`) and the old-age allowance
  (`POST /v1/allowances`), a new person on every request.

Every read is audited: after each read run the bench counts the audit rows
the run wrote and prints them beside the reads answered 2xx (the audit insert
commits before the answer is sent, so there must be at least one per answer).

Each line runs twice: closed loop, saturated (wrk), and open loop (`--rate`
requests a second for reads, `--write-rate` for writes, over the same 32
connections, from generator processes of their own, bench/openloop.py): each
request is due at a fixed time and its latency counts from then, so a stall
is not hidden by the generator waiting for it (coordinated omission). The
target "p99 under 50 ms at 500 requests/s" is an open-loop figure: a closed
loop of 32 connections at 700/s has a MEAN latency of 46 ms (Little's law).

Beside each line: the service process's CPU per request (from /proc, its idle
CPU subtracted: other work on the machine moves wall-clock figures, hardly
this) and the rate of `GET /healthz` on the same process at the same 32
connections, the ceiling the framework itself allows.

`--profile DIR` records each closed-loop run's service process with py-spy (raw collapsed stacks,
`DIR/<service>-<line>.txt`, 200 samples a second); `--reads-only` skips the writes.

Run:  .venv/bin/python bench/api.py [--seconds 10] [--persons 20000] [--rate 500] [--write-rate 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import SECRET, BenchStack, cpu_seconds, dsn, pct, start_stack, tree_cpu_seconds  # noqa: E402
from bench.death_flow import numbers, seed  # noqa: E402
from shared import identity  # noqa: E402
from shared import settings as settings_mod  # noqa: E402
from shared.auth import issue_token  # noqa: E402

CONNECTIONS = 32
PROFILE: Path | None = None  # --profile: where each closed-loop run's py-spy stacks go
OPEN_PROCESSES = 2  # open-loop generator processes, CONNECTIONS // OPEN_PROCESSES connections each
# wrk's requests: line i of the file (a path for GET, a body for POST), each thread its own stripe of lines.
LUA = """
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
function init(args)
  lines = {}
  for line in io.lines(args[1]) do lines[#lines + 1] = line end
  method, step, i = args[2], tonumber(args[3]), tid
end
function request()
  local line = lines[(i % #lines) + 1]
  i = i + step
  if method == "GET" then return wrk.format("GET", line) end
  return wrk.format("POST", nil, nil, line)
end
"""
READS = {
    "registry": "/v1/persons?id_number={}",
    "assistance": "/v1/cases?id_number={}",
    "eldercare": "/v1/allowances?id_number={}",
    "monitoring": "/v1/records?id_number={}",
}


@dataclass
class Load:
    """What one load generator run measured."""

    requests: int
    per_s: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx answers and socket errors
    late: int | None = None  # open loop: requests that left after their intended time (no free connection)
    dropped: int = 0  # open loop: requests never sent, the server too far behind (bench/openloop.py)


@dataclass
class Run:
    name: str
    requests: int
    per_s: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx answers and socket errors
    late: int | None = None  # open loop: requests that left after their intended time (no free connection)
    dropped: int = 0  # open loop: requests never sent, the server too far behind
    cpu_ms: float = 0.0  # the service process's CPU per request
    busy_cpu_ms: float = 0.0  # the same with its idle CPU (consumers, relay polling) subtracted
    pg_cpu_ms: float = 0.0  # PostgreSQL's CPU per request (every backend), its idle CPU subtracted
    healthz_per_s: float = 0.0  # GET /healthz on the same process, same connections: the framework's ceiling

    def line(self) -> str:
        return (
            f"  {self.name:<22} {self.per_s:>7,.0f} req/s  p50 {self.p50_ms:>6.1f} ms  p99 {self.p99_ms:>6.1f} ms"
            f"  service CPU {self.cpu_ms:.2f} ms a request ({self.busy_cpu_ms:.2f} less idle),"
            f" PostgreSQL {self.pg_cpu_ms:.2f} ms;"
            f" /healthz {self.healthz_per_s:,.0f} req/s"
            f"  ({self.requests:,} requests, {self.errors:,} not 2xx"
            + ("" if self.late is None else f", {self.late:,} sent late for want of a free connection")
            + (f", {self.dropped:,} never sent: the rate was not held" if self.dropped else "")
            + ")"
        )


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def wrk(stack: BenchStack, name: str, service: str, lines: list[str], method: str, token: str, seconds: int) -> Run:
    """One wrk run (closed loop, saturated) against a service; the requests are the given paths (GET) or bodies."""
    data = stack.tmp / f"{re.sub(r'[^a-z]+', '-', name.lower())}.txt"
    data.write_text("\n".join(lines) + "\n")
    script = stack.tmp / "requests.lua"
    script.write_text(LUA)
    path = "/" if method == "GET" else READS[service].split("?")[0]

    def load() -> Load:
        with profiled(stack, service, name) if PROFILE else nullcontext():
            out = _wrk(stack.url(service) + path, script, data, method, token, seconds)
        non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
        return Load(
            requests=int(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
            per_s=_per_s(out),
            p50_ms=_ms(re.search(r"\n\s+50%\s+(\S+)", out).group(1)),  # type: ignore[union-attr]
            p99_ms=_ms(re.search(r"\n\s+99%\s+(\S+)", out).group(1)),  # type: ignore[union-attr]
            errors=(int(non_2xx.group(1)) if non_2xx else 0) + (sum(map(int, socket.groups())) if socket else 0),
        )

    return measured(stack, name, service, token, seconds, load)


@contextmanager
def profiled(stack: BenchStack, service: str, name: str) -> Iterator[None]:
    """py-spy recording the service's process (raw collapsed stacks) while the block runs."""
    assert PROFILE is not None
    PROFILE.mkdir(parents=True, exist_ok=True)
    out = PROFILE / f"{service}-{re.sub(r'[^a-z]+', '-', name.lower()).strip('-')}.txt"
    spy = str(Path(sys.executable).parent / "py-spy")
    pid = str(stack.by_service[service].pid)
    proc = subprocess.Popen(
        [spy, "record", "--nonblocking", "--format", "raw", "-r", "200", "-p", pid, "-o", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        proc.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        proc.wait(30)


def open_loop(
    stack: BenchStack, name: str, service: str, lines: list[str], method: str, token: str, seconds: int, rate: float
) -> Run:
    """One open-loop run: `rate` requests a second over 32 connections, from OPEN_PROCESSES processes of their own.

    Latency counts from each request's intended send time (bench/openloop.py), so a stall is charged
    to every request due during it, not hidden by the generator waiting too (coordinated omission).
    """
    path = READS[service].split("?")[0]
    port = int(stack.url(service).rsplit(":", 1)[1])
    start_at = time.time() + 1.5  # every generator process started and connected by then

    def load() -> Load:
        jobs = [
            {
                "host": "127.0.0.1",
                "port": port,
                "path": path,
                "method": method,
                "lines": lines,
                "token": token,
                "rate": rate,
                "seconds": seconds,
                "start_at": start_at,
                "index": i,
                "processes": OPEN_PROCESSES,
                "connections": CONNECTIONS // OPEN_PROCESSES,
            }
            for i in range(OPEN_PROCESSES)
        ]
        generator = Path(__file__).with_name("openloop.py")
        procs = [
            subprocess.Popen([sys.executable, str(generator)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            for _ in jobs
        ]
        answers = [json.loads(p.communicate(json.dumps(job))[0]) for p, job in zip(procs, jobs, strict=True)]
        latencies = [ms for a in answers for ms in a["latencies_ms"]]
        elapsed = max(a["end"] for a in answers) - start_at
        return Load(
            requests=len(latencies),
            per_s=len(latencies) / elapsed,
            p50_ms=pct(latencies, 50),
            p99_ms=pct(latencies, 99),
            errors=sum(a["errors"] for a in answers),
            late=sum(a["late_starts"] for a in answers),
            dropped=sum(a["dropped"] for a in answers),
        )

    return measured(stack, f"{name} @{rate:g}/s", service, token, seconds, load)


def measured(stack: BenchStack, name: str, service: str, token: str, seconds: int, load: Callable[[], Load]) -> Run:
    """Run `load` and measure the service's and PostgreSQL's CPU per request around it.

    Both are shown again with the CPU each spends idle (consumers polling, the
    relay), measured just before, subtracted. /healthz is then driven by wrk
    at the same connections: the framework's ceiling on this process.
    """
    pid = stack.procs[list(READS).index(service)].pid
    postmaster = int((stack.pg.data_dir / "postmaster.pid").read_text().split()[0])
    pg_before = tree_cpu_seconds(postmaster)
    idle_per_s = _idle_cpu_per_s(pid)
    pg_idle_per_s = (tree_cpu_seconds(postmaster) - pg_before) / 2.0
    cpu_before, pg_before = cpu_seconds(pid), tree_cpu_seconds(postmaster)
    started = time.monotonic()
    result = load()
    wall = time.monotonic() - started
    cpu = cpu_seconds(pid) - cpu_before
    pg_cpu = tree_cpu_seconds(postmaster) - pg_before
    health = _wrk(f"{stack.url(service)}/healthz", None, None, "GET", token, min(seconds, 5))
    n = max(result.requests, 1)
    return Run(
        name=name,
        requests=result.requests,
        per_s=result.per_s,
        p50_ms=result.p50_ms,
        p99_ms=result.p99_ms,
        errors=result.errors,
        late=result.late,
        dropped=result.dropped,
        cpu_ms=cpu / n * 1000,
        busy_cpu_ms=max(cpu - idle_per_s * wall, 0.0) / n * 1000,
        pg_cpu_ms=max(pg_cpu - pg_idle_per_s * wall, 0.0) / n * 1000,
        healthz_per_s=_per_s(health),
    )


def warm_up(stack: BenchStack, service: str, paths: list[str], token: str) -> None:
    """A short unmeasured read run: the pool opens its connections and each prepares its statements."""
    data = stack.tmp / f"warm-{service}.txt"
    data.write_text("\n".join(paths) + "\n")
    script = stack.tmp / "requests.lua"
    script.write_text(LUA)
    _wrk(f"{stack.url(service)}/", script, data, "GET", token, 2)
    quiet(stack)


def quiet(stack: BenchStack, limit: float = 0.1, timeout: float = 90.0) -> None:
    """Wait until every service spends under `limit` of a core idle (its start-up work, consumers catching up,
    the daily milestones, done), so a measured run does not share the machine with another service's backlog."""
    deadline = time.monotonic() + timeout
    for proc in stack.procs:
        while _idle_cpu_per_s(proc.pid, 1.0) > limit and time.monotonic() < deadline:
            pass


def _wrk(url: str, script: Path | None, data: Path | None, method: str, token: str, seconds: int) -> str:
    command = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "10s", "--latency"]
    command += ["-H", f"Authorization: Bearer {token}", "-H", "Content-Type: application/json"]
    if script is not None:
        command += ["-s", str(script), url, "--", str(data), method, "2"]
    else:
        command.append(url)
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def _per_s(out: str) -> float:
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]


def _idle_cpu_per_s(pid: int, seconds: float = 2.0) -> float:
    """CPU-seconds a second the process spends with no request (its consumers and relay keep polling)."""
    before = cpu_seconds(pid)
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) / seconds


async def audit_rows(stack: BenchStack, service: str) -> int:
    conn = await asyncpg.connect(dsn(stack.pg, service))
    try:
        return await conn.fetchval("SELECT count(*) FROM audit_log")
    finally:
        await conn.close()


async def registered(stack: BenchStack, numbers_sent: list[str]) -> list[str]:
    conn = await asyncpg.connect(dsn(stack.pg, "registry"))
    try:
        rows = await conn.fetch("SELECT id_number FROM persons WHERE id_number = ANY($1::text[])", numbers_sent)
        return [r["id_number"] for r in rows]
    finally:
        await conn.close()


async def known_downstream(stack: BenchStack, numbers_sent: list[str], timeout: float = 120.0) -> None:
    """Wait until assistance and eldercare hold every registered person in their local copy.

    Enrolling someone they do not know yet asks the registry over HTTP, and their consumers catching
    up during the run would be counted as the enrolments' CPU.
    """
    deadline = time.monotonic() + timeout
    for service in ("assistance", "eldercare"):
        conn = await asyncpg.connect(dsn(stack.pg, service))
        try:
            sql = "SELECT count(*) FROM people WHERE id_number = ANY($1::text[])"
            while await conn.fetchval(sql, numbers_sent) < len(numbers_sent) and time.monotonic() < deadline:
                await asyncio.sleep(0.5)
        finally:
            await conn.close()
    await asyncio.sleep(2)  # and their consumers idle again


def new_elders(n: int) -> list[str]:
    """Identity numbers of persons born 1930-1939 (old enough for the allowance), none of them seeded."""
    start = date(1930, 1, 1)
    return [identity.make("340207", start + timedelta(days=i // 99), 900 + i % 99) for i in range(n)]


async def main(seconds: int, persons: int, rate: float, write_rate: float, reads_only: bool) -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")
    stack = await start_stack()
    try:
        ids = numbers(persons)
        print(f"seeding {persons:,} persons with a case, an allowance and a monitoring record…", flush=True)
        await seed(stack, ids)
        stack.start_services()
        scopes = "registry:read registry:write assistance:read assistance:write eldercare:read eldercare:write"
        token = issue_token(
            settings_mod.Settings(service="registry", jwt_secret=SECRET),
            sub="bench",
            scopes=f"{scopes} monitoring:read pii:read",
            division="340207",
        )
        print(f"load average at the start: {os.getloadavg()[0]:.1f}", flush=True)
        runs: list[Run] = []
        audits: list[str] = []

        def done(run: Run) -> None:
            runs.append(run)
            print(run.line(), flush=True)

        for service, template in READS.items():
            paths = [template.format(n) for n in ids]
            name = f"GET {template.split('?')[0]}"
            warm_up(stack, service, paths[: len(ids) // 10], token)
            before = await audit_rows(stack, service)
            done(wrk(stack, name, service, paths, "GET", token, seconds))
            quiet(stack)
            done(open_loop(stack, name, service, paths[len(paths) // 2 :], "GET", token, seconds, rate))
            answered = sum(r.requests - r.errors for r in runs[-2:])
            audited = await audit_rows(stack, service) - before
            audits.append(f"{service} {audited:,} audit rows for {answered:,} reads answered 2xx")

        if not reads_only:
            await writes(stack, token, seconds, write_rate, done)

        print()
        print(
            f"HTTP, {CONNECTIONS} connections, {seconds} s a line; 4 services as processes, 2 cores. Lines without a"
            f" rate: wrk (2 threads), closed loop, saturated; '@R/s': open loop at R requests/s from"
            f" {OPEN_PROCESSES} processes, latency from each request's intended send time"
        )
        for run in runs:
            print(run.line())
        print("  audited: " + "; ".join(audits))
        print(f"  load average at the end: {os.getloadavg()[0]:.1f} (other work shares the two cores)")
        print(
            f"\nreproduce: .venv/bin/python bench/api.py --seconds {seconds} --persons {persons}"
            f" --rate {rate:g} --write-rate {write_rate:g}" + (" --reads-only" if reads_only else "")
        )
    finally:
        stack.stop()


async def writes(stack: BenchStack, token: str, seconds: int, write_rate: float, done: Callable[[Run], None]) -> None:
    """Registering persons, then enrolling them in a case and the allowance: a closed and an open loop each."""
    # Every write run takes persons no other run took: the closed loop the first half, the open loop the second.
    elders = new_elders(max(20_000, 1000 * seconds))
    person_bodies = [
        json.dumps({"id_number": n, "name": "测试", "hukou_division": "340207001"}, ensure_ascii=False) for n in elders
    ]
    half = len(person_bodies) // 2
    done(wrk(stack, "POST /v1/persons", "registry", person_bodies[:half], "POST", token, seconds))
    quiet(stack)
    done(open_loop(stack, "POST /v1/persons", "registry", person_bodies[half:], "POST", token, seconds, write_rate))
    enrolled = sorted(await registered(stack, elders))
    await known_downstream(stack, enrolled)
    quiet(stack)
    half = len(enrolled) // 2
    cases = [json.dumps({"id_number": n, "program": "dibao", "monthly_amount": "780.00"}) for n in enrolled]
    done(wrk(stack, "POST /v1/cases", "assistance", cases[:half], "POST", token, seconds))
    quiet(stack)
    done(open_loop(stack, "POST /v1/cases", "assistance", cases[half:], "POST", token, seconds, write_rate))
    allowances = [json.dumps({"id_number": n}) for n in enrolled]
    done(wrk(stack, "POST /v1/allowances", "eldercare", allowances[:half], "POST", token, seconds))
    quiet(stack)
    done(open_loop(stack, "POST /v1/allowances", "eldercare", allowances[half:], "POST", token, seconds, write_rate))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10, help="length of each run (default 10)")
    parser.add_argument("--persons", type=int, default=20_000, help="persons seeded for the reads (default 20,000)")
    parser.add_argument("--rate", type=float, default=500, help="open-loop reads a second (default 500)")
    parser.add_argument("--write-rate", type=float, default=200, help="open-loop writes a second (default 200)")
    parser.add_argument("--reads-only", action="store_true", help="measure the reads only")
    parser.add_argument("--profile", type=Path, help="py-spy each closed-loop run's service into this folder")
    args = parser.parse_args()
    PROFILE = args.profile
    asyncio.run(main(args.seconds, args.persons, args.rate, args.write_rate, args.reads_only))
