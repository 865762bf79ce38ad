"""Eldercare at the district's scale: both insurance rosters, institutions' occupancy and a month of home care.

Run: `.venv/bin/python -m tests.eldercare.scale` (about a minute; starts a private PostgreSQL, broker and
eldercare service). The data set follows the bureau's 2022 report (POLICY.md): 104,438 elders of whom
19,685 are 79 or older (the 80+ roster, "79-80 included"); 3,290 guaranteed elders living at home (dibao or
dispersed tekun; the 60+ roster); 17 institutions (5 public, 12 private) with 2,110 beds and 854 residents,
60 of them centralised tekun. Persons and cases are loaded straight into eldercare's copy of the person index
and of the guarantee cases (what the registry's and assistance's events would have put there); everything
else goes through the HTTP API. The figures are printed beside the report's.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg
import httpx

from shared import identity, logs
from tests.support import start_infra, start_service, token

ELDERS, AGED_79, AT_HOME_GUARANTEED, CENTRALISED_TEKUN = 104_438, 19_685, 3_290, 60
INSTITUTIONS = [("public", 5), ("private", 12)]
BEDS, RESIDENTS = 2_110, 854
AS_OF = date(2026, 10, 31)
MONTH = "2026-10"
TOWNS = [
    "340207001",
    "340207002",
    "340207003",
    "340207004",
    "340207005",
    "340207101",
    "340207102",
    "340207103",
    "340207104",
]


def born(rng: random.Random, min_age: int, max_age: int) -> date:
    """A birth date giving an age in [min_age, max_age] on AS_OF (the year picked, then any day of it)."""
    year = AS_OF.year - rng.randint(min_age + 1, max_age + 1)
    return date.fromordinal(date(year, 1, 1).toordinal() + rng.randint(0, 364))


def people_rows(rng: random.Random) -> list[tuple]:
    """(person_id, id_number, name, sex, birth_date, hukou_division) of every elder; identity numbers unique."""
    rows, seen = [], set()
    for i in range(ELDERS):
        birth = born(rng, 79, 100) if i < AGED_79 else born(rng, 60, 77)
        seq = rng.randint(0, 999)
        while (id_number := identity.make("340207", birth, seq)) in seen:
            seq = (seq + 1) % 1000
        seen.add(id_number)
        division = f"{rng.choice(TOWNS)}{rng.randint(1, 20):03d}"
        rows.append((uuid.uuid4(), id_number, f"居民{i}", "M" if seq % 2 else "F", birth, division))
    return rows


async def load(dsn: str, people: list[tuple], guaranteed: list[tuple], tekun_centralised: list[tuple]) -> None:
    db = await asyncpg.connect(dsn)
    try:
        await db.copy_records_to_table(
            "people",
            records=[(*p, True, "alive") for p in people],
            columns=["person_id", "id_number", "name", "sex", "birth_date", "hukou_division", "in_district", "status"],
        )
        cases = [(uuid.uuid4(), p[0], program, "active", date(2022, 1, 1), p[5]) for p, program in guaranteed]
        cases += [(uuid.uuid4(), p[0], "tekun", "active", date(2022, 1, 1), p[5]) for p in tekun_centralised]
        await db.copy_records_to_table(
            "guarantees",
            records=cases,
            columns=["case_id", "person_id", "program", "status", "effective_date", "hukou_division"],
        )
    finally:
        await db.close()


API_ELDERS = 100
VISITS = (("meals", "75.00", 5), ("cleaning", "50.00", 19))  # 125 yuan: the whole monthly budget


def order_body(p: tuple, provider: str, service: str, amount: str, day: int) -> dict:
    return {
        "id_number": p[1],
        "provider_id": provider,
        "service": service,
        "scheduled_on": f"{MONTH}-{day:02d}",
        "amount": amount,
    }


def visit(order: dict) -> dict:
    return {
        "started_at": f"{order['scheduled_on']}T09:00:00+08:00",
        "ended_at": f"{order['scheduled_on']}T10:00:00+08:00",
    }


async def load_orders(dsn: str, guaranteed: list[tuple], providers: list[uuid.UUID]) -> None:
    """Delivered orders of the month for these elders, to the budget, at their town's provider."""
    records = []
    for p, _ in guaranteed:
        provider = providers[TOWNS.index(p[5][:9])]
        for service, amount, day in VISITS:
            on = date(AS_OF.year, AS_OF.month, day)
            at = datetime(on.year, on.month, on.day, 1, tzinfo=UTC)
            records.append(
                (
                    uuid.uuid4(),
                    p[0],
                    p[1],
                    p[5],
                    provider,
                    service,
                    on,
                    MONTH,
                    Decimal(amount),
                    "delivered",
                    at,
                    at + timedelta(hours=1),
                )
            )
    db = await asyncpg.connect(dsn)
    try:
        await db.copy_records_to_table(
            "service_orders",
            records=records,
            columns=[
                "id",
                "person_id",
                "id_number",
                "hukou_division",
                "provider_id",
                "service",
                "scheduled_on",
                "month",
                "amount",
                "status",
                "started_at",
                "ended_at",
            ],
        )
    finally:
        await db.close()


