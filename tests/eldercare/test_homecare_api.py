"""Home care: orders for guaranteed elders within the month's budget, delivery, settlement, cancellation on death."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import date

import pytest

from services.eldercare.care.homecare import cancel_open_orders, place_order
from services.eldercare.schemas import ServiceOrderIn
from shared.problems import Invalid
from tests.eldercare.helpers import fetch, register
from tests.support import Stack, eventually

MONTH = "2026-09"


def credit_code() -> str:
    return "91340207" + "".join(random.choice("0123456789ABCDEFGH") for _ in range(10))


async def guaranteed_elder(stack: Stack) -> str:
    """A 60+ resident with an active dibao case, known to eldercare through assistance's event."""
    id_number = await register(stack, min_age=66, max_age=75)
    async with stack["assistance"].client() as assistance, stack["eldercare"].client() as eldercare:
        r = await assistance.post(
            "/v1/cases", json={"id_number": id_number, "program": "dibao", "monthly_amount": "780.00"}
        )
        assert r.status_code == 201, r.text
        probe = await provider(stack)

        async def known() -> bool:
            r = await eldercare.post(
                "/v1/service-orders",
                json={
                    "id_number": id_number,
                    "provider_id": probe,
                    "service": "meals",
                    "scheduled_on": "2026-01-05",
                    "amount": "1.00",
                },
            )
            return r.status_code == 201

        await eventually(known, timeout=5)
    return id_number


async def provider(stack: Stack, services: list[str] | None = None) -> str:
    async with stack["eldercare"].client() as eldercare:
        body = {
            "name": f"鸠江居家养老服务中心-{uuid.uuid4().hex[:6]}",
            "credit_code": credit_code(),
            "services": services or ["meals", "cleaning", "bathing"],
        }
        r = await eldercare.post("/v1/providers", json=body)
        assert r.status_code == 201, r.text
        return r.json()["provider_id"]


async def test_orders_stay_within_the_budget_and_settle_once(stack: Stack) -> None:
    elder = await guaranteed_elder(stack)
    meals, cleaning = await provider(stack), await provider(stack, ["cleaning"])
    async with stack["eldercare"].client() as eldercare:

        async def order(provider_id: str, service: str, amount: str, on: str = f"{MONTH}-10") -> dict:
            r = await eldercare.post(
                "/v1/service-orders",
                json={
                    "id_number": elder,
                    "provider_id": provider_id,
                    "service": service,
                    "scheduled_on": on,
                    "amount": amount,
                },
            )
            return {**r.json(), "http": r.status_code}

        first = await order(meals, "meals", "80.00")
        assert first["http"] == 201 and (first["budget"], first["committed_in_month"]) == ("125.00", "80.00")
        assert (await order(cleaning, "meals", "10.00"))["errors"][0]["field"] == "service"
        refused = await order(cleaning, "cleaning", "50.00")
        assert refused["http"] == 422 and refused["errors"][0]["field"] == "amount"
        assert "125.00" in refused["detail"] and "45.00 left" in refused["detail"]
        second = await order(cleaning, "cleaning", "45.00")
        assert second["committed_in_month"] == "125.00"

        for o in (first, second):
            r = await eldercare.post(
                f"/v1/service-orders/{o['order_id']}/delivery",
                json={"started_at": f"{MONTH}-10T09:00:00+08:00", "ended_at": f"{MONTH}-10T10:00:00+08:00"},
            )
            assert r.status_code == 200 and r.json()["status"] == "delivered", r.text
        r = await eldercare.post(
            f"/v1/service-orders/{first['order_id']}/delivery",
            json={"started_at": f"{MONTH}-10T09:00:00+08:00", "ended_at": f"{MONTH}-10T10:00:00+08:00"},
        )
        assert r.status_code == 409

        r = await eldercare.post(f"/v1/providers/{meals}/settlements", json={"month": MONTH})
        assert r.status_code == 201 and (r.json()["total"], r.json()["orders"], r.json()["elders"]) == (
            "80.00",
            1,
            1,
        ), r.text
        again = await eldercare.post(f"/v1/providers/{meals}/settlements", json={"month": MONTH})
        assert again.status_code == 200 and again.json()["settlement_id"] == r.json()["settlement_id"]

    delivered = await fetch(
        stack,
        "SELECT envelope->'data'->>'amount' AS amount FROM outbox"
        " WHERE type = 'eldercare.service.delivered' AND envelope->'data'->>'id_number' = $1",
        elder,
    )
    assert sorted(d["amount"] for d in delivered) == ["45.00", "80.00"]


