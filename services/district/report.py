"""`minzheng district report`: the bureau's 2022 table beside what the system computed, read over public APIs.

Every figure comes from the services' public answers, as any client with a district-wide token would read them:
monitoring's `/v1/stats` and records (people and households by program in October), the assistance and eldercare
payrolls by month (`GET /v1/payrolls`: paid by program and by kind of line, withheld by reason), the insurance
rosters. What the report could not show comes from the same APIs: deaths recorded (registry `/v1/deaths`), lines
withheld before payment and why, overpayments and what became of them, the latency from a death's first report to
monitoring's alert naming the benefits it stopped, and a check of every paid line: none for a month after a death
the registry had recorded when the payroll was built, none after a move out of the district (the replay's schedule
says who moved and when: a moved person is outside the district's view afterwards).

The report's figures are scaled with the district (a district generated at scale 0.01 is held against 1% of them).
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

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
    alerts_by_kind: dict[str, int] = field(default_factory=dict)  # raised in the period (business days), /v1/stats
    withheld: dict[str, tuple[int, Decimal]] = field(default_factory=dict)  # service:reason -> (lines, yuan)
    overpayments: dict[str, tuple[int, Decimal]] = field(default_factory=dict)  # service:status -> (n, yuan)
    latency_ms: dict[str, list[float]] = field(default_factory=dict)  # what -> latencies, ms
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


@dataclass(frozen=True)
class PaidLine:
    """A paid regular line, as the payroll listing of lines answers it."""

    person_id: str
    id_number: str
    month: date  # the first day of the month it pays
    built: datetime  # when its payroll was built


@dataclass
class Payrolls:
    """A service's payrolls of the months asked for, from `GET /v1/payrolls`."""

    items: list[dict[str, Any]]

    def paid(self) -> dict[str, Decimal]:
        """Paid yuan by program, by kind of line (`kind:<kind>`) and in all (`_total`)."""
        out: dict[str, Decimal] = defaultdict(Decimal)
        for s in self.sums("paid"):
            out[s["program"]] += Decimal(s["amount"])
            out[f"kind:{s['kind']}"] += Decimal(s["amount"])
            out["_total"] += Decimal(s["amount"])
        return dict(out)

    def lines(self, program: str, kind: str) -> int:
        return sum(s["lines"] for s in self.sums("paid") if s["program"] == program and s["kind"] == kind)

    def sums(self, status: str) -> list[dict[str, Any]]:
        return [s for p in self.items for s in p["sums"] if s["status"] == status]


async def payrolls(client: Client, service: str, wanted: list[str]) -> Payrolls:
    """The service's payrolls of the months (its listing, by month)."""
    return Payrolls([p for p in await client.pages(service, "/v1/payrolls") if p["month"] in wanted])


async def dibao_households(client: Client) -> int:
    """Distinct households of the people monitoring counts on dibao."""
    records = await client.pages("monitoring", "/v1/records", category="dibao", status="active")
    return len({r.get("household_id") or r.get("person_id") for r in records})


async def headline(client: Client, first: str, last: str, scale: float) -> tuple[list[Row], dict[str, Payrolls]]:
    """The report's table and the system's figure for each row (and the payrolls read for it)."""
    wanted = months(first, last)
    stats = await client.get("monitoring", "/v1/stats", month=last)
    people = stats["people_by_program"]
    built = {s: await payrolls(client, s, wanted) for s in ("assistance", "eldercare")}
    paid, allowance = built["assistance"].paid(), built["eldercare"].paid()
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
        built["assistance"].lines("temporary", "grant"),
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
    return rows, built


# -- what the system adds (the services' public listings) -------------------------------------------


async def findings(client: Client, built: dict[str, Payrolls], moves: dict[str, date], last: str) -> Findings:
    """Deaths, withheld lines, overpayments, the death -> alert latency and the check of every paid line.

    `moves`: who moved out of the district and the day the public-security partner reported it (the replay's
    schedule); a payroll built at the end of that month or later must not pay a month after the move.
    """
    f = Findings()
    over: dict[str, set[tuple[str, str]]] = {}
    deaths = await client.pages("registry", "/v1/deaths")
    f.deaths_by_status = dict(sorted(Counter(d["status"] for d in deaths).items()))
    stats = await client.get("monitoring", "/v1/stats", month=last)
    f.alerts_by_kind = {k: sum(by_status.values()) for k, by_status in sorted(stats["alerts_by_kind"].items())}
    for service, p in built.items():
        for item in p.items:
            for w in item["withheld_by_reason"]:
                n, amount = f.withheld.get(f"{service}: {w['reason_code']}", (0, Decimal(0)))
                f.withheld[f"{service}: {w['reason_code']}"] = (n + w["lines"], amount + Decimal(w["amount"]))
        listed = await client.pages(service, "/v1/overpayments")
        over[service] = {(o["id_number"], month) for o in listed for month in o["months"]}
        for o in listed:
            n, amount = f.overpayments.get(f"{service}: {o['status']}", (0, Decimal(0)))
            f.overpayments[f"{service}: {o['status']}"] = (n + 1, amount + Decimal(o["amount"]))
    recorded = {d["person_id"]: (date.fromisoformat(d["date_of_death"]), _received(d)) for d in deaths
                if d["status"] != "revoked"}  # fmt: skip
    alerts = await client.pages("monitoring", "/v1/alerts", kind="beneficiary_died")
    f.latency_ms = {"death recorded -> alert raised": _latencies(recorded, alerts)}
    for service, p in built.items():
        for line in await paid_lines(client, service, p):
            check_line(f, line, recorded, moves, over[service])
    return f


