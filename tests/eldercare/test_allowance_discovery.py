"""The old-age allowance found without asking, on real PostgreSQL and the broker.

Each test works in months no other test builds a payroll for, and judges only
its own residents (discovery and payrolls are district-wide).
"""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Any

from services.eldercare.care.rosters import born_by
from shared import identity
from tests.eldercare.helpers import fetch
from tests.support import Stack, eventually

DIVISION = "340207003001"


async def resident(stack: Stack, born: date, division: str = DIVISION) -> str:
    """A resident born on `born`, registered in the registry and known to eldercare; returns the identity number."""
    number = identity.make("340207", born, uuid.uuid4().int % 1000)
    async with stack["registry"].client() as registry:
        r = await registry.post("/v1/persons", json={"id_number": number, "name": "王秀英", "hukou_division": division})
        assert r.status_code == 201, r.text

    async def known() -> bool:
        return bool(await fetch(stack, "SELECT 1 FROM people WHERE id_number = $1", number))

    await eventually(known, timeout=10)
    return number


async def allowance(stack: Stack, number: str) -> dict[str, Any] | None:
    async with stack["eldercare"].client() as c:
        items = (await c.get("/v1/allowances", params={"id_number": number})).json()["items"]
    assert len(items) <= 1
    return items[0] if items else None


async def discover(stack: Stack, as_of: str) -> dict[str, Any]:
    async with stack["eldercare"].client() as c:
        r = await c.post("/v1/allowances/discover", json={"as_of": as_of})
    assert r.status_code == 200, r.text
    return r.json()


async def paid(stack: Stack, month: str, number: str) -> list[tuple[str, str, str, str | None]]:
    """The person's lines in the month's payroll (built if not yet): (month paid for, amount, status, reason code)."""
    async with stack["eldercare"].client() as c:
        r = await c.post("/v1/payrolls", json={"month": month})
        assert r.status_code in (200, 201), r.text
        items = (await c.get(f"/v1/payrolls/{r.json()['id']}/lines", params={"id_number": number})).json()["items"]
    return [(i["month"], i["amount"], i["status"], i["reason_code"]) for i in items]


async def events(stack: Stack, type_: str, number: str) -> int:
    rows = await fetch(
        stack, "SELECT count(*) AS n FROM outbox WHERE type = $1 AND envelope->'data'->>'id_number' = $2", type_, number
    )
    return int(rows[0]["n"])


async def test_turning_80_enrols_once_by_the_event_and_discovery(stack: Stack) -> None:
    today = date.today()
    number = await resident(stack, born_by(today, 80))  # 80 today
    assert await allowance(stack, number) is None
    async with stack["registry"].client() as registry:
        r = await registry.post("/v1/milestones/run", json={"as_of": today.isoformat()})
        assert r.status_code == 200, r.text

    async def enrolled() -> dict[str, Any] | None:
        a = await allowance(stack, number)
        return a if a and a["status"] == "active" else None

    a = await eventually(enrolled, timeout=10)
    assert a["monthly_amount"] == "30.00"
    await discover(stack, today.isoformat())
    again = await discover(stack, today.isoformat())
    assert (again["enrolled"], again["raised"], again["stopped"]) == (0, 0, 0), again  # a second run changes nothing
    assert (await allowance(stack, number))["allowance_id"] == a["allowance_id"]  # type: ignore[index]
    assert await events(stack, "eldercare.allowance.enrolled", number) == 1


async def test_discovery_enrols_the_missed_and_raises_at_90_and_100_from_the_month_after(stack: Stack) -> None:
    nonagenarian = await resident(stack, date(1940, 5, 15))  # 90 on 2030-05-15
    centenarian = await resident(stack, date(1930, 8, 10))  # 100 on 2030-08-10
    young = await resident(stack, date(1951, 6, 1))  # 79 on 2030-05-20: not yet
    counts = await discover(stack, "2030-05-20")
    assert counts["enrolled"] >= 2
    assert (await allowance(stack, nonagenarian))["monthly_amount"] == "30.00"  # type: ignore[index]
    assert (await allowance(stack, centenarian))["monthly_amount"] == "100.00"  # type: ignore[index]
    assert await allowance(stack, young) is None
    counts = await discover(stack, "2030-06-01")
    assert counts["raised"] >= 1
    assert (await allowance(stack, nonagenarian))["monthly_amount"] == "100.00"  # type: ignore[index]
    [changed] = await fetch(
        stack,
        "SELECT envelope->'data' AS data FROM outbox WHERE type = 'eldercare.allowance.changed'"
        " AND envelope->'data'->>'id_number' = $1",
        nonagenarian,
    )
    data = json.loads(changed["data"])
    assert (data["monthly_amount"], data["effective_date"], data["status"]) == ("100.00", "2030-06-01", "active")
    await discover(stack, "2030-06-02")  # raised once: a later run announces nothing more
    assert await events(stack, "eldercare.allowance.changed", nonagenarian) == 1

    assert await paid(stack, "2030-05", nonagenarian) == [("2030-05", "30.00", "paid", None)]
    assert await paid(stack, "2030-06", nonagenarian) == [("2030-06", "100.00", "paid", None)]
    assert await paid(stack, "2030-08", centenarian) == [("2030-08", "100.00", "paid", None)]
    assert await paid(stack, "2030-09", centenarian) == [("2030-09", "500.00", "paid", None)]