async def test_a_settlement_never_pays_past_the_budget(stack: Stack) -> None:
    """Were the budget lowered after orders were placed, the settlement refuses what no longer fits, with the reason."""
    elder = await guaranteed_elder(stack)
    meals = await provider(stack)
    async with stack["eldercare"].client() as eldercare:
        ids = []
        for amount, hour in (("60.00", 9), ("60.00", 11)):  # settled in delivery order: the later one is refused
            r = await eldercare.post(
                "/v1/service-orders",
                json={
                    "id_number": elder,
                    "provider_id": meals,
                    "service": "meals",
                    "scheduled_on": "2026-08-03",
                    "amount": amount,
                },
            )
            assert r.status_code == 201, r.text
            ids.append(r.json()["order_id"])
            r = await eldercare.post(
                f"/v1/service-orders/{ids[-1]}/delivery",
                json={
                    "started_at": f"2026-08-03T{hour:02d}:00:00+08:00",
                    "ended_at": f"2026-08-03T{hour:02d}:30:00+08:00",
                },
            )
            assert r.status_code == 200
        await fetch(
            stack,
            "INSERT INTO homecare_budgets (effective_from, monthly_amount, source)"
            " VALUES ('2026-08-01', 100.00, 'test: a lower budget') ON CONFLICT DO NOTHING",
        )
        try:
            r = await eldercare.post(f"/v1/providers/{meals}/settlements", json={"month": "2026-08"})
        finally:
            await fetch(stack, "DELETE FROM homecare_budgets WHERE effective_from = '2026-08-01'")
        body = r.json()
        assert r.status_code == 201 and body["total"] == "60.00" and body["orders"] == 1, r.text
        assert [x["order_id"] for x in body["refused"]] == [ids[1]] and "100.00" in body["refused"][0]["reason"]


async def test_someone_without_dibao_or_tekun_is_refused(stack: Stack) -> None:
    elder = await register(stack, min_age=70, max_age=80)
    meals = await provider(stack)
    async with stack["eldercare"].client() as eldercare:
        r = await eldercare.post(
            "/v1/service-orders",
            json={
                "id_number": elder,
                "provider_id": meals,
                "service": "meals",
                "scheduled_on": "2026-09-01",
                "amount": "10.00",
            },
        )
        assert r.status_code == 422 and "guaranteed" in r.json()["detail"]


async def test_cancel_open_orders_of_the_dead_in_one_statement(stack: Stack) -> None:
    elder = await guaranteed_elder(stack)
    meals = await provider(stack)
    async with stack["eldercare"].client() as eldercare:
        r = await eldercare.post(
            "/v1/service-orders",
            json={
                "id_number": elder,
                "provider_id": meals,
                "service": "meals",
                "scheduled_on": "2026-10-20",
                "amount": "20.00",
            },
        )
        order_id = r.json()["order_id"]
        person_id = uuid.UUID(r.json()["person_id"])
    sessionmaker = stack["eldercare"].state.sessionmaker
    async with sessionmaker() as session, session.begin():
        assert (
            await cancel_open_orders(session, [person_id, uuid.uuid4()], date(2026, 10, 12)) == 2
        )  # the probe's order and this one
    async with stack["eldercare"].client() as eldercare:
        o = (await eldercare.get(f"/v1/service-orders/{order_id}")).json()
        assert (o["status"], o["cancel_reason"], o["cancelled_on"]) == ("cancelled", "death", "2026-10-12")


async def test_two_orders_at_once_cannot_both_take_the_last_of_the_budget(stack: Stack) -> None:
    """The second order waits for the first to commit, then sees the budget spent (without the lock it would pass)."""
    elder = await guaranteed_elder(stack)
    meals = await provider(stack)
    body = ServiceOrderIn.model_validate(
        {"id_number": elder, "provider_id": meals, "service": "meals", "scheduled_on": "2026-07-07", "amount": "100.00"}
    )
    app = stack["eldercare"].state
    async with app.sessionmaker() as first, app.sessionmaker() as second:
        await place_order(first, app.settings, body)  # holds the elder's July budget, not yet committed

        async def place_second() -> None:
            await place_order(second, app.settings, body)
            await second.commit()

        racing = asyncio.create_task(place_second())
        await asyncio.sleep(0.5)
        assert not racing.done(), "the second order did not wait for the first"
        await first.commit()
        with pytest.raises(Invalid) as refused:
            await racing
        assert refused.value.field == "amount" and "100.00 already committed" in refused.value.detail
    async with stack["eldercare"].client() as eldercare:
        held = (await eldercare.get("/v1/service-orders", params={"id_number": elder, "month": "2026-07"})).json()
        assert [o["amount"] for o in held["items"]] == ["100.00"]
