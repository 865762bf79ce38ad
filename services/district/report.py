"""`minzheng district report`: the bureau's 2022 table beside what the system computed from its own records.

The headline figures come from the services' public answers: monitoring's `/v1/stats` and records (people and
households by program in October), the assistance and eldercare payrolls (paid January to October, by program and by
kind of line), the insurance rosters. What the report could not show comes from the services' own records, read
only: deaths found, lines withheld before payment and why, overpayments and what became of them, the latency from a
death recorded in the registry to the case suspended and the allowance stopped (each service's outbox timestamps),
and a check that no line was paid to someone the registry knew to be dead, or moved out, when the payroll was built.

The report's figures are scaled with the district (a district generated at scale 0.01 is held against 1% of them).
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx

PAGE = 500
TEN_MONTHS = Decimal(10) / Decimal(12)


@dataclass(frozen=True)
class Row:
    what: str
    report: Decimal
    system: Decimal
    unit: str  # "people", "households", "yuan", "grants"

    @property
    def ratio(self) -> Decimal | None:
        return None if not self.report else (self.system / self.report).quantize(Decimal("0.0001"))


# The bureau's figures (POLICY.md, the report of 2022-12-05): (what, figure, unit).
REPORT: tuple[tuple[str, str, str], ...] = (
    ("dibao households, October", "5647", "households"),
    ("dibao people, October", "8204", "people"),
    ("dibao paid Jan-Oct (incl. one-off)", "66641000", "yuan"),
    ("  of which one-off subsidies", "1459000", "yuan"),
    ("tekun people, October", "1781", "people"),
    ("tekun support and care paid Jan-Oct", "18968000", "yuan"),
    ("temporary assistance grants Jan-Oct", "391", "grants"),
    ("temporary assistance paid Jan-Oct", "1101800", "yuan"),
    ("orphans, October", "60", "people"),
    ("orphan allowance paid Jan-Oct", "706650", "yuan"),
    ("disability subsidies paid Jan-Oct", "9887960", "yuan"),
    ("old-age allowance paid Jan-Oct (10/12 of the year's 10.8536 M)", str(Decimal("10853600") * TEN_MONTHS), "yuan"),
    ("insured: 60+ dibao / dispersed tekun elders", "3290", "people"),
    ("insured: 80+ residents", "19685", "people"),
)


@dataclass
class Findings:
    """What the system adds: deaths, withheld lines, overpayments, latency, the check."""

    deaths_by_status: dict[str, int] = field(default_factory=dict)
    withheld: dict[str, tuple[int, Decimal]] = field(default_factory=dict)  # service:reason -> (lines, yuan)
    overpayments: dict[str, tuple[int, Decimal]] = field(default_factory=dict)  # service:status -> (n, yuan)
    latency_ms: dict[str, list[float]] = field(default_factory=dict)  # what stopped -> latencies
    paid_when_known_dead: int = 0
    paid_when_known_moved: int = 0
    paid_before_known: int = 0  # lines for months after a death the registry learnt of later
    paid_before_known_in_overpayments: int = 0


class Client:
    """GETs against the running services with one token."""

    def __init__(self, urls: dict[str, str], token: str) -> None:
        self.urls = urls
        self.http = httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=120)

    async def get(self, service: str, path: str, **params: Any) -> Any:
        r = await self.http.get(self.urls[service] + path, params=params)
        r.raise_for_status()
        return r.json()

    async def pages(self, service: str, path: str, **params: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        while True:
            page = await self.get(service, path, limit=PAGE, offset=len(items), **params)
            items += page["items"]
            if not page["items"] or len(items) >= page["total"]:
                return items

    async def close(self) -> None:
        await self.http.aclose()


def months(first: str, last: str) -> list[str]:
    y, m = map(int, first.split("-"))
    out = []
    while f"{y:04d}-{m:02d}" <= last:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


async def payroll_ids(dsn: str, wanted: list[str]) -> list[str]:
    """The payrolls of the months (the services list none: each month's is found by its unique month)."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT id, to_char(month, 'YYYY-MM') AS m FROM payrolls ORDER BY month")
    finally:
        await conn.close()
    return [str(r["id"]) for r in rows if r["m"] in wanted]


async def payroll_totals(client: Client, service: str, ids: list[str]) -> dict[str, Decimal]:
    """Paid by program (and by kind of line, as `kind:<kind>`) over the payrolls, from their own totals."""
    by_program: dict[str, Decimal] = defaultdict(Decimal)
    for payroll_id in ids:
        p = await client.get(service, f"/v1/payrolls/{payroll_id}")
        for program, amount in p.get("by_program", {}).items():
            by_program[program] += Decimal(amount)
        by_program["_total"] += Decimal(p["total"])
        for kind, amount in (p.get("by_kind") or {}).items():
            by_program[f"kind:{kind}"] += Decimal(amount)
    return dict(by_program)


async def grants(dsn: str, ids: list[str]) -> int:
    """Temporary-assistance grants paid: the payroll lines of kind grant."""
    conn = await asyncpg.connect(dsn)
    try:
        query = "SELECT count(*) FROM payroll_lines WHERE kind = 'grant' AND status = 'paid' AND payroll_id = ANY($1)"
        return int(await conn.fetchval(query, [uuid.UUID(i) for i in ids]))
    finally:
        await conn.close()


async def dibao_households(client: Client) -> int:
    """Distinct households of the people monitoring counts on dibao."""
    records = await client.pages("monitoring", "/v1/records", category="dibao", status="active")
    return len({r.get("household_id") or r.get("person_id") for r in records})


async def headline(client: Client, dsns: dict[str, str], first: str, last: str, scale: float) -> list[Row]:
    """The report's table and the system's figure for each row."""
    wanted = months(first, last)
    stats = await client.get("monitoring", "/v1/stats", month=last)
    people = stats["people_by_program"]
    assistance_ids = await payroll_ids(dsns["assistance"], wanted)
    paid = await payroll_totals(client, "assistance", assistance_ids)
    allowance = await payroll_totals(client, "eldercare", await payroll_ids(dsns["eldercare"], wanted))
    rosters = await client.get("eldercare", "/v1/rosters/insurance", as_of=f"{last}-28", limit=0)
    insured = sorted(
        (r["annual_premium"], r["insured"]) for r in rosters["rosters"]
    )  # 24.50 (80+) < 40.00 (guaranteed)
    system = [
        await dibao_households(client),
        people.get("dibao", 0),
        paid.get("dibao", 0),
        paid.get("kind:one_off", 0),
        people.get("tekun", 0),
        paid.get("tekun", 0),
        await grants(dsns["assistance"], assistance_ids),
        paid.get("temporary", 0),
        people.get("orphan", 0),
        paid.get("orphan", 0),
        paid.get("disability_living", 0) + paid.get("disability_care", 0),
        allowance.get("_total", 0),
        insured[-1][1] if insured else 0,
        insured[0][1] if insured else 0,
    ]
    rows = []
    for (what, figure, unit), value in zip(REPORT, system, strict=True):
        scaled = (Decimal(figure) * Decimal(str(scale))).quantize(Decimal("0.01"))
        rows.append(Row(what, scaled, Decimal(value), unit))
    return rows


# -- what the system adds (its own records, read only) ----------------------------------------------


async def findings(dsns: dict[str, str], client: Client) -> Findings:
    f = Findings()
    registry = await asyncpg.connect(dsns["registry"])
    assistance = await asyncpg.connect(dsns["assistance"])
    eldercare = await asyncpg.connect(dsns["eldercare"])
    try:
        f.deaths_by_status = dict(await registry.fetch("SELECT status, count(*) FROM deaths GROUP BY status"))
        for name, conn in (("assistance", assistance), ("eldercare", eldercare)):
            for code, n, amount in await conn.fetch(
                "SELECT reason_code, count(*), sum(amount) FROM payroll_lines WHERE status = 'withheld' GROUP BY 1"
            ):
                f.withheld[f"{name}: {code}"] = (n, amount)
            for status, n, amount in await conn.fetch(
                "SELECT status, count(*), sum(amount) FROM overpayments GROUP BY 1"
            ):
                f.overpayments[f"{name}: {status}"] = (n, amount)
        f.latency_ms = await latencies(registry, assistance, eldercare)
        await check_payments(f, registry, assistance, eldercare)
    finally:
        for conn in (registry, assistance, eldercare):
            await conn.close()
    return f


_FIRST_EVENT = """
    SELECT envelope->'data'->>'person_id' AS person, min(created_at) AS at FROM outbox
    WHERE type = $1 {extra} GROUP BY 1
"""


async def latencies(
    registry: asyncpg.Connection, assistance: asyncpg.Connection, eldercare: asyncpg.Connection
) -> dict[str, list[float]]:
    """Death recorded (registry.person.died written) -> case suspended / allowance stopped, per person, in ms."""
    died = {r["person"]: r["at"] for r in await registry.fetch(_FIRST_EVENT.format(extra=""), "registry.person.died")}
    suspended = await assistance.fetch(
        _FIRST_EVENT.format(extra="AND envelope->'data'->>'reason' = 'death'"), "assistance.case.suspended"
    )
    stopped = await eldercare.fetch(_FIRST_EVENT.format(extra=""), "eldercare.allowance.stopped")
    out: dict[str, list[float]] = {}
    for what, rows in (("case suspended", suspended), ("allowance stopped", stopped)):
        out[what] = sorted(
            (r["at"] - died[r["person"]]).total_seconds() * 1000
            for r in rows
            if r["person"] in died and r["at"] >= died[r["person"]]
        )
    return out


async def check_payments(
    f: Findings, registry: asyncpg.Connection, assistance: asyncpg.Connection, eldercare: asyncpg.Connection
) -> None:
    """No line paid to someone the registry knew dead or moved out when the payroll was built."""
    deaths = await registry.fetch(
        "SELECT person_id, date_of_death, created_at, revoked_at FROM deaths WHERE status <> 'revoked'"
    )
    moves = await registry.fetch(
        "SELECT person_id, effective_date, recorded_at FROM hukou_changes WHERE kind = 'move_out'"
    )
    known: dict[Any, tuple[date, datetime]] = {d["person_id"]: (d["date_of_death"], d["created_at"]) for d in deaths}
    moved: dict[Any, tuple[date, datetime]] = {m["person_id"]: (m["effective_date"], m["recorded_at"]) for m in moves}
    people = list(set(known) | set(moved))
    for conn, covered in ((assistance, "case_id"), (eldercare, "allowance_id")):
        lines = await conn.fetch(
            f"""SELECT l.person_id, l.for_month, l.kind, p.created_at AS built, l.{covered} AS ref
                FROM payroll_lines l JOIN payrolls p ON p.id = l.payroll_id
                WHERE l.status = 'paid' AND l.kind = 'regular' AND l.person_id = ANY($1::uuid[])""",  # noqa: S608
            people,
        )
        over = {
            (r["ref"], m)
            for r in await conn.fetch(f"SELECT {covered} AS ref, months FROM overpayments")  # noqa: S608
            for m in r["months"]
        }
        for line in lines:
            month_start = line["for_month"]
            if line["person_id"] in known:
                died_on, recorded = known[line["person_id"]]
                if recorded <= line["built"] and month_start > died_on.replace(day=1):
                    f.paid_when_known_dead += 1  # the month of death itself is paid by the allowance's rule
                elif month_start > died_on.replace(day=1):
                    f.paid_before_known += 1
                    f.paid_before_known_in_overpayments += (line["ref"], f"{month_start:%Y-%m}") in over
            if line["person_id"] in moved:
                left_on, recorded = moved[line["person_id"]]
                if recorded <= line["built"] and month_start > left_on.replace(day=1):
                    f.paid_when_known_moved += 1


def percentile(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else float("nan")


def render(rows: list[Row], f: Findings | None, scale: float) -> str:
    lines = [f"the bureau's report (scaled x{scale:g}) beside the system's own figures", ""]
    lines.append(f"{'':62} {'report':>14} {'system':>14} {'ratio':>7}")
    for r in rows:
        ratio = f"{r.ratio:.4f}" if r.ratio is not None else "-"
        lines.append(f"{r.what:62} {_fmt(r.report, r.unit):>14} {_fmt(r.system, r.unit):>14} {ratio:>7}")
    if f is None:
        return "\n".join(lines)
    lines += ["", "what the system adds", f"  deaths recorded by status: {dict(sorted(f.deaths_by_status.items()))}"]
    lines.append("  payroll lines withheld before payment:")
    lines += [f"    {k:40} {n:>7} lines {v:>14,.2f} yuan" for k, (n, v) in sorted(f.withheld.items())]
    lines.append("  overpayments (paid before a death was known, raised on confirmation):")
    lines += [f"    {k:40} {n:>7}       {v:>14,.2f} yuan" for k, (n, v) in sorted(f.overpayments.items())]
    lines.append("  death recorded -> stopped (each service's outbox timestamps):")
    for what, ms in f.latency_ms.items():
        lines.append(
            f"    {what:20} n={len(ms):>6}  p50 {percentile(ms, 50):8.0f} ms  p90 {percentile(ms, 90):8.0f} ms"
            f"  p99 {percentile(ms, 99):8.0f} ms  max {percentile(ms, 100):8.0f} ms"
        )
    lines += [
        "  check at each payroll's build time:",
        f"    lines paid to someone known dead:      {f.paid_when_known_dead}",
        f"    lines paid to someone known moved out: {f.paid_when_known_moved}",
        f"    lines paid for months after a death reported later: {f.paid_before_known}"
        f" (in an overpayment: {f.paid_before_known_in_overpayments})",
    ]
    return "\n".join(lines)


def _fmt(value: Decimal, unit: str) -> str:
    return f"{value:,.2f}" if unit == "yuan" else f"{value:,.0f}"


async def report(
    urls: dict[str, str],
    token: str,
    dsns: dict[str, str],
    first: str,
    last: str,
    scale: float,
    out: Callable[[str], None] = print,
) -> tuple[list[Row], Findings]:
    client = Client(urls, token)
    try:
        rows = await headline(client, dsns, first, last, scale)
        found = await findings(dsns, client)
    finally:
        await client.close()
    out(render(rows, found, scale))
    return rows, found


def run(*, directory: Path, first: str, last: str, scale: float) -> tuple[list[Row], Findings]:
    """`minzheng district report`: the table for the stack in `directory` (started for the report, then stopped)."""
    from services.district.replay import database_urls
    from services.district.stack import DistrictStack

    with DistrictStack(directory) as stack:
        stack.settle()
        return asyncio.run(report(stack.urls(), stack.token, database_urls(stack), first, last, scale))
