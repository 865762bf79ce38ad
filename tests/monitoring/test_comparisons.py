"""Data comparison (比对): a department's list against the records, findings with their rule, alerts once."""

from __future__ import annotations

import json

from tests.monitoring.test_dynamic_record import alerts, person_on_dibao
from tests.support import Stack, new_id_number, token

CSV = {"content-type": "text/csv"}


async def test_a_salary_list_finds_the_dibao_recipient_above_the_standard_once(stack: Stack) -> None:
    low, high, stranger = new_id_number(), new_id_number(), new_id_number()
    await person_on_dibao(stack, low)
    await person_on_dibao(stack, high)
    body = f"id_number,monthly_amount\n{low},500.00\n{high},2300.00\n{stranger},9000.00\nnot-a-number,1.00\n"
    async with stack["monitoring"].client() as m:
        r = await m.post("/v1/comparisons", params={"source": "salary"}, content=body.encode(), headers=CSV)
        assert r.status_code == 201, r.text
        first = r.json()
        counts = {k: first[k] for k in ("status", "lines", "matched", "rejected", "findings", "alerts")}
        assert counts == {"status": "finished", "lines": 4, "matched": 2, "rejected": 1, "findings": 1, "alerts": 1}
        assert [(f["line"], f["rule"]) for f in first["items"]] == [(2, "income_above_standard")]
        assert (await m.get(f"/v1/comparisons/{first['id']}")).json() == first
        found = await alerts(m, high, kind="comparison_income_above_standard")
        assert len(found) == 1 and "2300.00" in found[0]["summary"] and found[0]["benefits"] == ["dibao"]
        assert await alerts(m, low) == []

        again = (
            await m.post("/v1/comparisons", params={"source": "salary"}, content=body.encode(), headers=CSV)
        ).json()
        assert again["id"] != first["id"] and again["findings"] == 1 and again["alerts"] == 0  # still one open alert
        assert len(await alerts(m, high, kind="comparison_income_above_standard")) == 1

        other_town = {"Authorization": f"Bearer {token(division='340207104')}"}
        assert (await m.get(f"/v1/comparisons/{first['id']}", headers=other_town)).status_code == 404
        theirs = await m.post("/v1/comparisons", params={"source": "salary"}, content=body.encode(),
                              headers={**CSV, **other_town})  # fmt: skip
        assert theirs.json()["matched"] == 0  # another town's list matches none of this town's records


async def test_a_cremation_of_a_living_beneficiary_raises_a_high_alert(stack: Stack) -> None:
    n = new_id_number()
    await person_on_dibao(stack, n)
    lines = "\n".join(json.dumps({"id_number": x, "cremated_on": "2026-11-01"}) for x in (n, new_id_number()))
    async with stack["monitoring"].client() as m:
        r = await m.post("/v1/comparisons", params={"source": "cremation"}, content=lines.encode(),
                         headers={"content-type": "application/x-ndjson"})  # fmt: skip
        assert r.status_code == 201 and r.json()["findings"] == 1, r.text
        found = await alerts(m, n, kind="comparison_death_not_on_file")
        assert len(found) == 1 and found[0]["severity"] == "high"
        bad = await m.post("/v1/comparisons", params={"source": "lottery"}, content=lines.encode(), headers=CSV)
        assert bad.status_code == 422


async def test_lines_are_read_as_lists_are_written_quotes_spaces_crlf_blanks_and_json_numbers(stack: Stack) -> None:
    a, b = new_id_number(), new_id_number()
    c = new_id_number()
    while c.endswith("X"):  # written below as a JSON number: a check digit X cannot be one
        c = new_id_number()
    for n in (a, b, c):
        await person_on_dibao(stack, n)
    rows = ["monthly_amount,id_number", f"2300.00,{a}", "", f'"2300.00", {b} ', f"500.00,{a}", "9000.00,", "9000.00"]
    body = "\r\n".join(rows) + "\r\n"  # CRLF; the number second, so a line is split past its first cell
    async with stack["monitoring"].client() as m:
        r = await m.post("/v1/comparisons", params={"source": "salary"}, content=body.encode(), headers=CSV)
        assert r.status_code == 201, r.text
        got = r.json()
        counts = {k: got[k] for k in ("lines", "matched", "rejected", "findings", "alerts")}
        assert counts == {"lines": 5, "matched": 3, "rejected": 2, "findings": 2, "alerts": 2}, got
        assert [(f["line"], f["rule"]) for f in got["items"]] == [
            (1, "income_above_standard"),
            (3, "income_above_standard"),
        ]

        lines = [f'{{"id_number": {c}}}', "[1, 2]", "not json", "", json.dumps({"id_number": new_id_number()})]
        r = await m.post("/v1/comparisons", params={"source": "cremation"}, content="\n".join(lines).encode(),
                         headers={"content-type": "application/x-ndjson"})  # fmt: skip
        got = r.json()
        counts = {k: got[k] for k in ("lines", "matched", "rejected", "findings")}
        assert counts == {"lines": 4, "matched": 1, "rejected": 2, "findings": 1}, got  # a JSON number reads as text
        assert [f["line"] for f in got["items"]] == [1]
