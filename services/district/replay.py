"""`minzheng district replay`: ten months of the district's life sent through the running system.

The schedule comes from `plan.make_plan` (pure, seeded). This module moves the system's business date day by day
(`shared.clock.set_today` on the file every service reads), and on each day sends what happens: deaths and hukou
changes on the partner topics (with the partners' CloudEvents envelope), incomes and medical bills on theirs,
births and newcomers as the household-register's intake file, marriages and applications over HTTP, the registrar's
confirmations and revocations. The registry's milestone run (ages 16 … 100) runs on the last day of each month: its
only consumer, eldercare's allowance, enrols a new 80-year-old on the day it applies the event and pays from the month
after, so a run on the birthday or on the month's last day enrols in the same month and pays the same (and the
registry records the day each age was reached either way); ten runs instead of 304.
At the end of each month it waits until every consumer has caught up and every outbox is empty (the month's events
applied), then builds that month's payrolls in assistance and eldercare and lets caseworkers recover overpayments.

Nothing here computes an amount: applications carry the household's facts, the services apply their rules.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from services import consumers_by_service
from services.district import plan as planning
from services.district import population
from services.district.model import District, Household
from services.district.stack import DistrictStack
from shared import clock
from shared import event_types as ev

ALL_SCOPES = " ".join(
    [f"{s}:{m}" for s in ("registry", "assistance", "eldercare", "monitoring") for m in ("read", "write")]
    + ["pii:read"]
)
CONCURRENCY = 8  # HTTP calls in flight at once on a day (independent people)
PAGE = 500
REGISTRAR_DELAY_DAYS = 7  # a death reported by one source only is confirmed by the registrar after a week
NOTICE_WAIT_DAYS = 8  # the public notice is 7 days: confirmation on the 8th day after review
# 一次性生活补贴 to dibao (the report's 1.459 M yuan): one decision paying each person on dibao in January
# (assumed: the amount and month are not in the report; 178 yuan x the 8,204 people on dibao in January comes to
# its total: 180 yuan paid 1.0104 of it).
ONE_OFF_SUBSIDIES = (("2022-01", "178.00", "春节一次性生活补贴, 区政府决定 (assumed)"),)
# What a household that applies after losing its income no longer has: a wage, or the support a child sent (the
# marginal families are elderly couples living on it: while it came they were above the standard).
LOST_INCOME_KINDS = ("wage", "transfer")
RECOVERY_SHARE = 4  # caseworkers recover three overpayments in four each month; the rest stay listed


@dataclass(frozen=True)
class Target:
    """Where the running system answers, and the file holding its business date."""

    urls: dict[str, str]
    bootstrap: str
    today_file: Path
    token: str
    consumer_group_prefix: str = "minzheng"
    cpu: Callable[[], dict[str, float]] | None = None  # CPU seconds so far of each process of the stack


_ID = re.compile(r"/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def step_name(method: str, service: str, path: str) -> str:
    """An HTTP call's route, its ids replaced: the unit the timings are kept by."""
    return f"{method} {service}{_ID.sub('/{id}', path)}"


@dataclass
class Timings:
    """Wall seconds and counts per kind of step (a route, a publish flush, a drain, a payroll build).

    Steps run concurrently, so their seconds overlap and add up to more than the wall time: they say where the
    waiting is, the CPU figures say where the work is.
    """

    seconds: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, took: float, n: int = 1) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + took
        self.counts[name] = self.counts.get(name, 0) + n

    def lines(self, top: int = 12) -> list[str]:
        ranked = sorted(self.seconds.items(), key=lambda kv: -kv[1])[:top]
        return [f"    {s:7.1f} s {self.counts[n]:6d}x  {n}" for n, s in ranked]


