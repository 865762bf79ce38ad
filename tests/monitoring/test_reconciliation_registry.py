"""Reconciliation with the registry: a lost death, revocation or move out found and repaired exactly.

The registry's events are applied, then undone in monitoring's own database
as if they had never arrived (a death, a move out, a revocation); a person in
step is left as is. Reconciling the community must repair exactly those three
records to what the registry's snapshot says, and a second run nothing.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from sqlalchemy import text

from shared import clock
from tests.monitoring.test_dynamic_record import record
from tests.support import Stack, eventually, new_id_number, token

YESTERDAY = (clock.today() - timedelta(days=1)).isoformat()


async def _rewind(stack: Stack, n: str, **values: Any) -> None:  # noqa: ANN401
    """Undo in monitoring what a registry event did to a record (status, date of death, in the district)."""
    sql = text(
        "UPDATE records SET status = :status, date_of_death = CAST(CAST(:dod AS text) AS date),"
        " in_district = :in_district WHERE id_number = :n"
    )
    async with stack["monitoring"].state.sessionmaker() as s, s.begin():
        await s.execute(sql, {"n": n, **values})


async def _death(reg: Any, n: str) -> str:  # noqa: ANN401
    body = {"id_number": n, "date_of_death": YESTERDAY, "source": "hospital", "reference": f"RR-{n}"}
    r = await reg.post("/v1/deaths", json=body)
    assert r.status_code == 201, r.text
    return r.json()["death_id"]


async def test_reconciliation_repairs_exactly_the_records_whose_registry_events_were_lost(stack: Stack) -> None:
    community = f"340207103{random.randint(900, 999)}"
    died, moved, revoked, in_step = (new_id_number() for _ in range(4))
    async with stack["registry"].client() as reg:
        for n in (died, moved, revoked, in_step):
            r = await reg.post("/v1/persons", json={"id_number": n, "name": "对账户籍", "hukou_division": community})
            assert r.status_code == 201, r.text
        await _death(reg, died)
        r = await reg.post("/v1/hukou-changes", json={
            "id_number": moved, "kind": "move_out", "from_division": community, "to_division": "340202",
            "effective_date": YESTERDAY, "reference": f"RR-{moved}"})  # fmt: skip
        assert r.status_code == 201, r.text
        death_id = await _death(reg, revoked)
        r = await reg.post(f"/v1/deaths/{death_id}/revoke", json={"reason": "wrong identity number"})
        assert r.status_code == 200, r.text
    async with stack["monitoring"].client() as m:

        async def applied() -> bool:
            states = [(await record(m, n) or {}).get("status") for n in (died, moved, revoked, in_step)]
            history = (await m.get(f"/v1/records/{(await record(m, revoked) or {}).get('record_id')}/history")).json()
            revocation_in = any(h["event_type"] == "registry.death.revoked" for h in history)
            return states == ["deceased", "moved_away", "active", "active"] and revocation_in

        await eventually(applied, timeout=15)
        ids = {n: (await record(m, n))["person_id"] for n in (died, moved, revoked, in_step)}

    await _rewind(stack, died, status="active", dod=None, in_district=True)
    await _rewind(stack, moved, status="active", dod=None, in_district=True)
    await _rewind(stack, revoked, status="deceased", dod=YESTERDAY, in_district=True)

    staff = {"Authorization": f"Bearer {token(division=community)}"}
    async with stack["monitoring"].client() as m:
        r = await m.post("/v1/reconciliations", headers=staff)
        assert r.status_code == 201, r.text
        report = r.json()
        repaired = {rep["person_id"]: rep for rep in report["repairs"] if rep["source"] == "registry"}
        assert set(repaired) == {ids[died], ids[moved], ids[revoked]}, report["repairs"]
        assert {rep["program"] for rep in repaired.values()} == {"person"}
        assert repaired[ids[died]]["after"] == {
            "status": "deceased", "date_of_death": YESTERDAY, "hukou_division": community, "in_district": True,
        }  # fmt: skip
        assert repaired[ids[died]]["before"]["status"] == "active"
        assert repaired[ids[moved]]["after"]["status"] == "moved_away"
        assert repaired[ids[moved]]["after"]["in_district"] is False
        assert repaired[ids[revoked]]["before"]["date_of_death"] == YESTERDAY
        assert repaired[ids[revoked]]["after"]["date_of_death"] is None
        assert report["counts"]["registry_held"] == 4

        dead = await record(m, died)
        assert dead["status"] == "deceased" and dead["date_of_death"] == YESTERDAY
        away = await record(m, moved)
        assert away["status"] == "moved_away" and away["in_district"] is False
        alive = await record(m, revoked)
        assert alive["status"] == "active" and alive["date_of_death"] is None
        history = (await m.get(f"/v1/records/{dead['record_id']}/history")).json()
        fixed = [h for h in history if h["event_type"] == "monitoring.reconciliation.repaired"]
        assert len(fixed) == 1 and fixed[0]["change"]["repaired_from"]["status"] == "active"

        again = (await m.post("/v1/reconciliations", headers=staff)).json()
        assert again["repairs"] == [], again