async def many(
    client: httpx.AsyncClient, calls: list[tuple[str, str, dict]], concurrency: int = 16
) -> list[httpx.Response]:
    sem = asyncio.Semaphore(concurrency)

    async def one(method: str, url: str, body: dict) -> httpx.Response:
        async with sem:
            r = await client.request(method, url, json=body)
            assert r.status_code in (200, 201), (url, r.status_code, r.text)
            return r

    return await asyncio.gather(*(one(*c) for c in calls))


async def main() -> None:
    logs.configure("scale", "WARNING", "json")
    rng = random.Random(2022)
    with tempfile.TemporaryDirectory() as tmp:
        infra = await start_infra(Path(tmp))
        svc = await start_service("eldercare", infra.settings("eldercare", log_level="WARNING"))
        try:
            await run(rng, infra.pg.url("eldercare").replace("postgresql+asyncpg://", "postgresql://"), svc)
        finally:
            await svc.stop()
            infra.broker.stop()
            infra.pg.stop()


async def run(rng: random.Random, dsn: str, svc) -> None:  # noqa: ANN001
    people = people_rows(rng)
    young = [p for p in people if p[4] > date(AS_OF.year - 79, AS_OF.month, AS_OF.day)]
    picked = rng.sample(young, AT_HOME_GUARANTEED + CENTRALISED_TEKUN + RESIDENTS)
    at_home = picked[:AT_HOME_GUARANTEED]
    centralised = picked[AT_HOME_GUARANTEED : AT_HOME_GUARANTEED + CENTRALISED_TEKUN]
    other_residents = picked[AT_HOME_GUARANTEED + CENTRALISED_TEKUN :][: RESIDENTS - CENTRALISED_TEKUN]
    guaranteed = [(p, "dibao" if i % 3 else "tekun") for i, p in enumerate(at_home)]
    started = time.perf_counter()
    await load(dsn, people, guaranteed, centralised)
    print(
        f"loaded {len(people):,} elders and {len(guaranteed) + len(centralised):,} cases"
        f" in {time.perf_counter() - started:.1f} s"
    )

    async with httpx.AsyncClient(base_url=svc.url, headers={"Authorization": f"Bearer {token()}"}, timeout=600) as api:
        # Institutions, beds, residents.
        started = time.perf_counter()
        beds_each = [BEDS // 17 + (1 if i < BEDS % 17 else 0) for i in range(17)]
        kinds = [k for k, n in INSTITUTIONS for _ in range(n)]
        institutions = []
        for i, (kind, beds) in enumerate(zip(kinds, beds_each, strict=True)):
            body = {"name": f"鸠江养老机构{i + 1:02d}", "ownership": kind, "division": TOWNS[i % len(TOWNS)]}
            inst = (await many(api, [("POST", "/v1/institutions", body)]))[0].json()["institution_id"]
            await many(
                api,
                [("POST", f"/v1/institutions/{inst}/beds", {"codes": [f"{i + 1:02d}-{b:03d}" for b in range(beds)]})],
            )
            institutions.append(inst)
        residents = centralised + other_residents
        await many(
            api,
            [
                (
                    "POST",
                    f"/v1/institutions/{institutions[i % 17]}/admissions",
                    {"id_number": p[1], "admitted_on": "2026-01-15"},
                )
                for i, p in enumerate(residents)
            ],
        )
        occupancy = (await api.get("/v1/institutions/occupancy")).json()
        print(
            f"institutions: {occupancy['institutions']} with {occupancy['beds']:,} beds,"
            f" {occupancy['occupied']} residents,"
            f" {occupancy['rate_percent']}% occupied (report: 17, 2,110 beds, about 854 residents)"
            f" [{len(residents)} admissions through the API in {time.perf_counter() - started:.1f} s]"
        )

        # A month of home care: one provider per town, each guaranteed elder at home served to the budget.
        started = time.perf_counter()
        providers = []
        for n, town in enumerate(TOWNS):
            body = {
                "name": f"{town}居家养老服务站",
                "credit_code": f"91340207{n:02d}ABCDEF{n:02d}",
                "services": ["meals", "cleaning", "bathing", "medical_care", "mobility_help", "emergency_call"],
            }
            providers.append((await many(api, [("POST", "/v1/providers", body)]))[0].json()["provider_id"])
        # The first elders' orders go through the API (placed, then delivered) and show its rate; the rest
        # are loaded as delivered orders (what the providers' apps would have recorded).
        through_api, loaded = guaranteed[:API_ELDERS], guaranteed[API_ELDERS:]
        orders = [
            ("POST", "/v1/service-orders", order_body(p, providers[TOWNS.index(p[5][:9])], service, amount, day))
            for p, _ in through_api
            for service, amount, day in VISITS
        ]
        t = time.perf_counter()
        placed = await many(api, orders)
        place_s = time.perf_counter() - t
        over = await api.post("/v1/service-orders", json={**orders[0][2], "amount": "0.01"})
        t = time.perf_counter()
        await many(
            api, [("POST", f"/v1/service-orders/{r.json()['order_id']}/delivery", visit(r.json())) for r in placed]
        )
        deliver_s = time.perf_counter() - t
        print(
            f"home care through the API: {len(placed)} orders in {place_s:.1f} s ({len(placed) / place_s:.0f}/s),"
            f" {len(placed)} deliveries in {deliver_s:.1f} s ({len(placed) / deliver_s:.0f}/s), 16 at a time;"
            f" one fen more for an elder at the budget: {over.status_code}"
        )
        await load_orders(dsn, loaded, [uuid.UUID(p) for p in providers])
        started = time.perf_counter()
        settlements = await many(api, [("POST", f"/v1/providers/{p}/settlements", {"month": MONTH}) for p in providers])
        total = sum(Decimal(s.json()["total"]) for s in settlements)
        served = sum(s.json()["elders"] for s in settlements)
        print(
            f"home care {MONTH}: {sum(x.json()['orders'] for x in settlements):,} orders"
            f" for {served:,} elders settled {total:,} yuan"
            f" (x12 = {total * 12:,}; report: 3,350 people, about 5 million yuan a year);"
            f" [{len(providers)} settlements in {time.perf_counter() - started:.1f} s]"
        )

        # Both rosters, JSON (counts and totals) and CSV (every entry, audited).
        started = time.perf_counter()
        rosters = (await api.get("/v1/rosters/insurance", params={"as_of": AS_OF.isoformat(), "limit": 0})).json()
        json_s = time.perf_counter() - started
        started = time.perf_counter()
        csv_answer = await api.get("/v1/rosters/insurance", params={"as_of": AS_OF.isoformat(), "format": "csv"})
        csv_s = time.perf_counter() - started
        for r in rosters["rosters"]:
            print(f"roster {r['code']}: {r['insured']:,} insured x {r['annual_premium']} = {r['premium_total']} yuan")
        print("  (report: 60+ dibao/dispersed tekun 3,290 people, 131,600 yuan; 80+ 19,685 insured)")
        print(
            f"rosters premium total {rosters['premium_total']} yuan; JSON in {json_s:.2f} s,"
            f" CSV of {csv_answer.text.count(chr(10)) - 1:,} lines ({len(csv_answer.content) / 1e6:.1f} MB)"
            f" in {csv_s:.2f} s"
        )
    print("command: .venv/bin/python -m tests.eldercare.scale")


if __name__ == "__main__":
    asyncio.run(main())
