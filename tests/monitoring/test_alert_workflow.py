"""A caseworker takes the beneficiary_died alert, follows it up and resolves it."""

from __future__ import annotations

from datetime import date, timedelta

from tests.support import Stack, eventually, new_id_number, token


async def test_death_alert_is_assigned_and_resolved_once(stack: Stack) -> None:
    n = new_id_number()
    async with stack["registry"].client() as reg, stack["assistance"].client() as a, stack["monitoring"].client() as m:
        assert (
            await reg.post("/v1/persons", json={"id_number": n, "name": "马淑珍", "hukou_division": "340207002001"})
        ).status_code == 201
        assert (
            await a.post("/v1/cases", json={"id_number": n, "program": "dibao", "monthly_amount": "500.00"})
        ).status_code == 201
        died = (date.today() - timedelta(days=5)).isoformat()
        r = await reg.post(
            "/v1/deaths", json={"id_number": n, "date_of_death": died, "source": "hospital", "reference": f"AL-{n}"}
        )
        assert r.status_code == 201

        async def the_alert() -> dict | None:
            items = (await m.get("/v1/alerts", params={"id_number": n})).json()["items"]
            return items[0] if items else None

        alert = await eventually(the_alert)
        other_town = {"Authorization": f"Bearer {token(division='340207104')}"}
        assert (
            await m.post(f"/v1/alerts/{alert['alert_id']}/assign", json={"assignee": "x"}, headers=other_town)
        ).status_code == 404
        read_only = {"Authorization": f"Bearer {token(scopes='monitoring:read')}"}
        assert (
            await m.post(f"/v1/alerts/{alert['alert_id']}/assign", json={"assignee": "x"}, headers=read_only)
        ).status_code == 403
        r = await m.post(f"/v1/alerts/{alert['alert_id']}/assign", json={"assignee": "caseworker-li"})
        assert r.status_code == 200 and r.json()["status"] == "assigned" and r.json()["assignee"] == "caseworker-li"
        r = await m.post(f"/v1/alerts/{alert['alert_id']}/resolve", json={"resolution": ""})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "resolution"
        r = await m.post(
            f"/v1/alerts/{alert['alert_id']}/resolve", json={"resolution": "no payment after the death; case closed"}
        )
        assert r.status_code == 200 and r.json()["status"] == "resolved" and r.json()["resolved_at"]
        assert (
            await m.post(f"/v1/alerts/{alert['alert_id']}/resolve", json={"resolution": "again"})
        ).status_code == 409
        assert (await m.get("/v1/alerts", params={"id_number": n, "status": "resolved"})).json()["total"] == 1
