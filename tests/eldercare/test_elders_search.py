"""The elders register searched by guarantee and care level: assistance's dibao case and eldercare's assessment
reach the elder's row, and each filter keeps exactly the elders it names."""

from __future__ import annotations

from datetime import date
from typing import Any

from tests.eldercare.test_allowance_discovery import resident
from tests.eldercare.test_assessment_rules import WORKED
from tests.support import Stack, eventually

DIVISION = "340207004005"  # a community of its own in these tests


async def found(stack: Stack, **params: Any) -> dict[str, tuple[str | None, int | None]]:
    """(guarantee, care level) of the community's elders the search answers, by identity number."""
    async with stack["eldercare"].client() as c:
        r = await c.get("/v1/elders", params={"division": DIVISION, "limit": 500, **params})
        assert r.status_code == 200, r.text
    return {e["id_number"]: (e["guarantee"], e["care_level"]) for e in r.json()["items"]}


async def test_guarantee_and_care_level_come_from_the_case_and_the_assessment_and_filter(stack: Stack) -> None:
    guaranteed = await resident(stack, date(1950, 4, 2), DIVISION)
    other = await resident(stack, date(1952, 7, 9), DIVISION)
    async with stack["assistance"].client() as a, stack["eldercare"].client() as e:
        r = await a.post("/v1/cases", json={"id_number": guaranteed, "program": "dibao", "monthly_amount": "500.00"})
        assert r.status_code == 201, r.text
        r = await e.post("/v1/assessments", json={"id_number": guaranteed, "scores": WORKED[2]})
        assert r.status_code == 201 and r.json()["level"] == 2, r.text

    async def on_dibao() -> bool:
        return (await found(stack)).get(guaranteed) == ("dibao", 2)

    await eventually(on_dibao, timeout=10)  # the case reaches eldercare over assistance.events.v1
    assert (await found(stack))[other] == (None, None)
    assert set(await found(stack, guarantee="dibao")) == {guaranteed}
    assert set(await found(stack, guarantee="tekun")) == set()
    assert set(await found(stack, guarantee="none")) == {other}
    assert set(await found(stack, care_level=2)) == {guaranteed}
    assert set(await found(stack, care_level=0)) == set()
