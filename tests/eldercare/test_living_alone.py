"""Living alone, from the registry's household changes: a household of one, or the other members dead; searchable."""

from __future__ import annotations

from datetime import date
from typing import Any

from tests.eldercare.test_allowance_discovery import resident
from tests.support import Stack, eventually

DIVISION = "340207004003"  # a community of its own in these tests


async def elders(stack: Stack, **params: Any) -> dict[str, bool | None]:
    """living_alone of every elder of the community, by identity number."""
    async with stack["eldercare"].client() as c:
        r = await c.get("/v1/elders", params={"division": DIVISION, "limit": 500, **params})
        assert r.status_code == 200, r.text
    return {e["id_number"]: e["living_alone"] for e in r.json()["items"]}


async def household(stack: Stack, members: list[tuple[str, str]]) -> dict[str, Any]:
    async with stack["registry"].client() as registry:
        body = {
            "hukou_division": DIVISION,
            "address": "江北村三号",
            "members": [{"id_number": n, "relation": rel} for n, rel in members],
        }
        r = await registry.post("/v1/households", json=body)
        assert r.status_code == 201, r.text
    return r.json()


async def test_living_alone_follows_households_and_deaths(stack: Stack) -> None:
    alone = await resident(stack, date(1948, 3, 1), DIVISION)
    husband = await resident(stack, date(1946, 4, 2), DIVISION)
    wife = await resident(stack, date(1949, 5, 3), DIVISION)
    unhoused = await resident(stack, date(1950, 6, 4), DIVISION)
    await household(stack, [(alone, "head")])
    await household(stack, [(husband, "head"), (wife, "spouse")])

    async def known() -> dict[str, bool | None] | None:
        seen = await elders(stack)
        return seen if seen.get(alone) is not None and seen.get(wife) is not None else None

    seen = await eventually(known, timeout=10)
    assert (seen[alone], seen[husband], seen[wife], seen[unhoused]) == (True, False, False, None)
    assert {alone} <= set(await elders(stack, living_alone="true")) and husband not in await elders(
        stack, living_alone="true"
    )
    async with stack["registry"].client() as registry:
        death = {"id_number": husband, "date_of_death": "2026-01-10", "source": "hospital", "reference": f"H-{husband}"}
        r = await registry.post("/v1/deaths", json=death)
        assert r.status_code in (200, 201), r.text

    async def widowed() -> bool:
        return (await elders(stack)).get(wife) is True

    await eventually(widowed, timeout=10)
    with_others = await elders(stack, living_alone="false")
    assert wife not in with_others and alone not in with_others
