"""The list reads answer a page, its total and their audit rows from one statement (shared.audit.AuditedList).

What must hold: an answered read has its audit rows committed (one per person
on the page, naming the caller, the caller's division, the endpoint and the
request id); a page past the end still says the total and audits no one;
another town sees an empty list and nothing of the person is audited for it;
a filter's LIKE wildcards are taken literally.
"""

from __future__ import annotations

import uuid

from sqlalchemy import text

from tests.support import Stack, new_id_number, token


async def _audit(stack: Stack, person_id: str) -> list[tuple[str, str, str, str | None]]:
    async with stack["registry"].state.sessionmaker() as s:
        rows = await s.execute(
            text("SELECT actor, division, endpoint, request_id FROM audit_log WHERE person_id = :p ORDER BY id"),
            {"p": person_id},
        )
        return [tuple(r) for r in rows.all()]


async def test_a_list_read_is_answered_with_its_total_and_its_audit_rows_committed(stack: Stack) -> None:
    n = new_id_number()
    name = f"审计{uuid.uuid4().hex[:6]}"
    async with stack["registry"].client() as c:
        created = await c.post("/v1/persons", json={"id_number": n, "name": name, "hukou_division": "340207102"})
        assert created.status_code == 201, created.text
        person_id = created.json()["person_id"]
        rid = f"audit-{uuid.uuid4().hex[:8]}"
        town = {"Authorization": f"Bearer {token(sub='clerk-102', division='340207102')}", "x-request-id": rid}
        found = await c.get("/v1/persons", params={"id_number": n}, headers=town)
        assert found.status_code == 200, found.text
        body = found.json()
        assert body["total"] == 1 and [p["person_id"] for p in body["items"]] == [person_id]
        # Read back at once, on another connection: committed before the answer was sent.
        assert await _audit(stack, person_id) == [("clerk-102", "340207102", "GET /v1/persons", rid)]

        past = await c.get("/v1/persons", params={"name": name, "offset": 5}, headers=town)
        assert past.json() == {"items": [], "total": 1, "limit": 50, "offset": 5}
        assert len(await _audit(stack, person_id)) == 1, "a page past the end reads no one"

        elsewhere = {"Authorization": f"Bearer {token(division='340207101')}"}
        other = await c.get("/v1/persons", params={"id_number": n}, headers=elsewhere)
        assert other.status_code == 200 and other.json()["total"] == 0 and other.json()["items"] == []
        assert len(await _audit(stack, person_id)) == 1, "another town's empty answer audits no one"

        wildcard = await c.get("/v1/persons", params={"name": name[:2] + "%", "division": "3402071_2"}, headers=town)
        assert wildcard.status_code == 200 and wildcard.json()["total"] == 0, "% and _ are literal characters"
        prefix = await c.get("/v1/persons", params={"name": name[:3], "division": "340207102"}, headers=town)
        assert person_id in [p["person_id"] for p in prefix.json()["items"]]
