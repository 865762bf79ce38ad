"""The flow that matters most: a death reported once reaches every service, once."""

from __future__ import annotations

from datetime import date, timedelta

from tests.support import Stack, eventually, new_id_number, partner_death, produce


async def test_death_reported_twice_reaches_every_service_once(stack: Stack) -> None:
    id_number = new_id_number(min_age=82, max_age=88)
    registry, assistance, eldercare, monitoring = (
        stack[s].client() for s in ("registry", "assistance", "eldercare", "monitoring")
    )
    async with registry, assistance, eldercare, monitoring:
        r = await registry.post(
            "/v1/persons", json={"id_number": id_number, "name": "王秀英", "hukou_division": "340207003001"}
        )
        assert r.status_code == 201, r.text
        person_id = r.json()["person_id"]
        r = await assistance.post(
            "/v1/cases", json={"id_number": id_number, "program": "dibao", "monthly_amount": "780.00"}
        )
        assert r.status_code == 201, r.text
        r = await eldercare.post("/v1/allowances", json={"id_number": id_number})
        assert r.status_code == 201, r.text
        assert r.json()["monthly_amount"] == "30.00"

        async def monitoring_knows_benefits() -> bool:
            rec = (await monitoring.get("/v1/records", params={"id_number": id_number})).json()["items"]
            return bool(rec) and rec[0]["programs"] == {"dibao": "active", "old_age_allowance": "active"}

        await eventually(monitoring_knows_benefits)

        died = (date.today() - timedelta(days=2)).isoformat()
        await produce(
            stack.infra.broker.bootstrap,
            "partner.deaths.v1",
            partner_death(id_number, died, "hospital"),
            key="hospital-1",
        )
        r = await registry.post(
            "/v1/deaths",
            json={"id_number": id_number, "date_of_death": died, "source": "funeral_home", "reference": "FH-2026-001"},
        )
        assert r.status_code in (200, 201), r.text

        async def all_effects() -> bool:
            case = (await assistance.get("/v1/cases", params={"id_number": id_number})).json()["items"]
            allowance = (await eldercare.get("/v1/allowances", params={"id_number": id_number})).json()["items"]
            record = (await monitoring.get("/v1/records", params={"id_number": id_number})).json()["items"]
            alerts = (await monitoring.get("/v1/alerts", params={"id_number": id_number})).json()["items"]
            return (
                # Two sources confirm the death: the case is terminated (a first report alone suspends it).
                case[0]["status"] == "terminated"
                and allowance[0]["status"] == "stopped"
                and record[0]["status"] == "deceased"
                and len(alerts) == 1
                and alerts[0]["benefits"] == ["dibao", "old_age_allowance"]
            )

        await eventually(all_effects, timeout=2.0)

        # The second report confirmed the death; nothing happened twice.
        person = (await registry.get(f"/v1/persons/{person_id}")).json()
        assert person["status"] == "deceased"
        await eventually(lambda: _death_confirmed(registry, id_number, died), timeout=3)
        cases = (await assistance.get("/v1/cases", params={"id_number": id_number})).json()["items"]
        assert len(cases) == 1 and cases[0]["status_reason"] == "death" and cases[0]["status_changed_on"] == died
        alerts = (await monitoring.get("/v1/alerts", params={"id_number": id_number})).json()["items"]
        assert len(alerts) == 1 and alerts[0]["kind"] == "beneficiary_died" and alerts[0]["status"] == "open"


async def _death_confirmed(registry, id_number: str, died: str) -> bool:  # noqa: ANN001
    # Reporting the funeral home's record again is a duplicate that shows the death's state.
    r = await registry.post(
        "/v1/deaths",
        json={"id_number": id_number, "date_of_death": died, "source": "funeral_home", "reference": "FH-2026-001"},
    )
    body = r.json()
    return (
        body["outcome"] == "duplicate"
        and body["status"] == "confirmed"
        and body["sources"] == ["funeral_home", "hospital"]
    )