async def test_born_on_29_february_turns_90_on_1_march_in_a_common_year(stack: Stack) -> None:
    """Rule: a 29 February birthday counts from 1 March in a common year; the bracket rises the month after."""
    number = await resident(stack, date(1944, 2, 29))  # 90 on 2034-03-01 (2034 has no 29 February)
    await discover(stack, "2034-02-28")
    assert (await allowance(stack, number))["monthly_amount"] == "30.00"  # type: ignore[index]
    await discover(stack, "2034-03-31")
    assert (await allowance(stack, number))["monthly_amount"] == "30.00"  # type: ignore[index]  # birthday month
    await discover(stack, "2034-04-01")
    assert (await allowance(stack, number))["monthly_amount"] == "100.00"  # type: ignore[index]
    assert await paid(stack, "2034-03", number) == [("2034-03", "30.00", "paid", None)]
    assert await paid(stack, "2034-04", number) == [("2034-04", "100.00", "paid", None)]


async def test_death_mid_month_is_paid_to_its_end_then_withheld_and_overpaid_months_recorded(stack: Stack) -> None:
    number = await resident(stack, date(1940, 6, 1))
    await discover(stack, "2025-01-02")
    for month in ("2025-02", "2025-03", "2025-04"):  # built before anyone knew of the death
        assert await paid(stack, month, number) == [(month, "30.00", "paid", None)]
    async with stack["registry"].client() as registry:
        death = {"id_number": number, "date_of_death": "2025-03-15", "source": "hospital", "reference": f"H-{number}"}
        r = await registry.post("/v1/deaths", json=death)
        assert r.status_code in (200, 201), r.text

    async def stopped() -> bool:
        a = await allowance(stack, number)
        return bool(a and (a["status"], a["stop_reason"], a["stopped_on"]) == ("stopped", "death", "2025-03-15"))

    await eventually(stopped, timeout=10)
    assert await paid(stack, "2025-05", number) == [("2025-05", "30.00", "withheld", "death_in_review")]
    async with stack["registry"].client() as registry:
        second = {**death, "source": "funeral_home", "reference": f"F-{number}"}
        r = await registry.post("/v1/deaths", json=second)
        assert r.status_code in (200, 201), r.text

    async def overpaid() -> list[dict[str, Any]]:
        async with stack["eldercare"].client() as c:
            return (await c.get("/v1/overpayments", params={"id_number": number})).json()["items"]

    [o] = await eventually(overpaid, timeout=10)
    assert (o["amount"], o["months"], o["status"]) == ("30.00", ["2025-04"], "open")  # March is owed: died mid-month
    assert await events(stack, "eldercare.overpayment.detected", number) == 1
    assert await paid(stack, "2025-06", number) == []  # confirmed: nothing after
    async with stack["eldercare"].client() as c:
        r = await c.post(f"/v1/overpayments/{o['id']}/recover", json={"note": "refunded by the family"})
        assert r.status_code == 200 and r.json()["status"] == "recovered", r.text
        r = await c.post(f"/v1/overpayments/{o['id']}/write-off", json={})
        assert r.status_code == 409, r.text


async def test_a_move_out_stops_the_allowance_at_the_end_of_its_month(stack: Stack) -> None:
    number = await resident(stack, date(1941, 1, 1))
    await discover(stack, "2024-01-05")
    async with stack["registry"].client() as registry:
        move = {
            "id_number": number,
            "kind": "move_out",
            "from_division": DIVISION,
            "to_division": "340202",
            "effective_date": "2024-03-12",
            "reference": f"M-{number}",
        }
        r = await registry.post("/v1/hukou-changes", json=move)
        assert r.status_code in (200, 201), r.text

    async def stopped() -> bool:
        a = await allowance(stack, number)
        return bool(a and (a["status"], a["stop_reason"], a["stopped_on"]) == ("stopped", "moved_out", "2024-03-31"))

    await eventually(stopped, timeout=10)
    assert await paid(stack, "2024-03", number) == [("2024-03", "30.00", "paid", None)]
    assert await paid(stack, "2024-04", number) == []
    counts = await discover(stack, "2024-04-02")  # not eligible any more: not enrolled again
    assert (await allowance(stack, number))["status"] == "stopped", counts  # type: ignore[index]
