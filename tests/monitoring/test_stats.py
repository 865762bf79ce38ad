"""/v1/stats counts households as well as people, and the open alerts by how long they have waited.

The test's records live in a community no other test uses, and the caller's token is scoped to it, so the
figures are exactly this test's."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from services.monitoring.api.warnings import age_band
from tests.monitoring.test_dynamic_record import alerts, income, person_on_dibao, record
from tests.support import Stack, eventually, new_id_number, produce, token

COMMUNITY = "340207403007"  # 鸠江经济开发区二坝园区: no other test registers anyone here


def test_age_bands_of_open_alerts() -> None:
    assert [age_band(d) for d in (0, 7, 8, 30, 31, 90, 91, 400)] == [
        "0-7", "0-7", "8-30", "8-30", "31-90", "31-90", "over 90", "over 90"
    ]  # fmt: skip


async def test_households_by_category_count_a_household_once_and_open_alerts_by_age(stack: Stack) -> None:
    mine = {"Authorization": f"Bearer {token(division=COMMUNITY)}"}
    couple, alone = [new_id_number(), new_id_number()], new_id_number()
    for n in [*couple, alone]:
        await person_on_dibao(stack, n, COMMUNITY)
    async with stack["registry"].client() as reg, stack["monitoring"].client() as m:
        members = [{"id_number": couple[0], "relation": "head"}, {"id_number": couple[1], "relation": "spouse"}]
        body = {"hukou_division": COMMUNITY, "address": "二坝园区一号", "members": members}
        r = await reg.post("/v1/households", json=body)
        assert r.status_code == 201, r.text

        async def grouped() -> bool:
            a, b = await record(m, couple[0]), await record(m, couple[1])
            return bool(a and b and a["household_id"] and a["household_id"] == b["household_id"])

        await eventually(grouped)
        await produce(stack.infra.broker.bootstrap, "partner.income.v1", income(alone, "1000.00"), key=alone)
        await eventually(lambda: alerts(m, alone, kind="income_above_standard", status="open"))

        async def stats(**params: str) -> dict[str, Any]:
            r = await m.get("/v1/stats", params=params, headers=mine)
            assert r.status_code == 200, r.text
            return r.json()

        today = date.today()
        now = await stats()
        assert now["people_by_category"] == {"dibao": 3} and now["households_by_category"] == {"dibao": 2}
        # Open today: the income above the standard, and the couple's household change (one alert each member).
        opened = {k: v.get("open", 0) for k, v in now["alerts_by_kind"].items()}
        assert opened == {"income_above_standard": 1, "household_changed": 2}
        assert now["open_alerts_by_age"] == {"0-7": 3, "8-30": 0, "31-90": 0, "over 90": 0}
        later = await stats(date=(today + timedelta(days=40)).isoformat())  # the same alerts, 40 days on
        assert later["open_alerts_by_age"] == {"0-7": 0, "8-30": 0, "31-90": 3, "over 90": 0}
        before = await stats(date=(today - timedelta(days=1)).isoformat())  # not raised yet
        assert sum(before["open_alerts_by_age"].values()) == 0
