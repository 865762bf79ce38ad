"""Insurance rosters: who is on each, the premium totals from the policy rows, JSON and CSV, scoped to the caller."""

from __future__ import annotations

import csv
import io
import random
from datetime import date

from services.eldercare.care.rosters import born_by
from tests.eldercare.helpers import register
from tests.eldercare.test_institutions_api import new_institution
from tests.support import Stack, eventually, token


def test_born_by_counts_29_february_birthdays_from_1_march() -> None:
    assert born_by(date(2026, 11, 29), 80) == date(1946, 11, 29)
    assert born_by(date(2028, 2, 29), 79) == date(1949, 2, 28)


async def test_the_two_rosters_with_their_premiums(stack: Stack) -> None:
    community = f"340207104{random.randint(100, 999)}"
    aged = await register(stack, min_age=85, max_age=90, division=community)
    on_dibao = await register(stack, min_age=63, max_age=70, division=community)
    tekun_at_home = await register(stack, min_age=63, max_age=70, division=community)
    tekun_in_care = await register(stack, min_age=63, max_age=70, division=community)
    neither = await register(stack, min_age=63, max_age=70, division=community)
    institution = await new_institution(stack, ["R-1"], division=community[:9])
    async with stack["assistance"].client() as assistance, stack["eldercare"].client() as eldercare:
        for person, program in ((on_dibao, "dibao"), (tekun_at_home, "tekun"), (tekun_in_care, "tekun")):
            r = await assistance.post(
                "/v1/cases", json={"id_number": person, "program": program, "monthly_amount": "900.00"}
            )
            assert r.status_code == 201, r.text
        assert (
            await eldercare.post(f"/v1/institutions/{institution}/admissions", json={"id_number": tekun_in_care})
        ).status_code == 201
        assert (
            await eldercare.post("/v1/assessments", json={"id_number": neither, "scores": {}})
        ).status_code == 422  # resolves `neither` locally

    local = token(sub="clerk-104", division=community)
    as_of = date.today().isoformat()
    async with stack["eldercare"].client(local) as eldercare:

        async def rosters() -> dict | None:
            body = (await eldercare.get("/v1/rosters/insurance", params={"as_of": as_of})).json()
            by_code = {r["code"]: r for r in body["rosters"]}
            return body if by_code["guaranteed_60"]["insured"] == 2 else None

        body = await eventually(rosters, timeout=5)
        by_code = {r["code"]: r for r in body["rosters"]}
        assert {i["id_number"] for i in by_code["guaranteed_60"]["items"]} == {on_dibao, tekun_at_home}
        assert [i["id_number"] for i in by_code["aged_80"]["items"]] == [aged]
        assert (by_code["guaranteed_60"]["annual_premium"], by_code["guaranteed_60"]["premium_total"]) == (
            "40.00",
            "80.00",
        )
        assert (by_code["aged_80"]["annual_premium"], by_code["aged_80"]["premium_total"]) == ("24.50", "24.50")
        assert body["premium_total"] == "104.50"

        r = await eldercare.get("/v1/rosters/insurance", params={"as_of": as_of, "format": "csv"})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        lines = list(csv.DictReader(io.StringIO(r.text)))
        assert sorted(x["id_number"] for x in lines if x["roster"] == "guaranteed_60") == sorted(
            [on_dibao, tekun_at_home]
        )
        totals = {x["roster"]: (x["name"], x["annual_premium"]) for x in lines if x["roster"].endswith(" total")}
        assert totals == {"guaranteed_60 total": ("2 insured", "80.00"), "aged_80 total": ("1 insured", "24.50")}

    other_town = token(sub="clerk-003", division="340207003")
    async with stack["eldercare"].client(other_town) as eldercare:
        body = (await eldercare.get("/v1/rosters/insurance", params={"as_of": as_of, "limit": 500})).json()
        seen = {i["person_id"] for r in body["rosters"] for i in r["items"]}
        assert all(i["hukou_division"].startswith("340207003") for r in body["rosters"] for i in r["items"]), seen
