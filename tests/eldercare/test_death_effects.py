"""A death reported to the registry discharges the resident from the institution and cancels open home-care orders."""

from __future__ import annotations

from datetime import date, timedelta

from tests.eldercare.test_homecare_api import guaranteed_elder, provider
from tests.eldercare.test_institutions_api import new_institution
from tests.support import Stack, eventually


async def test_a_death_discharges_and_cancels_open_orders(stack: Stack) -> None:
    resident = await guaranteed_elder(stack)  # on dibao, in an institution, with a home-care order still open
    institution = await new_institution(stack, ["H-1"])
    meals = await provider(stack)
    died = (date.today() - timedelta(days=3)).isoformat()
    async with stack["eldercare"].client() as eldercare, stack["registry"].client() as registry:
        r = await eldercare.post(
            f"/v1/institutions/{institution}/admissions", json={"id_number": resident, "admitted_on": "2026-01-02"}
        )
        assert r.status_code == 201, r.text
        body = {
            "id_number": resident,
            "provider_id": meals,
            "service": "meals",
            "scheduled_on": died,
            "amount": "10.00",
        }
        order = (await eldercare.post("/v1/service-orders", json=body)).json()["order_id"]

        r = await registry.post(
            "/v1/deaths", json={"id_number": resident, "date_of_death": died, "source": "hospital", "reference": "H-77"}
        )
        assert r.status_code in (200, 201), r.text

        async def effects() -> bool:
            stays = (await eldercare.get(f"/v1/institutions/{institution}/admissions", params={"state": "all"})).json()
            o = (await eldercare.get(f"/v1/service-orders/{order}")).json()
            stay = stays["items"][0]
            return (stay["discharged_on"], stay["discharge_reason"], o["status"]) == (died, "death", "cancelled")

        await eventually(effects, timeout=5)
        occupancy = (await eldercare.get(f"/v1/institutions/{institution}")).json()["occupancy"]
        assert occupancy["free"] == 1