def _received(death: dict[str, Any]) -> datetime:
    """When the registry first heard of the death: its earliest report."""
    return min(datetime.fromisoformat(r["received_at"]) for r in death["reports"])


def _latencies(recorded: dict[str, tuple[date, datetime]], alerts: list[dict[str, Any]]) -> list[float]:
    """Per person: the death's first report to the monitoring alert that lists the benefits it stopped, in ms."""
    first: dict[str, datetime] = {}
    for a in alerts:
        at = datetime.fromisoformat(a["raised_at"])
        first[a["person_id"]] = min(at, first.get(a["person_id"], at))
    known = {p: at for p, at in first.items() if p in recorded and at >= recorded[p][1]}
    return sorted((at - recorded[p][1]).total_seconds() * 1000 for p, at in known.items())


async def paid_lines(client: Client, service: str, p: Payrolls) -> list[PaidLine]:
    """Every paid regular line of the payrolls (each payroll's lines, page by page)."""
    out = []
    for item in p.items:
        built = datetime.fromisoformat(item["created_at"])
        for line in await client.pages(service, f"/v1/payrolls/{item['id']}/lines"):
            if line["status"] == "paid" and line["kind"] == "regular":
                month = date.fromisoformat(line["month"] + "-01")
                out.append(PaidLine(line["person_id"], line["id_number"], month, built))
    return out


def check_line(
    f: Findings,
    line: PaidLine,
    recorded: dict[str, tuple[date, datetime]],
    moves: dict[str, date],
    over: set[tuple[str, str]],
) -> None:
    """Count a paid line made to someone the system knew dead, or moved out, when its payroll was built."""
    if line.person_id in recorded:
        died_on, known_at = recorded[line.person_id]
        if line.month > died_on.replace(day=1):  # the month of death itself is paid by the allowance's rule
            if known_at <= line.built:
                f.paid_when_known_dead += 1
            else:
                f.paid_before_known += 1
                f.paid_before_known_in_overpayments += (line.id_number, f"{line.month:%Y-%m}") in over
    left_on = moves.get(line.id_number)
    if left_on is not None and line.month > left_on.replace(day=1):
        f.paid_when_known_moved += 1  # payrolls are built at the end of the month paid: the move was known


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
    lines.append(f"  alerts raised by the end of the period, by kind: {f.alerts_by_kind}")
    lines.append("  payroll lines withheld before payment:")
    lines += [f"    {k:40} {n:>7} lines {v:>14,.2f} yuan" for k, (n, v) in sorted(f.withheld.items())]
    lines.append("  overpayments (paid before a death was known, raised on confirmation):")
    lines += [f"    {k:40} {n:>7}       {v:>14,.2f} yuan" for k, (n, v) in sorted(f.overpayments.items())]
    lines.append("  death first reported -> monitoring's alert naming the benefits stopped:")
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
    first: str,
    last: str,
    scale: float,
    moves: dict[str, date],
    out: Callable[[str], None] = print,
) -> tuple[list[Row], Findings]:
    """The table and the findings, read over the services' public APIs only."""
    client = Client(urls, token)
    try:
        rows, built = await headline(client, first, last, scale)
        found = await findings(client, built, moves, last)
    finally:
        await client.close()
    out(render(rows, found, scale))
    return rows, found


def planned_moves(seed: int, scale: float, first: str, last: str) -> dict[str, date]:
    """Who moves out of the district in the replay of the seed, and the day it is reported (the schedule's truth)."""
    from services.district import plan as planning
    from services.district import population
    from services.district.replay import month_end, parse_month

    district = population.generate(seed, scale)
    plan = planning.make_plan(district, seed, parse_month(first), month_end(parse_month(last)))
    return {m.id_number: m.day for m in plan.moves if m.kind == "move_out"}


def run(*, directory: Path, first: str, last: str, scale: float, seed: int = 1) -> tuple[list[Row], Findings]:
    """`minzheng district report`: the table for the stack in `directory` (started for the report, then stopped)."""
    from services.district.stack import DistrictStack

    moves = planned_moves(seed, scale, first, last)
    with DistrictStack(directory) as stack:
        stack.settle()
        return asyncio.run(report(stack.urls(), stack.token, first, last, scale, moves))
