"""The allowance payroll: one payroll per month under concurrent builds, each allowance paid once, the bank file."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import date

from tests.eldercare.helpers import fetch
from tests.eldercare.test_allowance_discovery import discover, resident
from tests.support import Stack

MONTH = "2027-02"  # a month no other test builds


async def test_eight_builds_of_one_month_give_one_payroll_paying_each_allowance_once(stack: Stack) -> None:
    number = await resident(stack, date(1938, 1, 20))
    await discover(stack, "2027-01-05")
    async with stack["eldercare"].client() as c:
        answers = await asyncio.gather(*(c.post("/v1/payrolls", json={"month": MONTH}) for _ in range(8)))
        assert sorted(r.status_code for r in answers) == [200] * 7 + [201], [r.text for r in answers]
        assert len({r.json()["id"] for r in answers}) == 1
        payroll = answers[0].json()["id"]
        lines = (await c.get(f"/v1/payrolls/{payroll}/lines", params={"id_number": number})).json()["items"]
        assert [(x["month"], x["amount"], x["status"]) for x in lines] == [(MONTH, "30.00", "paid")]
        export = await c.get(f"/v1/payrolls/{payroll}/export")
        assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    rows = [r for r in csv.DictReader(io.StringIO(export.text)) if r["id_number"] == number]
    assert [(r["month"], r["amount"], r["program"]) for r in rows] == [(MONTH, "30.00", "old_age_allowance")]
    issued = await fetch(
        stack,
        "SELECT count(*) AS n FROM outbox WHERE type = 'eldercare.payment.issued' "
        "AND envelope->'data'->>'id_number' = $1 AND envelope->'data'->>'month' = $2",
        number,
        MONTH,
    )
    assert issued[0]["n"] == 1


async def test_a_town_cannot_build_a_payroll_or_run_discovery(stack: Stack) -> None:
    from tests.support import token

    town = {"Authorization": f"Bearer {token(division='340207003')}"}
    async with stack["eldercare"].client() as c:
        r = await c.post("/v1/payrolls", json={"month": "2027-03"}, headers=town)
        assert r.status_code == 404, r.text
        r = await c.post("/v1/allowances/discover", json={"as_of": "2027-03-01"}, headers=town)
        assert r.status_code == 404, r.text
