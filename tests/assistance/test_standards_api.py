"""/v1/standards against the running service: figures in force by date, edits by district staff, audited."""

from __future__ import annotations

from tests.support import ALL_SCOPES, Stack, token


async def test_the_seeded_figures_are_in_force_with_their_sources(stack: Stack) -> None:
    async with stack["assistance"].client() as c:
        r = await c.get("/v1/standards", params={"on": "2026-11-01"})
    assert r.status_code == 200, r.text
    figures = {f["key"]: f for f in r.json()["items"]}
    assert figures["dibao.standard"]["value"] == "800" and figures["dibao.standard"]["unit"] == "yuan/month"
    assert "assumed" in figures["dibao.standard"]["source"]
    assert figures["tekun.care.dispersed.full"]["value"] == "0.35"
    assert figures["orphan.dispersed"]["value"] == "1180" and "derived" in figures["orphan.dispersed"]["source"]
    assert figures["gradual_exit.months"]["effective_from"] == "2022-01-01"


async def test_district_staff_add_a_row_from_a_date_and_the_change_is_audited(stack: Stack) -> None:
    body = {"key": "disability.care", "value": "95", "effective_from": "2031-07-01", "source": "2031 notice"}
    async with stack["assistance"].client(token(sub="district-officer")) as c:
        r = await c.post("/v1/standards", json=body)
        assert r.status_code == 201, r.text
        before = (await c.get("/v1/standards", params={"on": "2031-06-30"})).json()["items"]
        after = (await c.get("/v1/standards", params={"on": "2031-07-01"})).json()["items"]
        audit = (await c.get("/v1/standards/changes", params={"key": "disability.care"})).json()
    assert {f["key"]: f["value"] for f in before}["disability.care"] == "80"
    assert {f["key"]: f["value"] for f in after}["disability.care"] == "95"
    change = audit[0]
    assert (change["old_value"], change["new_value"], change["changed_by"], change["effective_from"]) == (
        "80",
        "95",
        "district-officer",
        "2031-07-01",
    )


async def test_town_staff_cannot_change_standards_and_edits_out_of_range_are_refused(stack: Stack) -> None:
    body = {"key": "gradual_exit.months", "value": "8", "effective_from": "2031-01-01", "source": "x"}
    async with stack["assistance"].client(token(division="340207003", scopes=ALL_SCOPES)) as c:
        town = await c.post("/v1/standards", json=body)
    async with stack["assistance"].client() as c:
        too_long = await c.post("/v1/standards", json={**body, "value": "13"})
        unknown = await c.post("/v1/standards", json={**body, "key": "dibao.bonus"})
        floating = await c.post("/v1/standards", json={**body, "value": 8.5})
    assert town.status_code == 404, town.text  # never 403: the district's standards are not in a town
    assert too_long.status_code == 422 and too_long.json()["errors"][0]["field"] == "value"
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "key"
    assert floating.status_code == 422 and floating.json()["errors"][0]["field"] == "value"
