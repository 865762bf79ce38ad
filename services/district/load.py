"""Load a generated district into a stack through the services' public HTTP APIs only.

The order follows what each step needs, on the business calendar of the stack:

1. 2021-12-24: residents and households from the household-register roster
   (registry `POST /v1/intake/batches`, `person` lines sharing a household
   key); the capacity assessments (eldercare computes each level) beside the
   institutions, their beds and residents (each institution's admissions in
   turn, the institutions side by side).
2. 2021-12-31: the dibao and tekun caseload through assistance's caseload path
   (`POST /v1/applications/batch`: each application assessed by the service's
   rules, no amount sent; submitted and reviewed on 2021-12-24, confirmed on
   2021-12-31 once the 7-day notice is over; paid from January 2022); then the
   orphan and disability-subsidy applications the same way, all on 2021-12-31
   (no public notice for them; the living subsidy sees the dibao cases just
   confirmed); the old-age allowance discovered; the anti-poverty list and the
   marginal families imported into monitoring.

Between the two, only assistance's and eldercare's consumers of the roster are
waited for (the caseload and the assessments read their copies); monitoring,
the slowest consumer of 116,499 registrations, catches up meanwhile, and
everything is settled before monitoring's lists are imported.

Idempotent: a roster line already registered is a duplicate, an application
for someone already enrolled or already open is refused (409/422) and left
alone, the single steps after submission are taken first on whatever a partial
earlier load left waiting, institutions are matched by name, an assessment or an admission is
not repeated for a person who has one, an import reference is sent once.

The standards are seeded effective 2022-01-01; the caseload on file at the end
of 2021 is assessed on 2021-12-24, so the loader adds the same figures
effective 2021-01-01 through `POST /v1/standards` (once), saying so in their
source; monitoring's warning thresholds likewise (`POST /v1/settings/warnings`).
The old-age allowance brackets start on 2022-01-01, so discovery is asked as of
that day.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from services import SERVICES
from services.district import population
from services.district.model import District, Household, Institution, Person, Program
from services.district.stack import DistrictStack

SUBMITTED_ON = population.ASSESSED_ON  # dibao and tekun: submitted, reviewed, on notice
CONFIRMED_ON = date(2021, 12, 31)  # the notice over; paid from 2022-01
STANDARDS_2021 = date(2021, 1, 1)
IN_FLIGHT = 24
ROSTER_CHUNK = 20_000
SETTLE_TIMEOUT = 1800.0  # the full roster's events take minutes for three consumers on a loaded machine
BATCH_LINES = 200  # applications a batch request
READS_ROSTER = ("assistance", "eldercare")  # the services whose copy of the roster the caseload phases read
BATCHES_IN_FLIGHT = 2  # one being taken on while the next is read: the service's Python runs on one core
BATCH_TIMEOUT = 1800.0  # a file is answered when it is all done: minutes on a loaded machine
ADMITTED_ON = date(2021, 6, 1)
REGISTRY_RELATION_TO_APPLICATION = {"head": "self"}


def _retry_after(answer: httpx.Response) -> float:
    """The seconds a 503 asks to wait (its Retry-After), 1 if it names none, at most 10."""
    try:
        return min(10.0, max(0.0, float(answer.headers.get("retry-after", "1"))))
    except ValueError:
        return 1.0


@dataclass
class Tally:
    """What one phase did: answers by outcome, printed as it goes, with the wall time and, when the stack's
    processes can be read, the CPU seconds each one spent (the loaded machine's wall time hides the cost)."""

    name: str
    counts: Counter[str] = field(default_factory=Counter)
    started: float = field(default_factory=time.monotonic)
    cpu: Callable[[], dict[str, float]] | None = None
    cpu_at_start: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.cpu is not None:
            self.cpu_at_start = self.cpu()

    def add(self, outcome: str) -> None:
        self.counts[outcome] += 1

    def cpu_spent(self) -> dict[str, float]:
        if self.cpu is None:
            return {}
        now = self.cpu()
        return {k: v - self.cpu_at_start.get(k, 0.0) for k, v in now.items()}

    def line(self) -> str:
        done = ", ".join(f"{k} {v:,}" for k, v in sorted(self.counts.items()))
        spent = {k: v for k, v in self.cpu_spent().items() if v >= 0.05}
        cpu = ", ".join(f"{k} {v:.1f}" for k, v in sorted(spent.items(), key=lambda kv: -kv[1]))
        cpu = f"; CPU-s {sum(spent.values()):.1f}: {cpu}" if cpu else ""
        return f"{self.name:<28} {done} ({time.monotonic() - self.started:.1f} s{cpu})"


class Loader:
    """One load of a district into a running stack."""

    def __init__(self, district: District, stack: DistrictStack, echo: Callable[[str], None] = print) -> None:
        self.d = district
        self.stack = stack
        self.echo = echo
        self.client = httpx.AsyncClient(
            headers={"Authorization": f"Bearer {stack.token}"},
            timeout=httpx.Timeout(120.0, connect=10.0),
            limits=httpx.Limits(max_connections=IN_FLIGHT * 2, max_keepalive_connections=IN_FLIGHT * 2),
        )
        self.gate = asyncio.Semaphore(IN_FLIGHT)

    def tally(self, name: str) -> Tally:
        return Tally(name, cpu=self.cpu_seconds)

    def cpu_seconds(self) -> dict[str, float]:
        """The stack's processes' CPU seconds, and this loader's own."""
        return {**self.stack.cpu_seconds(), "loader": time.process_time()}

    def url(self, service: str, path: str) -> str:
        return self.stack.url(service) + path

    async def call(self, method: str, service: str, path: str, **kw: Any) -> httpx.Response:
        """One request within the pool's limit; a failed connection is retried a few times (every step is
        idempotent), but never an answer that timed out: the service may still be doing it. A 503 (a deadlock
        with a consumer's chunk, the database away a moment: "nothing was changed") is asked again after the
        Retry-After it names."""
        async with self.gate:
            for attempt in range(5):
                try:
                    answer = await self.client.request(method, self.url(service, path), **kw)
                except httpx.TransportError as exc:
                    waited = isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.ConnectTimeout)
                    if attempt == 4 or waited:
                        raise
                    await asyncio.sleep(0.5 * (attempt + 1))
                    continue
                if answer.status_code != 503 or attempt == 4:
                    return answer
                await asyncio.sleep(_retry_after(answer))
        raise AssertionError("unreachable")

    async def each(self, tally: Tally, items: Iterable[Any], step: Callable[[Any], Awaitable[str]]) -> Tally:
        """Run `step` on every item, IN_FLIGHT at a time, counting outcomes and printing progress."""
        items = list(items)
        every = max(1, len(items) // 10)

        async def one(item: Any) -> None:
            tally.add(await step(item))
            finished = sum(tally.counts.values())
            if finished % every == 0:
                self.echo(f"  {tally.name}: {finished:,}/{len(items):,}")

        await asyncio.gather(*(one(item) for item in items))
        self.echo(tally.line())
        return tally

    # -- the phases ------------------------------------------------------------------------

    async def run(self) -> dict[str, Tally]:
        done: dict[str, Tally] = {}
        self.stack.set_today(SUBMITTED_ON)
        await self.standards_2021()
        await self.thresholds_2021()
        done["roster"] = await self.roster()
        # The caseload and the assessments need assistance's and eldercare's copies of the roster; monitoring's
        # (the slowest consumer of the roster: about 200 events/s, mostly waiting, at scale 1) catches up meanwhile.
        done["roster settled"] = await self.settle("the roster's events consumed", ("registry", *READS_ROSTER))
        done["assessments"], done["institutions"] = await asyncio.gather(self.assessments(), self.institutions())
        self.stack.set_today(CONFIRMED_ON)
        # Anything a partial earlier load left in the workflow is taken on by the single steps first.
        done["reviewed"] = await self.advance("submitted", "review", {"survey_notes": "入户调查: as declared"})
        done["confirmed"] = await self.advance("notice", "confirm", {})
        done["confirmed (no notice)"] = await self.advance("reviewed", "confirm", {})
        with_notice = [*self.applications("dibao"), *self.applications("tekun")]
        done["dibao and tekun"] = await self.take_on("dibao and tekun", with_notice, SUBMITTED_ON)
        # After them: the disability living subsidy sees the dibao and tekun cases just confirmed.
        without = [self.applications(p) for p in ("orphan", "disability_living", "disability_care")]
        done["orphan and disability"] = await self.take_on("orphan and disability", sum(without, []), CONFIRMED_ON)
        done["allowances"] = await self.discover()
        done["caught up"] = await self.settle("monitoring caught up")  # its lists are marked on its own records
        done["monitoring"] = await self.imports()
        done["settled"] = await self.settle("every event consumed")
        return done

    async def settle(self, name: str, services: tuple[str, ...] = SERVICES) -> Tally:
        """Wait until the outboxes of `services` are published and their consumers have caught up."""
        tally = self.tally(name)
        await asyncio.to_thread(self.stack.settle, SETTLE_TIMEOUT, 3.0, services)
        self.echo(tally.line())
        return tally

    async def standards_2021(self) -> None:
        """The seeded figures again, effective 2021-01-01, so the end-of-2021 caseload is assessed by them."""
        have = await self.call("GET", "assistance", "/v1/standards", params={"on": SUBMITTED_ON.isoformat()})
        if have.status_code == 200 and have.json()["items"]:
            return
        seeded = await self.call("GET", "assistance", "/v1/standards", params={"on": "2022-01-01"})
        seeded.raise_for_status()
        for item in seeded.json()["items"]:
            body = {
                "key": item["key"],
                "value": item["value"],
                "effective_from": STANDARDS_2021.isoformat(),
                "source": f"district generator: the 2022 figure taken for 2021 ({item['source']})"[:300],
            }
            answer = await self.call("POST", "assistance", "/v1/standards", json=body)
            if answer.status_code >= 400:
                raise RuntimeError(f"standard {item['key']}: {answer.status_code} {answer.text[:300]}")
        self.echo("standards: the 2022 figures entered effective 2021-01-01")

    async def thresholds_2021(self) -> None:
        """Monitoring's warning thresholds likewise from 2021-01-01: its fold of the 2021 events needs them."""
        rows = await self.call("GET", "monitoring", "/v1/settings/warnings")
        rows.raise_for_status()
        if not rows.json() or any(r["effective_from"] <= STANDARDS_2021.isoformat() for r in rows.json()):
            return
        first = rows.json()[0]
        body = {k: v for k, v in first.items() if k not in ("created_by", "created_at")}
        body |= {
            "effective_from": STANDARDS_2021.isoformat(),
            "source": f"district generator: the 2022 thresholds taken for 2021 ({first['source']})"[:500],
        }
        answer = await self.call("POST", "monitoring", "/v1/settings/warnings", json=body)
        if answer.status_code >= 400:
            raise RuntimeError(f"warning thresholds: {answer.status_code} {answer.text[:300]}")
        self.echo("monitoring: the 2022 warning thresholds entered effective 2021-01-01")

    async def roster(self) -> Tally:
        """Every resident as a household-register roster line, a batch per chunk of lines."""
        tally = self.tally("residents (roster)")
        persons = self.d.persons
        for start in range(0, len(persons), ROSTER_CHUNK):
            chunk = persons[start : start + ROSTER_CHUNK]
            body = "".join(json.dumps(roster_line(p), ensure_ascii=False) + "\n" for p in chunk).encode()
            answer = await self.call(
                "POST",
                "registry",
                "/v1/intake/batches",
                content=body,
                headers={"Content-Type": "application/x-ndjson"},
                params={"filename": f"district-{self.d.seed}-roster-{start // ROSTER_CHUNK + 1}.ndjson"},
                timeout=httpx.Timeout(BATCH_TIMEOUT, connect=10.0),
            )
            if answer.status_code >= 400:
                raise RuntimeError(f"roster batch: {answer.status_code} {answer.text[:300]}")
            batch = answer.json()
            for outcome in ("accepted", "duplicate", "rejected", "in_review"):
                tally.counts[outcome] += batch[outcome]
            self.echo(f"  residents: {start + len(chunk):,}/{len(persons):,} ({tally.counts['rejected']} rejected)")
        self.echo(tally.line())
        return tally

    async def assessments(self) -> Tally:
        """GB/T 42195 score sheets; a person with an assessment on file is not assessed again."""
        assessed = await self.listed("eldercare", "/v1/assessments", key="id_number")

        async def step(sheet: population.CapacityAssessment | Any) -> str:
            if sheet.id_number in assessed:
                return "on file"
            if self.d.person(sheet.id_number).age_on(SUBMITTED_ON) < population.ELDERLY_AGE:
                return "under 60: the ADL items of the tekun application only"
            body = {
                "id_number": sheet.id_number,
                "scores": dict(sheet.scores),
                "assessed_on": sheet.assessed_on.isoformat(),
                "dementia_or_mental_disorder": sheet.dementia,
            }
            return outcome(await self.call("POST", "eldercare", "/v1/assessments", json=body))

        return await self.each(self.tally("capacity assessments"), self.d.assessments, step)

    async def institutions(self) -> Tally:
        """The institutions by name (created once), their beds, and their residents admitted: the institutions
        side by side, each one's admissions in turn (each takes the first free bed)."""
        tally = self.tally("institutions and residents")
        on_file = {i["name"]: i for i in await self.pages("eldercare", "/v1/institutions")}
        await asyncio.gather(*(self.institution(inst, on_file.get(inst.name), tally) for inst in self.d.institutions))
        self.echo(tally.line())
        return tally

    async def institution(self, inst: Institution, found: dict[str, Any] | None, tally: Tally) -> None:
        if found is None:
            body = {"name": inst.name, "ownership": inst.ownership.value, "division": inst.division}
            answer = await self.call("POST", "eldercare", "/v1/institutions", json=body)
            answer.raise_for_status()
            found = answer.json()
            tally.add("institution created")
        missing = inst.beds - found["occupancy"]["beds"]
        start = found["occupancy"]["beds"]
        for first in range(0, max(0, missing), 1000):
            codes = [f"B{start + n + 1:04d}" for n in range(first, min(missing, first + 1000))]
            path = f"/v1/institutions/{found['institution_id']}/beds"
            (await self.call("POST", "eldercare", path, json={"codes": codes})).raise_for_status()
            tally.counts["beds added"] += len(codes)
        path = f"/v1/institutions/{found['institution_id']}/admissions"
        admitted = {a["id_number"] for a in await self.pages("eldercare", path)}
        for number in inst.residents:
            if number in admitted:
                tally.add("resident on file")
                continue
            body = {"id_number": number, "admitted_on": ADMITTED_ON.isoformat()}
            tally.add("admitted " + outcome(await self.call("POST", "eldercare", path, json=body)))

    def applications(self, program: str) -> list[dict[str, Any]]:
        if program == "dibao":
            return [dibao_application(self.d, h) for h in self.d.households_on(Program.DIBAO)]
        if program == "tekun":
            tekun = self.d.households_on(Program.TEKUN_DISPERSED, Program.TEKUN_CENTRALISED)
            return [tekun_application(self.d, h) for h in tekun]
        if program == "orphan":
            return [orphan_application(self.d, h) for h in self.d.households_on(Program.ORPHAN)]
        numbers = self.d.disability_living if program == "disability_living" else self.d.disability_care
        return [disability_application(self.d.person(n), program) for n in numbers]

    async def take_on(self, name: str, bodies: list[dict[str, Any]], submitted_on: date) -> Tally:
        """The applications through assistance's caseload path (`POST /v1/applications/batch`), a file per
        BATCH_LINES, BATCHES_IN_FLIGHT files at once: each submitted and reviewed on `submitted_on` and confirmed
        on CONFIRMED_ON (after the 7-day notice for dibao and tekun), assessed by the service's rules."""
        tally = self.tally(f"{name} applications")
        steps = {"submitted_on": submitted_on.isoformat(), "reviewed_on": submitted_on.isoformat()}
        steps |= {"confirmed_on": CONFIRMED_ON.isoformat(), "survey_notes": "入户调查: as declared"}
        files = [bodies[i : i + BATCH_LINES] for i in range(0, len(bodies), BATCH_LINES)]
        gate = asyncio.Semaphore(BATCHES_IN_FLIGHT)

        async def send(lines: list[dict[str, Any]]) -> None:
            body = "".join(json.dumps({"application": b, **steps}, ensure_ascii=False) + "\n" for b in lines)
            async with gate:
                answer = await self.call(
                    "POST",
                    "assistance",
                    "/v1/applications/batch",
                    content=body.encode(),
                    headers={"Content-Type": "application/x-ndjson"},
                    timeout=httpx.Timeout(BATCH_TIMEOUT, connect=10.0),
                )
            if answer.status_code != 200:
                raise RuntimeError(f"applications batch: {answer.status_code} {answer.text[:300]}")
            for line in answer.text.splitlines():
                tally.add(batch_outcome(json.loads(line)))
            self.echo(f"  {name}: {sum(tally.counts.values()):,}/{len(bodies):,}")

        await asyncio.gather(*(send(lines) for lines in files))
        self.echo(tally.line())
        return tally

    async def advance(self, status: str, action: str, body: dict[str, Any]) -> Tally:
        """Take `action` (review, confirm) on every application the service lists as `status`."""
        waiting = [a["id"] for a in await self.pages("assistance", "/v1/applications", {"status": status})]

        async def step(application_id: str) -> str:
            path = f"/v1/applications/{application_id}/{action}"
            return outcome(await self.call("POST", "assistance", path, json=body))

        return await self.each(self.tally(f"{action} ({status})"), waiting, step)

    async def discover(self) -> Tally:
        """Discovery as of 2022-01-01: the allowance brackets are in force from then (the first month paid)."""
        tally = self.tally("old-age allowances")
        answer = await self.call("POST", "eldercare", "/v1/allowances/discover", json={"as_of": "2022-01-01"})
        if answer.status_code == 200:
            for key in ("enrolled", "raised", "stopped"):
                tally.counts[key] += answer.json()[key]
        else:
            tally.add(outcome(answer))
        self.echo(tally.line())
        return tally

    async def imports(self) -> Tally:
        """The anti-poverty monitoring list and the marginal families, each list sent once under its reference."""
        tally = self.tally("monitoring lists")
        lists = {
            "anti_poverty_monitoring": [n for h in self.d.households if h.anti_poverty for n in h.members],
            "marginal": [n for h in self.d.households if h.marginal for n in h.members],
        }
        for kind, numbers in lists.items():
            body = "id_number\n" + "".join(f"{n}\n" for n in numbers)
            reference = f"district-{self.d.seed}-{self.d.scale:g}-{kind}"
            answer = await self.call(
                "POST",
                "monitoring",
                "/v1/imports",
                params={"kind": kind, "reference": reference},
                content=body.encode(),
                headers={"Content-Type": "text/csv"},
            )
            tally.counts[f"{kind} {outcome(answer)}"] += len(numbers)
        self.echo(tally.line())
        return tally

    # -- reading lists ---------------------------------------------------------------------

    async def pages(self, service: str, path: str, params: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """Every item of a paged list."""
        items: list[dict[str, Any]] = []
        while True:
            query = {**(params or {}), "limit": "200", "offset": str(len(items))}
            answer = await self.call("GET", service, path, params=query)
            answer.raise_for_status()
            page = answer.json()
            items += page["items"]
            if not page["items"] or len(items) >= page["total"]:
                return items

    async def listed(self, service: str, path: str, key: str) -> set[str]:
        return {item[key] for item in await self.pages(service, path)}


def batch_outcome(line: dict[str, Any]) -> str:
    """An answer line of the applications batch as a tally key: the application's status, or the refusal."""
    if line["status"] == 201:
        return str(line["application_status"])
    return f"{line['status']} {str(line.get('detail', ''))[:60]}"


def outcome(answer: httpx.Response) -> str:
    """A response as a tally key: the status code, with the first words of a refusal."""
    if answer.status_code < 300:
        return str(answer.status_code)
    try:
        detail = str(answer.json().get("detail", ""))
    except ValueError:
        detail = answer.text
    return f"{answer.status_code} {detail[:60]}"


# -- request bodies ------------------------------------------------------------------------------


def roster_line(p: Person) -> dict[str, str]:
    return {
        "type": "person",
        "id_number": p.id_number,
        "name": p.name,
        "hukou_division": p.hukou_division,
        "sex": p.sex,
        "household": p.household_key,
        "relation": p.relation,
        "reference": f"roster-{p.household_key}",
    }


def _money(amount: Decimal) -> str:
    return f"{amount:.2f}"


def member_body(p: Person, incomes: Iterable[Any] = (), employment_cost: Decimal = Decimal(0)) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id_number": p.id_number,
        "relation": REGISTRY_RELATION_TO_APPLICATION.get(p.relation, p.relation),
        "incomes": [{"kind": i.kind, "monthly_amount": _money(i.monthly_amount)} for i in incomes],
        "employment_cost": _money(employment_cost),
        "seriously_ill": p.seriously_ill,
        "labour_capacity": p.labour_capacity,
    }
    if p.disability:
        body["disability"] = {"grade": p.disability.grade, "kind": p.disability.kind}
    return body


def household_body(d: District, h: Household, program: str) -> dict[str, Any]:
    members = [
        member_body(d.person(n), f.incomes, f.employment_cost) for n, f in zip(h.members, h.finances, strict=True)
    ]
    return {
        "program": program,
        "members": members,
        "rigid_expenses": [
            {"member": e.member, "kind": e.kind, "monthly_amount": _money(e.monthly_amount)} for e in h.rigid_expenses
        ],
        "assets": {"financial": _money(h.assets.financial), "homes": h.assets.homes, "vehicles": h.assets.vehicles},
    }


def dibao_application(d: District, h: Household) -> dict[str, Any]:
    return household_body(d, h, "dibao")


def tekun_application(d: District, h: Household) -> dict[str, Any]:
    assert h.tekun is not None
    body = household_body(d, h, "tekun")
    body["tekun"] = {
        "supporter": h.tekun.supporter,
        "placement": h.tekun.placement,
        "adl_items_failed": h.tekun.adl_items_failed,
    }
    return body


def orphan_application(d: District, h: Household) -> dict[str, Any]:
    child = d.person(h.members[1])
    return {
        "program": "orphan",
        "members": [member_body(child)],
        "orphan": {"parents": ["dead", "dead"], "placement": "dispersed"},
    }


def disability_application(p: Person, program: str) -> dict[str, Any]:
    return {"program": program, "members": [member_body(p)]}


# -- the command ---------------------------------------------------------------------------------


def say(text: str) -> None:
    """Progress on stdout at once, also when it is a file or a pipe."""
    print(text, flush=True)


def run(*, seed: int, scale: float, directory: Path, echo: Callable[[str], None] = say) -> dict[str, Tally]:
    """`minzheng district generate`: generate, start the stack, load, print the counts beside the report's."""
    started = time.monotonic()
    district = population.generate(seed, scale)
    echo(
        f"generated seed {seed} at scale {scale:g}: {len(district.persons):,} residents, "
        f"{len(district.households):,} households ({time.monotonic() - started:.1f} s)"
    )
    with DistrictStack(directory.resolve()) as stack:
        echo(f"stack up in {directory} ({time.monotonic() - started:.1f} s); services: {stack.urls()}")
        done = asyncio.run(load(district, stack, echo))
        echo(summary(district, asyncio.run(counts(stack))))
    echo(f"generate took {time.monotonic() - started:.1f} s")
    return done


async def load(district: District, stack: DistrictStack, echo: Callable[[str], None] = print) -> dict[str, Tally]:
    loader = Loader(district, stack, echo)
    try:
        return await loader.run()
    finally:
        await loader.client.aclose()


async def counts(stack: DistrictStack) -> dict[str, Any]:
    """What the services hold after the load: monitoring's statistics and eldercare's occupancy."""
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {stack.token}"}, timeout=60) as client:
        stats = (await client.get(stack.url("monitoring") + "/v1/stats")).json()
        occupancy = (await client.get(stack.url("eldercare") + "/v1/institutions/occupancy")).json()
        cases: dict[str, int] = {}
        for program in ("dibao", "tekun", "orphan", "disability_living", "disability_care"):
            page = await client.get(stack.url("assistance") + "/v1/cases", params={"program": program, "limit": 1})
            cases[program] = page.json().get("total", 0) if page.status_code == 200 else -1
    return {"stats": stats, "occupancy": occupancy, "cases": cases}


def summary(d: District, held: dict[str, Any]) -> str:
    """The counts loaded beside the report's (scaled), and the monthly amounts the services computed."""
    t = d.targets
    cases = held["cases"]
    occ = held["occupancy"]
    amounts = held["stats"].get("monthly_amounts_by_program", {})
    rows = [
        ("dibao people", t.dibao_people, cases.get("dibao")),
        ("tekun people", t.tekun, cases.get("tekun")),
        ("orphans", t.orphans, cases.get("orphan")),
        ("disability living subsidy", t.disability_living, cases.get("disability_living")),
        ("disability care subsidy", t.disability_care, cases.get("disability_care")),
        ("institutions", t.institutions, occ.get("institutions")),
        ("beds", t.beds, occ.get("beds")),
        ("institution residents", t.institution_residents, occ.get("occupied")),
    ]
    lines = [f"{'':<28}{'report (scaled)':>16}{'loaded':>10}"]
    lines += [f"{name:<28}{want:>16,}{(got if got is not None else -1):>10,}" for name, want, got in rows]
    # dibao: the report's monthly average over ten months is 794.51 a person; the caseload loaded is paid a little
    # less (population.DIBAO_IN_FORCE_SHARE), since the year's new people and gradual exits add person-months.
    report_dibao = population.DIBAO_MONTHLY_TOTAL / population.DIBAO_PEOPLE
    tekun = Decimal("1065.02")
    monthly = {"dibao": (report_dibao, report_dibao * population.DIBAO_IN_FORCE_SHARE), "tekun": (tekun, tekun)}
    for program, (per_person, aimed) in monthly.items():
        total = Decimal(amounts.get(program, "0"))
        people = cases.get(program) or 0
        average = total / people if people else Decimal(0)
        lines.append(
            f"{program} monthly in force {total:,.2f}: {average:,.2f} a person"
            f" (aimed at {aimed:,.2f} at load for the report's {per_person:,.2f} over the ten months)"
        )
    return "\n".join(lines)
