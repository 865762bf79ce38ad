"""POST /v1/cases (the migration of existing cases) refuses contradictory programs with the reason."""

from __future__ import annotations

from tests.support import Stack, new_id_number


async def test_a_migrated_dibao_case_refuses_tekun_and_the_disability_care_subsidy_may_join_it(stack: Stack) -> None:
    n = new_id_number(min_age=65, max_age=80)
    async with stack["registry"].client() as reg, stack["assistance"].client() as c:
        await reg.post("/v1/persons", json={"id_number": n, "name": "陈大爷", "hukou_division": "340207104"})
        dibao = await c.post("/v1/cases", json={"id_number": n, "program": "dibao", "monthly_amount": "700.00"})
        tekun = await c.post("/v1/cases", json={"id_number": n, "program": "tekun", "monthly_amount": "1370.00"})
        care = await c.post("/v1/cases", json={"id_number": n, "program": "disability_care", "monthly_amount": "80.00"})
    assert dibao.status_code == 201 and care.status_code == 201, (dibao.text, care.text)
    assert tekun.status_code == 409 and "exclude each other" in tekun.json()["detail"]
    assert tekun.json()["errors"][0]["field"] == "program"
