"""Per-capita household income and proactive discovery (主动发现), through the running stack.

Partners report each member's own income; the household's per-capita income
is their sum over the living members, and it is what the income rule
(gradual exit due) and the marginal-family category judge. Leads name the
persons whose figures say a program may apply, and close when a case opens.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from tests.monitoring.test_dynamic_record import YESTERDAY, alerts, income, partner, record
from tests.support import Stack, eventually, new_id_number, produce, token


async def _registered(stack: Stack, division: str, *numbers: str) -> None:
    async with stack["registry"].client() as reg, stack["monitoring"].client() as m:
        for n in numbers:
            r = await reg.post("/v1/persons", json={"id_number": n, "name": "钱家人", "hukou_division": division})
            assert r.status_code == 201, r.text
        for n in numbers:
            await eventually(lambda n=n: record(m, n))


async def _per_capita(m: Any, n: str, amount: str | None) -> dict[str, Any] | None:  # noqa: ANN401
    rec = await record(m, n)
    return rec if rec and rec["per_capita_income"] == amount else None


async def _leads(m: Any, n: str, **params: str) -> list[dict[str, Any]]:  # noqa: ANN401
    r = await m.get("/v1/leads", params={"id_number": n, **params})
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def test_per_capita_income_is_the_household_s_and_drives_the_income_rule(stack: Stack) -> None:
    division = "340207005001"
    head, spouse, child = new_id_number(), new_id_number(), new_id_number(min_age=5, max_age=10)
    await _registered(stack, division, head, spouse, child)
    bootstrap = stack.infra.broker.bootstrap
    async with stack["registry"].client() as reg, stack["assistance"].client() as a, stack["monitoring"].client() as m:
        members = [{"id_number": head, "relation": "head"}, {"id_number": spouse, "relation": "spouse"},
                   {"id_number": child, "relation": "child"}]  # fmt: skip
        r = await reg.post("/v1/households", json={"hukou_division": division, "address": "钱村", "members": members})
        assert r.status_code == 201, r.text
        household = r.json()["household_id"]
        await eventually(lambda: _all_in(m, household, head, spouse, child))
        r = await a.post("/v1/cases", json={"id_number": head, "program": "dibao", "monthly_amount": "400.00"})
        assert r.status_code == 201, r.text
        await eventually(lambda: _on_dibao(m, head))

        await produce(bootstrap, "partner.income.v1", income(head, "1500.00"), key=head)
        rec = await eventually(lambda: _per_capita(m, head, "500.00"))  # 1500 over three members
        assert rec["monthly_income"] == "1500.00" and rec["programs"] == {"dibao": "active"}
        assert await _per_capita(m, child, "500.00")  # every member sees the household's figure
        assert await alerts(m, head, kind="income_above_standard") == []  # 500 is under the standard of 800

        await produce(bootstrap, "partner.income.v1", income(spouse, "1200.00"), key=spouse)
        await eventually(lambda: _per_capita(m, head, "900.00"))  # (1500 + 1200) / 3
        found = await eventually(lambda: alerts(m, head, kind="income_above_standard"))
        assert len(found) == 1 and "900.00" in found[0]["summary"]
        spouse_record = await record(m, spouse)
        assert spouse_record["categories"] == ["marginal"]  # no program: a marginal family by its income
        history = (await m.get(f"/v1/records/{rec['record_id']}/history")).json()
        assert any(h["event_type"] == "monitoring.household.income-recomputed" for h in history)

        await produce(bootstrap, "partner.income.v1", income(spouse, "0.00"), key=spouse)
        await eventually(lambda: _per_capita(m, head, "500.00"))
        closed = await eventually(lambda: alerts(m, head, kind="income_above_standard", status="resolved"))
        assert closed[0]["resolution"].startswith("auto: income fell below the standard")


async def _on_dibao(m: Any, n: str) -> bool:  # noqa: ANN401
    rec = await record(m, n)
    return rec is not None and rec["programs"].get("dibao") == "active"


async def _all_in(m: Any, household: str, *numbers: str) -> bool:  # noqa: ANN401
    records = [await record(m, n) for n in numbers]
    return all(rec and rec["household_id"] == household for rec in records)


async def test_leads_name_who_may_qualify_with_the_figures_and_close_when_a_case_opens(stack: Stack) -> None:
    division = "340207005002"
    poor, marginal = new_id_number(), new_id_number()
    await _registered(stack, division, poor, marginal)
    bootstrap = stack.infra.broker.bootstrap
    async with stack["assistance"].client() as a, stack["monitoring"].client() as m:
        await produce(bootstrap, "partner.income.v1", income(poor, "300.00"), key=poor)
        await produce(bootstrap, "partner.income.v1", income(marginal, "1000.00"), key=marginal)
        bill = {"id_number": marginal, "amount": "8000.00", "date": YESTERDAY, "reference": f"M-{marginal}"}
        await produce(bootstrap, "partner.medical-expenses.v1", partner("partner.medical-expense.reported", bill),
                      key=marginal)  # fmt: skip

        found = await eventually(lambda: _leads(m, poor, status="open"))
        assert [(x["reason"], x["program"]) for x in found] == [("income_below_standard", "dibao")]
        assert found[0]["figures"] == {"per_capita_income": "300.00", "dibao_standard": "800.00"}

        async def two_leads() -> list[dict[str, Any]] | None:
            leads = await _leads(m, marginal, status="open")
            return leads if len(leads) == 2 else None

        leads = {x["reason"]: x for x in await eventually(two_leads)}
        assert set(leads) == {"high_medical_expense", "marginal_uncovered"}
        assert leads["high_medical_expense"]["program"] == "temporary"
        assert leads["high_medical_expense"]["figures"]["medical_expense"] == "8000.00"
        assert (await record(m, marginal))["categories"] == ["marginal"]
        assert len(await alerts(m, marginal, kind="uncovered_need")) == 1

        caseworker = {"Authorization": f"Bearer {token(scopes='assistance:read assistance:write pii:read')}"}
        readable = await m.get("/v1/leads", params={"id_number": poor}, headers=caseworker)
        assert readable.status_code == 200 and readable.json()["items"][0]["id_number"] == poor
        nobody = {"Authorization": f"Bearer {token(scopes='eldercare:read')}"}
        assert (await m.get("/v1/leads", headers=nobody)).status_code == 403
        other_town = {"Authorization": f"Bearer {token(division='340207001')}"}
        assert (await m.get("/v1/leads", params={"id_number": poor}, headers=other_town)).json()["items"] == []

        r = await a.post("/v1/cases", json={"id_number": poor, "program": "dibao", "monthly_amount": "500.00"})
        assert r.status_code == 201, r.text
        closed = await eventually(lambda: _leads(m, poor, status="closed"))
        assert closed[0]["closed_reason"] == "a case opened: dibao" and await _leads(m, poor, status="open") == []

        r = await a.post("/v1/cases", json={"id_number": marginal, "program": "temporary", "monthly_amount": "800.00"})
        assert r.status_code == 201, r.text

        async def both_closed() -> list[dict[str, Any]] | None:
            leads = await _leads(m, marginal, status="closed")
            return leads if len(leads) == 2 else None

        for lead in await eventually(both_closed):
            assert lead["closed_reason"] == "a case opened: temporary"


async def test_a_lead_is_published_with_the_application_it_pre_fills_and_assistance_takes_it_as_is(
    stack: Stack,
) -> None:
    poor = new_id_number()
    await _registered(stack, "340207005003", poor)
    await produce(stack.infra.broker.bootstrap, "partner.income.v1", income(poor, "300.00"), key=poor)
    async with stack["assistance"].client() as a, stack["monitoring"].client() as m:
        (found,) = await eventually(lambda: _leads(m, poor, status="open"))
        draft = {"program": "dibao", "members": [{"id_number": poor, "relation": "self", "incomes": [
            {"kind": "wage", "monthly_amount": "300.00", "note": "reported by HR or tax"}]}]}  # fmt: skip
        one = await m.get(f"/v1/leads/{found['lead_id']}")
        assert one.status_code == 200 and one.json()["application"] == draft == found["application"], one.text
        other_town = {"Authorization": f"Bearer {token(division='340207001')}"}
        assert (await m.get(f"/v1/leads/{found['lead_id']}", headers=other_town)).status_code == 404

        sql = text("SELECT data FROM outbox WHERE type = 'monitoring.lead.raised' AND data ->> 'lead_id' = :id")
        async with stack["monitoring"].state.sessionmaker() as s:
            (event,) = (await s.execute(sql, {"id": found["lead_id"]})).scalars().all()
        assert event["application"] == draft and event["reason"] == "income_below_standard"
        assert event["person_id"] == found["person_id"]

        r = await a.post("/v1/applications", json=event["application"])  # as published: nothing retyped
        assert r.status_code == 201, r.text
        assert r.json()["program"] == "dibao" and r.json()["status"] == "submitted"