@dataclass
class Counters:
    """What was sent, for the progress line and the final figures."""

    partner_events: int = 0
    http_writes: int = 0
    http_refused: int = 0
    registered: int = 0  # births and newcomers the registry accepted from the intake files
    refusals: dict[str, int] = field(default_factory=dict)  # by step: what the services refused, and why below
    refusal_samples: list[str] = field(default_factory=list)

    def refused(self, step: str, n: int, why: str) -> None:
        self.http_refused += n
        self.refusals[step] = self.refusals.get(step, 0) + n
        if len(self.refusal_samples) < 8:
            self.refusal_samples.append(f"{step}: {why[:200]}")

    payrolls: dict[str, dict[str, Any]] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    drain_seconds: float = 0.0
    timings: Timings = field(default_factory=Timings)

    @property
    def events(self) -> int:
        return self.partner_events + self.http_writes

    def rate(self) -> float:
        return self.events / max(1e-6, time.monotonic() - self.started)


def month_end(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def partner_envelope(type_: str, source: str, data: dict[str, Any], event_id: str) -> bytes:
    """The structured-mode CloudEvent a partner sends (CONTRACT.md): its own source, our catalogue's type."""
    return json.dumps(
        {
            "specversion": "1.0",
            "id": event_id,
            "source": f"/partners/{source}",
            "type": type_,
            "time": datetime.now(UTC).isoformat(),
            "datacontenttype": "application/json",
            "data": data,
        },
        ensure_ascii=False,
    ).encode()


def partner_key(id_number: str) -> bytes:
    """Partners key by a digest of the number: one person's reports stay in order, the number never in a key."""
    return hashlib.sha256(id_number.encode()).hexdigest()[:16].encode()


def stable_id(*parts: str) -> str:
    """The same event id for the same planned event: a replay sent twice has one effect per event."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "minzheng-replay:" + ":".join(parts)))


class Replayer:
    """Sends a plan to a running system, day by day; see the module's docstring."""

    def __init__(self, target: Target, district: District, plan: planning.Plan, seed: int) -> None:
        self.target, self.district, self.plan, self.seed = target, district, plan, seed
        self.counters = Counters()
        self.http: httpx.AsyncClient | None = None
        self.producer: AIOKafkaProducer | None = None
        self.pending: list[asyncio.Future[Any]] = []
        self.gate = asyncio.Semaphore(CONCURRENCY)
        self.reviews: dict[date, list[tuple[str, planning.Application]]] = {}
        self.confirms: dict[date, list[tuple[str, planning.Application]]] = {}
        self.exits: dict[date, list[planning.IncomeReport]] = {}
        self.first_reported: dict[str, date] = {}  # reference -> the day reported
        self.households = {h.key: h for h in district.households}
        self.applied: list[dict[str, Any]] = []  # every confirmed application's answer
        self.probes: dict[str, AIOKafkaConsumer] = {}  # one per consumer group, reading its committed offsets
        self.month = Timings()  # the current month's steps (the total is the counters')
        self.cpu_at_month_start: dict[str, float] = {}

    def timed(self, name: str, took: float, n: int = 1) -> None:
        self.counters.timings.add(name, took, n)
        self.month.add(name, took, n)

    # -- connections --------------------------------------------------------------------------

    async def __aenter__(self) -> Replayer:
        self.http = httpx.AsyncClient(headers={"Authorization": f"Bearer {self.target.token}"}, timeout=300)
        self.producer = AIOKafkaProducer(bootstrap_servers=self.target.bootstrap, acks="all", linger_ms=5)
        await self.producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        for probe in self.probes.values():
            await probe.stop()
        if self.producer:
            await self.producer.stop()
        if self.http:
            await self.http.aclose()

    # -- the run ------------------------------------------------------------------------------

    async def run(self, start: date, end: date, progress: Callable[[str], None] = print) -> Counters:
        schedule = self.plan.by_day()
        if self.target.cpu is not None:
            self.cpu_at_month_start = self.target.cpu()
        clock.set_today(self.target.today_file, start)
        await self.milestones_caught_up(start - timedelta(days=1), progress)
        await self.one_off_subsidies()
        for day in planning.days(start, end):
            clock.set_today(self.target.today_file, day)
            await self.one_day(day, schedule.get(day, {}))
            if day == month_end(day):
                await self.close_month(day)
                self.report_month(day, progress)
        return self.counters

    def report_month(self, day: date, progress: Callable[[str], None]) -> None:
        """The progress line of a month: events, rate, wall time; then its slowest steps and CPU per process."""
        c = self.counters
        progress(
            f"{day:%Y-%m}: {c.events} events sent ({c.partner_events} partner, {c.http_writes} HTTP writes,"
            f" {c.http_refused} refused), {c.rate():.0f} events/s, {time.monotonic() - c.started:.0f} s"
        )
        for line in self.month.lines():
            progress(line)
        if self.target.cpu is not None:
            now = self.target.cpu()
            spent = {k: v - self.cpu_at_month_start.get(k, 0.0) for k, v in now.items()}
            progress("    CPU-s " + ", ".join(f"{k} {v:.1f}" for k, v in sorted(spent.items(), key=lambda kv: -kv[1])))
            self.cpu_at_month_start = now
        self.month = Timings()

    async def one_day(self, day: date, today: dict[str, list[Any]]) -> None:
        for d in today.get("deaths", []):
            self.death(d)
        for m in today.get("moves", []):
            if m.kind == "move_out":
                self.move_out(m)
        for i in today.get("incomes", []):
            self.income(i)
            if i.above_standard:
                self.exits.setdefault(day + timedelta(days=3), []).append(i)
        for b in today.get("medical", []):
            self.medical(b)
        await self.flush()
        newcomers = [m for m in today.get("moves", []) if m.kind == "move_in"]
        calls: list[Awaitable[Any]] = [self.registrations(day, today.get("births", []), newcomers)]
        calls += [self.marriage(m) for m in today.get("marriages", [])]
        calls += [self.submit(day, a) for a in today.get("applications", [])]
        calls += [self.review(day, app_id, a) for app_id, a in self.reviews.pop(day, [])]
        calls += [self.confirm(app_id, a) for app_id, a in self.confirms.pop(day, [])]
        calls += [self.gradual_exit(i) for i in self.exits.pop(day, [])]
        await asyncio.gather(*calls)
        if day.weekday() == 0:
            await self.registrar(day)
        if day == month_end(day):
            await self.post("registry", "/v1/milestones/run", {"as_of": day.isoformat()})

    async def milestones_caught_up(self, as_of: date, progress: Callable[[str], None]) -> None:
        """The ages the register's residents reached before the replay, recorded by one run (a no-op when the
        take-on ran it): otherwise the first month's run records every adult's past ages and publishes one
        event each, a take-on's work counted in the replayed year."""
        started = time.monotonic()
        out = await self.post("registry", "/v1/milestones/run", {"as_of": as_of.isoformat()})
        progress(
            f"milestones as of {as_of}: {out.get('recorded', 0)} ages recorded, {out.get('published', 0)} published"
            f" ({time.monotonic() - started:.1f} s)"
        )

    async def close_month(self, day: date) -> None:
        """The month's events applied everywhere, then its payrolls; overpayments followed up."""
        await self.drain()
        month = f"{day:%Y-%m}"
        await self.post("eldercare", "/v1/allowances/discover", {"as_of": day.isoformat()})
        await self.drain()
        services = ("assistance", "eldercare")  # two services, two databases: built at once
        built = await asyncio.gather(*(self.post(s, "/v1/payrolls", {"month": month}) for s in services))
        for service, payroll in zip(services, built, strict=True):
            self.counters.payrolls[f"{service}:{month}"] = payroll
        await self.drain()
        await self.follow_up_overpayments()

    async def one_off_subsidies(self) -> None:
        """The district's decision of a one-off subsidy to every person on dibao (paid in its month's payroll)."""
        for month, amount, decision in ONE_OFF_SUBSIDIES:
            body = {"program": "dibao", "month": month, "amount_per_person": amount, "decision": decision}
            await self.post("assistance", "/v1/one-off-subsidies", body)

    # -- partner topics -------------------------------------------------------------------

    def send(self, topic: str, type_: str, source: str, data: dict[str, Any], key_of: str, event_id: str) -> None:
        assert self.producer is not None
        value = partner_envelope(type_, source, data, event_id)
        self.pending.append(asyncio.ensure_future(self.producer.send(topic, value, key=partner_key(key_of))))
        self.counters.partner_events += 1

    async def flush(self) -> None:
        """Every message of the day acknowledged by the broker."""
        if self.pending:
            started = time.monotonic()
            acks = await asyncio.gather(*self.pending)
            await asyncio.gather(*acks)
            self.timed("publish partner events (flush)", time.monotonic() - started, len(self.pending))
            self.pending = []

    def death(self, d: planning.DeathReport) -> None:
        self.first_reported.setdefault(d.reference.removesuffix("-2"), d.day)
        data = {
            "id_number": d.id_number,
            "date_of_death": d.date_of_death.isoformat(),
            "source": d.source,
            "reference": d.reference,
        }
        self.send(
            ev.PARTNER_DEATHS, "partner.death.reported", d.source, data, d.id_number, stable_id("death", d.reference)
        )

    def move_out(self, m: planning.Move) -> None:
        data = {
            "id_number": m.id_number,
            "kind": m.kind,
            "from_division": m.from_division,
            "to_division": m.to_division,
            "effective_date": m.day.isoformat(),
            "reference": m.reference,
            "source": "public_security",
        }
        event_id = stable_id("hukou", m.reference)
        self.send(ev.PARTNER_HUKOU, "partner.hukou.changed", "public_security", data, m.id_number, event_id)

    def income(self, i: planning.IncomeReport) -> None:
        data = {
            "id_number": i.id_number,
            "monthly_amount": f"{i.monthly_amount:.2f}",
            "period": i.period,
            "reference": i.reference,
        }
        self.send(ev.PARTNER_INCOME, "partner.income.reported", "tax", data, i.id_number, stable_id("inc", i.reference))

    def medical(self, b: planning.MedicalBill) -> None:
        data = {
            "id_number": b.id_number,
            "amount": f"{b.amount:.2f}",
            "date": b.day.isoformat(),
            "reference": b.reference,
        }
        event_id = stable_id("med", b.reference)
        self.send(
            ev.PARTNER_MEDICAL_EXPENSES,
            "partner.medical-expense.reported",
            "medical_insurance",
            data,
            b.id_number,
            event_id,
        )

    # -- HTTP ---------------------------------------------------------------------------

    async def call(
        self,
        method: str,
        service: str,
        path: str,
        body: Any = None,
        *,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        lines: int = 1,
    ) -> httpx.Response:
        """One request (retried on a dropped connection or a 5xx: every step is idempotent); `lines` is how many
        events it carries (a batch's lines)."""
        assert self.http is not None
        started = time.monotonic()
        async with self.gate:
            for attempt in range(5):
                try:
                    url = self.target.urls[service] + path
                    r = await self.http.request(method, url, json=body, content=content, headers=headers, params=params)
                except httpx.TransportError:
                    await asyncio.sleep(0.5 * (attempt + 1))
                    continue
                if r.status_code < 500:
                    break
                await asyncio.sleep(0.5 * (attempt + 1))
        self.timed(step_name(method, service, path), time.monotonic() - started)
        if method != "GET":
            self.counters.http_writes += lines
            if r.status_code >= 400:
                self.counters.refused(step_name(method, service, path), 1, f"{r.status_code} {r.text}")
        return r

    async def post(self, service: str, path: str, body: Any) -> dict[str, Any]:
        r = await self.call("POST", service, path, body)
        return r.json() if r.headers.get("content-type", "").endswith("json") else {}

    async def get(self, service: str, path: str, **params: Any) -> Any:
        r = await self.call("GET", service, path, params=params)
        r.raise_for_status()
        return r.json()

    async def pages(self, service: str, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a paged listing."""
        items: list[dict[str, Any]] = []
        while True:
            page = await self.get(service, path, limit=PAGE, offset=len(items), **params)
            items += page["items"]
            if not page["items"] or len(items) >= page["total"]:
                return items

    async def registrations(self, day: date, births: list[planning.Birth], newcomers: list[planning.Move]) -> None:
        """The day's births and newcomers as the public security bureau's household-register file (one intake
        batch): a baby joins its mother's household (she is the head or the head's spouse: plan.py) as the head's
        child; a newcomer from another district is registered at the new address."""
        lines = [
            {
                "type": "person",
                "id_number": b.id_number,
                "name": b.name,
                "hukou_division": b.division,
                "sex": b.sex,
                "household": self.district.person(b.mother).household_key,
                "relation": "child",
                "reference": f"birth-{b.id_number}",
            }
            for b in births
        ]
        lines += [
            {
                "type": "person",
                "id_number": m.id_number,
                "name": m.name,
                "hukou_division": m.to_division,
                "sex": m.sex,
                "reference": m.reference,
            }
            for m in newcomers
        ]
        if not lines:
            return
        body = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode()
        answer = await self.call(
            "POST",
            "registry",
            "/v1/intake/batches",
            content=body,
            headers={"Content-Type": "application/x-ndjson"},
            params={"filename": f"replay-{day.isoformat()}-registrations.ndjson"},
            lines=len(lines),
        )
        if answer.status_code < 400:
            summary = answer.json()
            self.counters.registered += int(summary.get("accepted") or 0)
            if summary.get("rejected"):
                self.counters.refused("intake lines", int(summary["rejected"]), f"batch {summary.get('batch_id')}")

    async def marriage(self, m: planning.Marriage) -> None:
        body = {
            "party_a": m.party_a,
            "party_b": m.party_b,
            "registered_on": m.day.isoformat(),
            "registration_division": "340207",
            "certificate_no": m.certificate_no,
        }
        await self.post("registry", "/v1/marriages", body)

    # -- applications: submitted, reviewed by the town, public notice, confirmed ----------------

    def application_body(self, a: planning.Application) -> dict[str, Any]:
        """The household's facts as the applicant declares them (the rules compute the amounts)."""
        h: Household = a.household
        members = []
        for i, number in enumerate(h.members):
            person = self.district.person(number)
            incomes = [
                {"kind": inc.kind, "monthly_amount": f"{inc.monthly_amount:.2f}"}
                for inc in h.finances[i].incomes
                if not (a.lost_income and inc.kind in LOST_INCOME_KINDS)
            ]
            member: dict[str, Any] = {
                "id_number": number,
                "relation": "self" if i == 0 else _relation(person.relation),
                "incomes": incomes,
                "employment_cost": "0.00" if a.lost_income else f"{h.finances[i].employment_cost:.2f}",
                "seriously_ill": person.seriously_ill,
                "labour_capacity": person.labour_capacity,
            }
            if person.disability:
                member["disability"] = {"grade": person.disability.grade, "kind": person.disability.kind}
            members.append(member)
        body: dict[str, Any] = {
            "program": a.program,
            "members": members if a.program != "temporary" else members,
            "rigid_expenses": [
                {"member": e.member, "kind": e.kind, "monthly_amount": f"{e.monthly_amount:.2f}"}
                for e in h.rigid_expenses
            ],
            "assets": {
                "financial": f"{h.assets.financial:.2f}",
                "homes": h.assets.homes,
                "vehicles": h.assets.vehicles,
            },
        }
        if a.program == "tekun":
            body["members"] = members[:1]
            body["rigid_expenses"] = [e for e in body["rigid_expenses"] if e["member"] == 0]
            adl = 0 if h.tekun is None else h.tekun.adl_items_failed
            body["tekun"] = {"supporter": "none", "placement": "dispersed", "adl_items_failed": adl}
            body["members"][0]["labour_capacity"] = "none"
        if a.program == "temporary":
            body["temporary"] = {"type": a.temporary_type, "need": f"{a.need:.2f}"}
        return body

    async def submit(self, day: date, a: planning.Application) -> None:
        out = await self.post("assistance", "/v1/applications", self.application_body(a))
        if "id" not in out:
            return
        if a.program == "temporary" and out["assessment"].get("pay_first"):
            await self.confirm(out["id"], a)  # 先行救助: paid first, reviewed after
            return
        self.reviews.setdefault(day + timedelta(days=1 if a.program == "temporary" else 2), []).append((out["id"], a))

    async def review(self, day: date, app_id: str, a: planning.Application) -> None:
        out = await self.post(
            "assistance", f"/v1/applications/{app_id}/review", {"survey_notes": "入户调查: the household as declared"}
        )
        if not out.get("assessment", {}).get("eligible"):
            await self.post("assistance", f"/v1/applications/{app_id}/reject", {"reason": "not eligible on review"})
            return
        wait = NOTICE_WAIT_DAYS if out.get("status") == "notice" else 1
        self.confirms.setdefault(day + timedelta(days=wait), []).append((app_id, a))

    async def confirm(self, app_id: str, a: planning.Application) -> None:
        out = await self.post("assistance", f"/v1/applications/{app_id}/confirm", {"note": "confirmed by the town"})
        if out.get("status") == "confirmed":
            self.applied.append(out)

    async def gradual_exit(self, i: planning.IncomeReport) -> None:
        """The caseworker acts on a reported income above the standard: the household's cases exit gradually."""
        person = self.district.person(i.id_number)
        household = self.households[person.household_key]
        for number in household.members:
            cases = await self.get("assistance", "/v1/cases", id_number=number)
            for case in cases["items"]:
                if case["status"] == "active" and case["program"] in ("dibao",):
                    body = {"reason": f"income {i.monthly_amount} reported for {i.period}: above the standard"}
                    await self.post("assistance", f"/v1/cases/{case['case_id']}/gradual-exit", body)

    # -- the registrar and the caseworkers ------------------------------------------------

    async def registrar(self, day: date) -> None:
        """Deaths reported by one source for a week are confirmed; those reported in error are revoked."""
        decisions = []
        for death in await self.pages("registry", "/v1/deaths", status="reported"):
            refs = [r["reference"] for r in death["reports"]]
            first = min((self.first_reported.get(ref.removesuffix("-2"), day) for ref in refs), default=day)
            if (day - first).days < REGISTRAR_DELAY_DAYS:
                continue
            if all(ref.startswith("ERR-") for ref in refs):
                body = {"reason": "reported in error: the person was found alive"}
                decisions.append(self.post("registry", f"/v1/deaths/{death['death_id']}/revoke", body))
            else:
                decisions.append(self.post("registry", f"/v1/deaths/{death['death_id']}/confirm", {"note": "verified"}))
        await asyncio.gather(*decisions)  # each death is the registrar's own decision: independent calls

    async def follow_up_overpayments(self) -> None:
        """Caseworkers recover most open overpayments (chosen by a digest of the number: deterministic)."""
        recoveries = []
        for service in ("assistance", "eldercare"):
            for o in await self.pages(service, "/v1/overpayments", status="open"):
                if int(hashlib.sha256(o["id_number"].encode()).hexdigest(), 16) % RECOVERY_SHARE:
                    body = {"note": "recovered from the estate"}
                    recoveries.append(self.post(service, f"/v1/overpayments/{o['id']}/recover", body))
        await asyncio.gather(*recoveries)

    # -- waiting for the consumers ------------------------------------------------------------

    async def drain(self, timeout: float = 900) -> None:
        """Until every outbox is empty and every consumer group has committed the end of its topics, twice."""
        started = time.monotonic()
        groups = {
            f"{self.target.consumer_group_prefix}-{service}.{c.name}": c.topics
            for service, consumers in consumers_by_service().items()
            for c in consumers
        }
        if not self.probes:  # started once and kept: a probe's start is a round of metadata and group requests
            for g in groups:
                probe = AIOKafkaConsumer(bootstrap_servers=self.target.bootstrap, group_id=g)
                await probe.start()
                await probe.topics()  # the cluster's metadata, so that partitions_for_topic answers
                self.probes[g] = probe
        calm = 0
        while calm < 2 and time.monotonic() - started < timeout:
            behind = await self._backlog() + await self._lag(groups, self.probes)
            calm = calm + 1 if behind == 0 else 0
            if calm < 2:
                await asyncio.sleep(0.1)
        self.counters.drain_seconds += time.monotonic() - started
        self.timed("wait for consumers (drain)", time.monotonic() - started)

    async def _backlog(self) -> int:
        total = 0
        for url in self.target.urls.values():
            assert self.http is not None
            body = (await self.http.get(f"{url}/readyz")).json()
            total += int(body.get("outbox_backlog") or 0)
        return total

    async def _lag(self, groups: dict[str, list[str]], probes: dict[str, AIOKafkaConsumer]) -> int:
        """Messages not yet committed by the consumer groups (the groups asked at once)."""

        async def behind(group: str, topics: list[str]) -> int:
            probe = probes[group]
            tps = [TopicPartition(t, p) for t in topics for p in sorted(probe.partitions_for_topic(t) or ())]
            ends = await probe.end_offsets(tps)
            committed = await asyncio.gather(*(probe.committed(tp) for tp in tps))
            return sum(max(0, ends[tp] - (c or 0)) for tp, c in zip(tps, committed, strict=True))

        return sum(await asyncio.gather(*(behind(g, topics) for g, topics in groups.items())))


def _relation(registry_relation: str) -> str:
    """The assistance API's relation to the applicant for the registry's relation to the head."""
    return {"head": "self", "spouse": "spouse", "child": "child", "parent": "parent", "grandchild": "grandchild"}.get(
        registry_relation, "other"
    )


async def replay(
    target: Target,
    district: District,
    seed: int,
    start: date,
    end: date,
    progress: Callable[[str], None] = print,
) -> Counters:
    """Replay the district's life from the first day of `start`'s month to the last of `end`'s."""
    first, last = start.replace(day=1), month_end(end)
    plan = planning.make_plan(district, seed, first, last)
    progress(f"replaying {first} .. {last}: {plan.size()} planned events, seed {seed}")
    async with Replayer(target, district, plan, seed) as r:
        counters = await r.run(first, last, progress)
    took = time.monotonic() - counters.started
    progress(
        f"done: {counters.events} events in {took:.0f} s, {counters.rate():.0f} events/s"
        f" ({counters.drain_seconds:.0f} s waiting for consumers)"
    )
    for line in counters.timings.lines(top=30):
        progress(line)
    if counters.refusals:
        progress(f"refused: {counters.refusals}")
        for sample in counters.refusal_samples:
            progress(f"    {sample}")
    return counters


def stack_target(stack: DistrictStack) -> Target:
    assert stack.broker is not None
    return Target(
        urls=stack.urls(),
        bootstrap=stack.broker.bootstrap,
        today_file=stack.today_file,
        token=stack.token,
        cpu=lambda: stack_cpu(stack),
    )


def stack_cpu(stack: DistrictStack) -> dict[str, float]:
    """CPU seconds so far of each service, PostgreSQL, the broker and this process (the replayer)."""
    used = stack.cpu_seconds()
    if stack.broker is not None and stack.broker.proc is not None:
        used["broker"] = _process_cpu(stack.broker.proc.pid)
    used["replayer"] = _process_cpu(os.getpid())
    return used


def _process_cpu(pid: int) -> float:
    """utime + stime of a process, in seconds (/proc/<pid>/stat)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def parse_month(text: str) -> date:
    return datetime.strptime(text, "%Y-%m").date()


def run(*, seed: int, scale: float, directory: Path, first: str, last: str) -> Counters:
    """`minzheng district replay`: the district for the seed, replayed on the stack in `directory`."""
    start, end = parse_month(first), month_end(parse_month(last))
    district = population.generate(seed, scale)
    with DistrictStack(directory) as stack:
        return asyncio.run(replay(stack_target(stack), district, seed, start, end))
