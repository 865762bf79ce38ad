"""The calendar rules through the running stack (real PostgreSQL and broker): a child in a program turning 18,
and a review left overdue. Each is raised by the warnings run once however often it runs; the child's alert
closes itself when the registry's milestone of 18 ends the orphan allowance in assistance."""

from __future__ import annotations

from datetime import date, timedelta

from shared import identity
from tests.assistance.test_coming_of_age_and_review import born_18_years_ago
from tests.monitoring.test_dynamic_record import alerts, person_on_dibao, record
from tests.support import Stack, eventually, new_id_number


async def test_a_child_turning_18_in_the_orphan_program_is_found_once_and_closed_by_the_milestone(stack: Stack) -> None:
    today = date.today()
    n = identity.make("340207", born_18_years_ago(today), 733)
    async with stack["registry"].client() as reg, stack["assistance"].client() as a, stack["monitoring"].client() as m:
        r = await reg.post("/v1/persons", json={"id_number": n, "name": "周小安", "hukou_division": "340207101001"})
        assert r.status_code == 201, r.text
        r = await a.post("/v1/cases", json={"id_number": n, "program": "orphan", "monthly_amount": "1180.00"})
        assert r.status_code == 201, r.text

        async def orphan() -> bool:
            rec = await record(m, n)
            return bool(rec) and rec["programs"].get("orphan") == "active"

        await eventually(orphan, timeout=10)
        for _ in range(2):  # the same situation on two runs: one alert
            r = await m.post("/v1/warnings/run", json={"as_of": today.isoformat()})
            assert r.status_code == 200, r.text
        found = await alerts(m, n, kind="child_turning_18")
        assert [(x["status"], x["severity"]) for x in found] == [("open", "medium")]

        r = await reg.post("/v1/milestones/run", json={"as_of": today.isoformat()})
        assert r.status_code == 200, r.text
        closed = await eventually(lambda: alerts(m, n, kind="child_turning_18", status="resolved"), timeout=10)
        assert closed[0]["resolution"] == "auto: the child's program ended"


async def test_a_review_due_and_not_done_is_overdue_after_the_grace_days_once(stack: Stack) -> None:
    n, spouse = new_id_number(), new_id_number()
    await person_on_dibao(stack, n)
    async with stack["registry"].client() as reg, stack["monitoring"].client() as m:
        r = await reg.post("/v1/persons", json={"id_number": spouse, "name": "刘明", "hukou_division": "340207002001"})
        assert r.status_code == 201, r.text
        members = [{"id_number": n, "relation": "head"}, {"id_number": spouse, "relation": "spouse"}]
        r = await reg.post(
            "/v1/households", json={"hukou_division": "340207002001", "address": "一号", "members": members}
        )
        assert r.status_code == 201, r.text  # a household change: assistance makes the dibao case due for review today

        due_on = date.today()  # the change moves the case's periodic date (set when it was entered) to today

        async def due() -> bool:
            rec = await record(m, n)
            return bool(rec) and rec["review_due_on"] == due_on.isoformat()

        await eventually(due, timeout=10)
        grace = (await m.get("/v1/settings/warnings")).json()[0]["review_grace_days"]
        on_time = (due_on + timedelta(days=grace)).isoformat()
        assert (await m.post("/v1/warnings/run", json={"as_of": on_time})).status_code == 200
        assert await alerts(m, n, kind="review_overdue") == []  # within the grace days
        late = (due_on + timedelta(days=grace + 1)).isoformat()
        for _ in range(2):
            assert (await m.post("/v1/warnings/run", json={"as_of": late})).status_code == 200
        found = await alerts(m, n, kind="review_overdue")
        assert [(x["status"], x["severity"]) for x in found] == [("open", "low")]
        assert due_on.isoformat() in found[0]["summary"]
