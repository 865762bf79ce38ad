"""Helpers of the payroll and reaction tests: a person with a case, a month of their own, lines read back."""

from __future__ import annotations

import itertools
import random
from typing import Any

import httpx

from tests.support import Stack, eventually, new_id_number

# Payrolls are one per month for the whole district: each test takes months no other test builds.
_MONTHS = itertools.count(random.Random().randrange(0, 12 * 400))


def fresh_month(base_year: int) -> str:
    """A month of its own, far ahead (a month may be built ahead), e.g. `2231-07`."""
    n = next(_MONTHS)
    return f"{base_year + n // 12 % 400:04d}-{n % 12 + 1:02d}"


async def person_with_case(
    stack: Stack, *, program: str = "dibao", amount: str = "780.00", division: str = "340207104001"
) -> dict[str, Any]:
    """A registered person with a migrated case (the amount on file); their identity number and person id."""
    n = new_id_number(min_age=40, max_age=75)
    async with stack["registry"].client() as reg, stack["assistance"].client() as c:
        r = await reg.post("/v1/persons", json={"id_number": n, "name": "李桂兰", "hukou_division": division})
        assert r.status_code == 201, r.text
        case = await c.post("/v1/cases", json={"id_number": n, "program": program, "monthly_amount": amount})
        assert case.status_code == 201, case.text
    return {"id_number": n, "person_id": r.json()["person_id"], "case_id": case.json()["case_id"]}


async def build(c: httpx.AsyncClient, month: str) -> httpx.Response:
    r = await c.post("/v1/payrolls", json={"month": month})
    assert r.status_code in (200, 201), r.text
    return r


async def lines_of(c: httpx.AsyncClient, payroll_id: str, id_number: str) -> list[dict[str, Any]]:
    r = await c.get(f"/v1/payrolls/{payroll_id}/lines", params={"id_number": id_number})
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def case_of(c: httpx.AsyncClient, id_number: str) -> dict[str, Any]:
    items = (await c.get("/v1/cases", params={"id_number": id_number})).json()["items"]
    assert len(items) == 1, items
    return items[0]


async def wait_case(c: httpx.AsyncClient, id_number: str, **expected: Any) -> dict[str, Any]:
    """The person's case once it shows what the events arriving should make of it."""

    async def shows() -> dict[str, Any] | None:
        case = await case_of(c, id_number)
        return case if all(case[k] == v for k, v in expected.items()) else None

    return await eventually(shows, timeout=10)
