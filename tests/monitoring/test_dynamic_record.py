"""The dynamic record and its warnings, through the running stack (real PostgreSQL and broker).

Each test drives the services as staff and partners would: the registry's
deaths and hukou changes, assistance's cases, partners' reports on their
topics, staff imports; then reads monitoring's records and alerts.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from tests.support import Stack, eventually, new_id_number, produce, token

YESTERDAY = (date.today() - timedelta(days=1)).isoformat()


def partner(type_: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/partners/test", "type": type_,
            "datacontenttype": "application/json", "data": data}  # fmt: skip


def income(n: str, amount: str) -> dict[str, Any]:
    data = {"id_number": n, "monthly_amount": amount, "period": "2026-10", "reference": f"I-{uuid.uuid4().hex[:8]}"}
    return partner("partner.income.reported", data)


async def alerts(m: Any, n: str, **params: str) -> list[dict[str, Any]]:  # noqa: ANN401
    return (await m.get("/v1/alerts", params={"id_number": n, **params})).json()["items"]


async def record(m: Any, n: str) -> dict[str, Any] | None:  # noqa: ANN401
    items = (await m.get("/v1/records", params={"id_number": n})).json()["items"]
    return items[0] if items else None


async def person_on_dibao(stack: Stack, n: str, division: str = "340207002001") -> str:
    async with stack["registry"].client() as reg, stack["assistance"].client() as a, stack["monitoring"].client() as m:
        r = await reg.post("/v1/persons", json={"id_number": n, "name": "刘桂兰", "hukou_division": division})
        assert r.status_code == 201, r.text
        r = await a.post("/v1/cases", json={"id_number": n, "program": "dibao", "monthly_amount": "500.00"})
        assert r.status_code == 201, r.text

        async def on_dibao() -> bool:
            rec = await record(m, n)
            return bool(rec) and rec["programs"].get("dibao") == "active"

        await eventually(on_dibao)
        return r.json()["person_id"] if "person_id" in r.json() else ""


async def test_a_revoked_death_restores_the_record_and_closes_the_alert_with_the_reason(stack: Stack) -> None:
    n = new_id_number()
    await person_on_dibao(stack, n)
    async with stack["registry"].client() as reg, stack["monitoring"].client() as m:
        r = await reg.post(
            "/v1/deaths",
            json={"id_number": n, "date_of_death": YESTERDAY, "source": "hospital", "reference": f"RV-{n}"},
        )
        death_id = r.json()["death_id"]

        async def dead() -> bool:
            rec, open_ = await record(m, n), await alerts(m, n, kind="beneficiary_died", status="open")
            return rec is not None and rec["status"] == "deceased" and len(open_) == 1

        await eventually(dead)
        r = await reg.post(f"/v1/deaths/{death_id}/revoke", json={"reason": "wrong identity number"})
        assert r.status_code == 200, r.text

        async def restored() -> bool:
            rec = await record(m, n)
            return (
                rec is not None
                and rec["status"] == "active"
                and rec["date_of_death"] is None
                and rec["programs"] == {"dibao": "active"}
                and rec["categories"] == ["dibao"]
            )

        await eventually(restored)
        closed = await eventually(lambda: alerts(m, n, kind="beneficiary_died", status="resolved"))
        assert len(closed) == 1 and closed[0]["resolution"] == "auto: the death was revoked"
        assert await alerts(m, n, status="open") == []
        rec = await record(m, n)
        history = (await m.get(f"/v1/records/{rec['record_id']}/history")).json()
        assert [h["event_type"] for h in history if "status" in h["change"] and "program" not in h["change"]] == [
            "registry.person.died",
            "registry.death.revoked",
        ]


async def test_a_move_out_marks_the_record_and_raises_beneficiary_moved_out(stack: Stack) -> None:
    n = new_id_number()
    await person_on_dibao(stack, n)
    async with stack["registry"].client() as reg, stack["monitoring"].client() as m:
        r = await reg.post("/v1/hukou-changes", json={
            "id_number": n, "kind": "move_out", "from_division": "340207002001", "to_division": "340202",
            "effective_date": YESTERDAY, "reference": f"OUT-{n}"})  # fmt: skip
        assert r.status_code == 201, r.text
        found = await eventually(lambda: alerts(m, n, kind="beneficiary_moved_out"))
        assert len(found) == 1 and found[0]["status"] == "open" and found[0]["severity"] == "high"
        rec = await record(m, n)
        assert rec["status"] == "moved_away" and rec["in_district"] is False


async def test_income_above_the_standard_raises_one_alert_however_many_reports_say_so(stack: Stack) -> None:
    n = new_id_number()
    await person_on_dibao(stack, n)
    async with stack["monitoring"].client() as m:
        await produce(stack.infra.broker.bootstrap, "partner.income.v1", income(n, "700.00"), key=n)
        await eventually(lambda: _income_is(m, n, "700.00"))
        assert await alerts(m, n) == []  # below the standard of 800.00: nothing to do
        for amount in ("900.00", "950.00", "900.00"):  # the same situation described three times
            await produce(stack.infra.broker.bootstrap, "partner.income.v1", income(n, amount), key=n)
        await eventually(lambda: _income_is(m, n, "900.00"))
        found = await alerts(m, n, kind="income_above_standard")
        assert len(found) == 1 and found[0]["status"] == "open" and "低保边缘" in found[0]["summary"]
        await produce(stack.infra.broker.bootstrap, "partner.income.v1", income(n, "600.00"), key=n)
        closed = await eventually(lambda: alerts(m, n, kind="income_above_standard", status="resolved"))
        assert closed[0]["resolution"] == "auto: income fell below the standard or the case left dibao"


async def _income_is(m: Any, n: str, amount: str) -> bool:  # noqa: ANN401
    rec = await record(m, n)
    return rec is not None and rec["per_capita_income"] == amount


async def test_a_large_medical_bill_in_a_low_income_household_raises_high_medical_expense(stack: Stack) -> None:
    n, other = new_id_number(), new_id_number()
    await person_on_dibao(stack, n)
    async with stack["registry"].client() as reg, stack["monitoring"].client() as m:
        assert (
            await reg.post("/v1/persons", json={"id_number": other, "name": "钱多", "hukou_division": "340207002001"})
        ).status_code == 201
        await eventually(lambda: record(m, other))
        for who in (n, other):
            data = {"id_number": who, "amount": "6200.00", "date": YESTERDAY, "reference": f"M-{who}"}
            bill = partner("partner.medical-expense.reported", data)
            await produce(stack.infra.broker.bootstrap, "partner.medical-expenses.v1", bill, key=who)
        found = await eventually(lambda: alerts(m, n, kind="high_medical_expense"))
        assert len(found) == 1 and "6200.00" in found[0]["summary"]
        rec = await eventually(lambda: _with_expense(m, other))
        assert rec["medical_expense"] == "6200.00"
        assert await alerts(m, other) == []  # not a low-income household: recorded, no alert


async def _with_expense(m: Any, n: str) -> dict[str, Any] | None:  # noqa: ANN401
    rec = await record(m, n)
    return rec if rec and rec["medical_expense"] else None


async def test_an_uncovered_person_on_the_anti_poverty_list_is_found_and_enrolling_closes_it(stack: Stack) -> None:
    n, bad = new_id_number(), "340207199901011234"
    async with stack["registry"].client() as reg, stack["assistance"].client() as a, stack["monitoring"].client() as m:
        assert (
            await reg.post("/v1/persons", json={"id_number": n, "name": "赵小梅", "hukou_division": "340207003001"})
        ).status_code == 201
        reference = f"FPJC-{n}"
        body = f"id_number,name\n{n},赵小梅\n{bad},坏号\n"
        r = await m.post("/v1/imports", params={"kind": "anti_poverty_monitoring", "reference": reference},
                         content=body.encode(), headers={"content-type": "text/csv"})  # fmt: skip
        assert r.status_code == 201, r.text
        assert r.json()["counts"] == {"lines": 2, "listed": 1, "rejected": 1}
        assert [line["status"] for line in r.json()["lines"]] == ["listed", "rejected"]
        again = await m.post("/v1/imports", params={"kind": "anti_poverty_monitoring", "reference": reference},
                             content=body.encode(), headers={"content-type": "text/csv"})  # fmt: skip
        assert again.status_code == 200 and again.json()["import_id"] == r.json()["import_id"]
        rec = await record(m, n)
        assert rec["categories"] == ["anti_poverty_monitoring"]
        found = await alerts(m, n, kind="uncovered_need")
        assert len(found) == 1 and found[0]["status"] == "open"
        history = (await m.get(f"/v1/records/{rec['record_id']}/history")).json()
        assert (
            history[-1]["event_id"] == f"import:{reference}:1"
            and history[-1]["change"]["listed"] == "anti_poverty_monitoring"
        )

        assert (
            await a.post("/v1/cases", json={"id_number": n, "program": "dibao", "monthly_amount": "300.00"})
        ).status_code == 201
        closed = await eventually(lambda: alerts(m, n, kind="uncovered_need", status="resolved"))
        assert closed[0]["resolution"] == "auto: the person is now covered by a program or left the list"
        rec = await record(m, n)
        assert rec["categories"] == ["anti_poverty_monitoring", "dibao"] and rec["amounts"] == {"dibao": "300.00"}


async def test_the_warnings_run_finds_an_elder_without_the_allowance_and_enrolling_closes_it(stack: Stack) -> None:
    n = new_id_number(min_age=81, max_age=85)
    async with stack["registry"].client() as reg, stack["eldercare"].client() as e, stack["monitoring"].client() as m:
        assert (
            await reg.post("/v1/persons", json={"id_number": n, "name": "钟老", "hukou_division": "340207004001"})
        ).status_code == 201
        await eventually(lambda: record(m, n))
        assert await alerts(m, n) == []  # the calendar rules wait for the run
        r = await m.post("/v1/warnings/run", json={"as_of": date.today().isoformat()})
        assert r.status_code == 200 and r.json()["records"] >= 1, r.text
        found = await alerts(m, n, kind="elder_without_allowance", status="open")
        assert len(found) == 1 and found[0]["severity"] == "medium"
        again = await m.post("/v1/warnings/run", json={"as_of": date.today().isoformat()})
        assert again.status_code == 200
        assert len(await alerts(m, n, kind="elder_without_allowance")) == 1  # the same situation: still one alert
        assert (await e.post("/v1/allowances", json={"id_number": n})).status_code == 201
        closed = await eventually(lambda: alerts(m, n, kind="elder_without_allowance", status="resolved"))
        assert closed[0]["resolution"] == "auto: the old-age allowance was enrolled"


async def test_alerts_take_comments_and_filters_and_the_thresholds_are_effective_dated(stack: Stack) -> None:
    n = new_id_number()
    await person_on_dibao(stack, n)
    async with stack["monitoring"].client() as m:
        await produce(stack.infra.broker.bootstrap, "partner.income.v1", income(n, "1000.00"), key=n)
        alert = (await eventually(lambda: alerts(m, n, kind="income_above_standard")))[0]
        r = await m.post(f"/v1/alerts/{alert['alert_id']}/comments", json={"text": "visited; new job since September"})
        assert r.status_code == 201 and r.json()["text"] == "visited; new job since September"
        notes = (await m.get(f"/v1/alerts/{alert['alert_id']}/comments")).json()
        assert [c["text"] for c in notes] == ["visited; new job since September"]
        assert len(await alerts(m, n, severity="medium")) == 1 and await alerts(m, n, severity="high") == []
        assert await alerts(m, n, raised_before="2020-01-01T00:00:00Z") == []
        assert alert["open_seconds"] >= 0

        rows = (await m.get("/v1/settings/warnings")).json()
        assert rows[0]["effective_from"] == "2022-01-01" and rows[0]["dibao_standard"] == "800.00"
        new = {**{k: rows[0][k] for k in ("marginal_multiplier", "medical_expense_threshold", "allowance_age",
                                          "child_exit_age", "review_grace_days")},
               "effective_from": "2099-01-01", "dibao_standard": "1200.00", "source": "test decision"}  # fmt: skip
        r = await m.post("/v1/settings/warnings", json=new)
        assert r.status_code == 201 and r.json()["created_by"] == "tester", r.text
        assert (await m.post("/v1/settings/warnings", json=new)).status_code == 409
        stats = (await m.get("/v1/stats", params={"month": date.today().strftime("%Y-%m")})).json()
        assert stats["people_by_category"]["dibao"] >= 1 and stats["people_by_program"]["dibao"] >= 1
        assert stats["alerts_by_kind"]["income_above_standard"]["open"] >= 1
        assert Decimal(stats["monthly_amounts_by_program"]["dibao"]) >= Decimal("500.00")
        # A town sees its own: another town's dibao people and amounts are not counted.
        other_town = {"Authorization": f"Bearer {token(division='340207104')}"}
        theirs = (await m.get("/v1/stats", headers=other_town)).json()
        assert theirs["division"] == "340207104" and all(
            d.startswith("340207104") for d in theirs["people_by_division"]
        )
        mine = stats["people_by_division"]
        assert "340207002001" in mine
