"""The elders register: residents aged 60+ with registration in the district, searched by age band and division."""

from __future__ import annotations

from datetime import date

from services.eldercare.care.rosters import born_by
from tests.eldercare.test_allowance_discovery import resident
from tests.support import Stack, token

DIVISION = "340207004002"  # a community of its own in these tests


async def test_elders_by_age_band_and_division(stack: Stack) -> None:
    today = date.today()
    sixty = await resident(stack, born_by(today, 60), DIVISION)  # 60 today: an elder
    younger = await resident(stack, date(today.year - 59, 1, 1), DIVISION)  # 58 or 59
    eighty_five = await resident(stack, date(today.year - 86, 6, 1), DIVISION)
    async with stack["eldercare"].client() as c:
        body = (await c.get("/v1/elders", params={"division": DIVISION, "limit": 500})).json()
        numbers = {e["id_number"] for e in body["items"]}
        assert {sixty, eighty_five} <= numbers and younger not in numbers
        [elder] = [e for e in body["items"] if e["id_number"] == sixty]
        assert (elder["age"], elder["living_alone"], elder["guarantee"], elder["care_level"]) == (60, None, None, None)
        band = (await c.get("/v1/elders", params={"division": DIVISION, "age_min": 80, "age_max": 89})).json()
        in_band = {e["id_number"] for e in band["items"]}
        assert eighty_five in in_band and sixty not in in_band
        other_town = {"Authorization": f"Bearer {token(division='340207005')}"}
        hidden = (await c.get("/v1/elders", params={"division": DIVISION}, headers=other_town)).json()
        assert hidden["total"] == 0
        r = await c.get("/v1/elders", params={"age_min": 80, "age_max": 70})
        assert r.status_code == 422
