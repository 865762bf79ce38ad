"""Open-loop HTTP load: requests sent at a fixed rate, latency measured from when each was meant to leave.

A closed loop (wrk) sends the next request only when an answer comes back:
when the server stalls, the generator stalls with it and the slow moments are
sampled less (coordinated omission). Here request k is due at
`start + k / rate` whatever happened before; a request that waits for a free
connection counts that wait in its latency, as a caller arriving at that
moment would see it.

Run by bench/api.py as processes of their own (stdlib only, so one starts in a
fraction of a second): the job comes as JSON on stdin, the answer goes as JSON
on stdout. A slot still unsent at twice the run's length (plus 5 s) is dropped and counted
apart. Process `index` of `processes` sends the slots index, index +
processes, ... so together they keep the one schedule.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Job:
    host: str
    port: int
    path: str  # the path of every POST; a GET takes its path from the line
    method: str  # "GET" or "POST"
    lines: list[str]  # a path (GET) or a JSON body (POST), one a request, taken in turn
    token: str
    rate: float  # requests a second, all processes together
    seconds: float
    start_at: float  # wall-clock time of slot 0 (time.time()), the same in every process
    index: int
    processes: int
    connections: int  # this process's


def _request(job: Job, slot: int) -> bytes:
    line = job.lines[slot % len(job.lines)]
    head = f"Host: {job.host}:{job.port}\r\nAuthorization: Bearer {job.token}\r\n"
    if job.method == "GET":
        return f"GET {line} HTTP/1.1\r\n{head}\r\n".encode()
    body = line.encode()
    return (
        f"POST {job.path} HTTP/1.1\r\n{head}Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def _answer(reader: asyncio.StreamReader) -> int:
    """Read one response (Content-Length or chunked) and return its status code."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status


async def run(job: Job) -> dict[str, object]:
    """Send this process's share of the schedule; latencies in ms from each request's intended time."""
    now_wall, now_mono = time.time(), time.monotonic()
    start = now_mono + (job.start_at - now_wall)  # slot 0 on this process's monotonic clock
    interval = 1.0 / job.rate
    slots = int(job.seconds * job.rate)
    next_slot = job.index
    latencies: list[float] = []
    errors = 0
    late_starts = 0  # requests that left more than 1 ms after their intended time (no free connection)
    # A server far behind would keep the run going long after its time: slots not sent by then are dropped
    # and counted (a figure saying the rate was not held, rather than a run that never ends).
    give_up = start + job.seconds * 2 + 5

    async def connection() -> None:
        nonlocal next_slot, errors, late_starts
        reader, writer = await asyncio.open_connection(job.host, job.port)
        try:
            while next_slot < slots and time.monotonic() < give_up:
                slot, next_slot = next_slot, next_slot + job.processes
                due = start + slot * interval
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                elif delay < -0.001:
                    late_starts += 1
                writer.write(_request(job, slot))
                status = await _answer(reader)
                latencies.append((time.monotonic() - due) * 1000)
                if not 200 <= status < 300:
                    errors += 1
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(job.connections)))
    dropped = len(range(next_slot, slots, job.processes))
    return {
        "latencies_ms": latencies,
        "errors": errors,
        "dropped": dropped,
        "late_starts": late_starts,
        "end": time.time(),
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(run(Job(**json.load(sys.stdin))))))
