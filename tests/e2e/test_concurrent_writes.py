"""The same write sent 8 times at once has one effect and gets the answers the sequential path gives.

One request wins (201); the others get what they would get one after the
other: the idempotent 200 of a duplicate, or a 409 problem. Never a 500, and
never a second row or a second event.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import date
from typing import Any

import httpx
from sqlalchemy import text

from shared import identity
from tests.support import RunningService, Stack, new_id_number

TIMES = 8


async def _at_once(service: RunningService, path: str, body: dict[str, Any]) -> list[httpx.Response]:
    # One client per request: separate connections, so the requests really overlap on the server.
    clients = [service.client() for _ in range(TIMES)]
    try:
        return await asyncio.gather(*(c.post(path, json=body) for c in clients))
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))


def _statuses(responses: list[httpx.Response]) -> Counter[int]:
    return Counter(r.status_code for r in responses)


def _one_created_the_rest(responses: list[httpx.Response], *, sequential: set[int]) -> None:
    statuses = _statuses(responses)
    assert statuses[201] == 1, [(r.status_code, r.text) for r in responses]
    assert set(statuses) - {201} <= sequential, [(r.status_code, r.text) for r in responses]
    for r in responses:
        if r.status_code == 409:
            assert r.headers["content-type"].startswith("application/problem+json"), r.text


async def _count(service: RunningService, sql: str, **params: Any) -> int:
    async with service.state.sessionmaker() as s:
        return (await s.execute(text(sql), params)).scalar_one()


async def _register(stack: Stack, n: str, division: str = "340207001001") -> None:
    async with stack["registry"].client() as c:
        r = await c.post("/v1/persons", json={"id_number": n, "name": "郑秀兰", "hukou_division": division})
        assert r.status_code == 201, r.text


async def test_the_same_person_registered_8_times_at_once(stack: Stack) -> None:
    n = new_id_number()
    body = {"id_number": n, "name": "郑秀兰", "hukou_division": "340207001001"}
    responses = await _at_once(stack["registry"], "/v1/persons", body)
    _one_created_the_rest(responses, sequential={409})
    registry = stack["registry"]
    assert await _count(registry, "SELECT count(*) FROM persons WHERE id_number = :n", n=n) == 1
    person_id = responses[[r.status_code for r in responses].index(201)].json()["person_id"]
    registered = "SELECT count(*) FROM outbox WHERE type = 'registry.person.registered' AND key = :k"
    assert await _count(registry, registered, k=person_id) == 1


async def test_the_same_death_report_8_times_at_once(stack: Stack) -> None:
    n = new_id_number()
    await _register(stack, n)
    body = {"id_number": n, "date_of_death": "2026-01-05", "source": "hospital", "reference": f"CON-{n}"}
    responses = await _at_once(stack["registry"], "/v1/deaths", body)
    _one_created_the_rest(responses, sequential={200, 409})
    for r in responses:
        if r.status_code == 200:
            assert r.json()["outcome"] == "duplicate", r.text
    registry = stack["registry"]
    reports = "SELECT count(*) FROM death_reports WHERE reference = :ref"
    assert await _count(registry, reports, ref=f"CON-{n}") == 1
    deaths = "SELECT count(*) FROM deaths d JOIN persons p ON p.id = d.person_id WHERE p.id_number = :n"
    assert await _count(registry, deaths, n=n) == 1
    died = (
        "SELECT count(*) FROM outbox o JOIN persons p ON o.key = p.id::text"
        " WHERE p.id_number = :n AND o.type = 'registry.person.died'"
    )
    assert await _count(registry, died, n=n) == 1


async def test_the_same_allowance_enrolment_8_times_at_once(stack: Stack) -> None:
    n = new_id_number(min_age=82, max_age=90)
    await _register(stack, n)
    responses = await _at_once(stack["eldercare"], "/v1/allowances", {"id_number": n})
    _one_created_the_rest(responses, sequential={409})
    eldercare = stack["eldercare"]
    assert await _count(eldercare, "SELECT count(*) FROM allowances WHERE id_number = :n", n=n) == 1
    enrolled = "SELECT count(*) FROM outbox o WHERE o.type = 'eldercare.allowance.enrolled' AND o.key = :k"
    person_id = responses[[r.status_code for r in responses].index(201)].json()["person_id"]
    assert await _count(eldercare, enrolled, k=person_id) == 1


async def test_the_same_case_enrolment_8_times_at_once(stack: Stack) -> None:
    n = new_id_number()
    await _register(stack, n)
    body = {"id_number": n, "program": "dibao", "monthly_amount": "780.00"}
    responses = await _at_once(stack["assistance"], "/v1/cases", body)
    _one_created_the_rest(responses, sequential={409})
    assistance = stack["assistance"]
    cases = "SELECT count(*) FROM cases WHERE id_number = :n AND program = 'dibao'"
    assert await _count(assistance, cases, n=n) == 1
    async with assistance.client() as c:
        again = await c.post("/v1/cases", json=body)  # and one after the other: the same answer
    assert again.status_code == 409 and again.headers["content-type"].startswith("application/problem+json"), again.text
    assert await _count(assistance, cases, n=n) == 1


async def test_the_same_marriage_8_times_at_once(stack: Stack) -> None:
    """No lock here: the unique certificate number decides, and the generic net answers the losers 409."""
    born = date(1990, random.randint(1, 12), random.randint(1, 28))
    a, b = (
        identity.make("340207", born, 2 * random.randint(0, 499) + 1),
        identity.make("340207", born, 2 * random.randint(0, 499)),
    )
    await _register(stack, a)
    await _register(stack, b)
    certificate = f"J{a[-8:]}{b[-4:]}"
    body = {
        "party_a": a,
        "party_b": b,
        "registered_on": "2025-05-20",
        "registration_division": "340207",
        "certificate_no": certificate,
    }
    responses = await _at_once(stack["registry"], "/v1/marriages", body)
    _one_created_the_rest(responses, sequential={200, 409})
    marriages = "SELECT count(*) FROM marriages WHERE certificate_no = :c"
    assert await _count(stack["registry"], marriages, c=certificate) == 1
