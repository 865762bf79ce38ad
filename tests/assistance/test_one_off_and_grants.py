"""One-off subsidies decided by the district and temporary grants, paid in a month's payroll as their own lines."""

from __future__ import annotations

from decimal import Decimal

from tests.assistance.payroll_support import build, fresh_month, lines_of, person_with_case
from tests.support import Stack, new_id_number, token

DECISION = "区政府常务会议纪要〔2022〕5号: 一次性生活补贴 (recorded by the district bureau)"


async def test_a_one_off_subsidy_is_paid_beside_each_paid_dibao_line_of_its_month_and_counted_by_program(
    stack: Stack,
) -> None:
    dibao = await person_with_case(stack, amount="700.00")
    care = await person_with_case(stack, program="disability_care", amount="80.00")
    month, later = fresh_month(2400), fresh_month(2400)
    async with stack["assistance"].client() as c:
        body = {"program": "dibao", "month": month, "amount_per_person": "150.00", "decision": DECISION}
        decided = await c.post("/v1/one-off-subsidies", json=body)
        assert decided.status_code == 201, decided.text
        assert (await c.post("/v1/one-off-subsidies", json=body)).status_code == 409  # one decision a month
        listed = (await c.get("/v1/one-off-subsidies", params={"month": month})).json()
        assert [(x["program"], x["amount_per_person"], x["decision"]) for x in listed] == [
            ("dibao", "150.00", DECISION)
        ]
        payroll = (await build(c, month)).json()
        lines = await lines_of(c, payroll["id"], dibao["id_number"])
        assert sorted((x["kind"], x["amount"], x["status"]) for x in lines) == [
            ("one_off", "150.00", "paid"),
            ("regular", "700.00", "paid"),
        ]
        one_off = next(x for x in lines if x["kind"] == "one_off")
        assert one_off["case_id"] == dibao["case_id"] and DECISION in one_off["reason"]
        assert "150.00 yuan per person" in one_off["reason"]
        assert [x["kind"] for x in await lines_of(c, payroll["id"], care["id_number"])] == ["regular"]
        paid_people = Decimal(payroll["by_kind"]["one_off"]) / Decimal("150.00")  # every paid dibao person, once
        assert paid_people >= 1 and paid_people == paid_people.to_integral_value()
        assert sum(map(Decimal, payroll["by_program"].values())) == Decimal(payroll["total"])
        again = (await build(c, month)).json()
        assert again["total"] == payroll["total"]  # built once: the one-off is not paid twice
        too_late = await c.post("/v1/one-off-subsidies", json=body | {"amount_per_person": "1.00"})
        assert too_late.status_code == 409 and "already built" in too_late.json()["detail"]
        other = (await build(c, later)).json()
        assert [x["kind"] for x in await lines_of(c, other["id"], dibao["id_number"])] == ["regular"]
        async with stack["assistance"].client(token(division="340207104")) as town:
            refused = await town.post("/v1/one-off-subsidies", json=body | {"month": later})
            assert refused.status_code == 404, refused.text


async def test_a_confirmed_temporary_grant_is_paid_once_in_the_next_payroll_built(stack: Stack) -> None:
    n = new_id_number(min_age=30, max_age=60)
    async with stack["registry"].client() as reg, stack["assistance"].client() as c:
        r = await reg.post("/v1/persons", json={"id_number": n, "name": "钱三", "hukou_division": "340207101001"})
        assert r.status_code == 201, r.text
        applied = await c.post(
            "/v1/applications",
            json={
                "program": "temporary",
                "members": [{"id_number": n, "relation": "self"}],
                "temporary": {"type": "emergency", "need": "1000.00"},
            },
        )
        assert applied.status_code == 201, applied.text
        confirmed = await c.post(f"/v1/applications/{applied.json()['id']}/confirm", json={"note": "flood"})
        assert confirmed.status_code == 200, confirmed.text
        grant = confirmed.json()["assessment"]["total"]
        first = (await build(c, fresh_month(2400))).json()
        (line,) = await lines_of(c, first["id"], n)
        assert (line["kind"], line["program"], line["amount"], line["status"]) == ("grant", "temporary", grant, "paid")
        assert line["case_id"] is None and line["application_id"] == applied.json()["id"]
        assert "temporary assistance grant" in line["reason"]
        assert Decimal(first["by_program"]["temporary"]) >= Decimal(grant)
        second = (await build(c, fresh_month(2400))).json()
        assert await lines_of(c, second["id"], n) == []  # paid once
