"""Reconciliation (对账): events lost between assistance/eldercare and monitoring, found and repaired exactly.

The stack runs for real; the loss is made in monitoring's own database after
the events were applied, undoing what particular events did (an enrolment
never heard of, an amount change missed, a person never heard of at all, an
allowance's restoration missed, a termination missed). The reconciliation of
the community must repair exactly those benefits, leave the person in step
alone, and a second run must repair nothing.
"""

from __future__ import annotations

import json
import random
import uuid
from typing import Any

from sqlalchemy import text

from tests.monitoring.test_dynamic_record import record
from tests.support import Stack, eventually, new_id_number, token


async def _enrolled(stack: Stack, community: str, program: str | None, amount: str = "500.00", age: int = 40) -> str:
    n = new_id_number(min_age=age, max_age=age + 5)
    async with stack["registry"].client() as reg, stack["assistance"].client() as a, stack["eldercare"].client() as e:
        r = await reg.post("/v1/persons", json={"id_number": n, "name": "对账人", "hukou_division": community})
        assert r.status_code == 201, r.text
        if program == "old_age_allowance":
            r = await e.post("/v1/allowances", json={"id_number": n})
        elif program is not None:
            r = await a.post("/v1/cases", json={"id_number": n, "program": program, "monthly_amount": amount})
        assert r.status_code == 201, r.text
    return n


async def _rewind(stack: Stack, n: str, **values: Any) -> None:  # noqa: ANN401
    """Undo in monitoring what some events did to a record, as if they had never arrived."""
    sql = text(
        "UPDATE records SET programs = CAST(:programs AS jsonb), amounts = CAST(:amounts AS jsonb),"
        " categories = CAST(:categories AS jsonb) WHERE id_number = :n"
    )
    async with stack["monitoring"].state.sessionmaker() as s, s.begin():
        await s.execute(sql, {"n": n, **{k: json.dumps(v) for k, v in values.items()}})


async def _forget(stack: Stack, n: str) -> None:
    """Every event about a person lost: monitoring holds nothing of them."""
    async with stack["monitoring"].state.sessionmaker() as s, s.begin():
        mine = {"n": n}
        await s.execute(text("DELETE FROM alerts WHERE id_number = :n"), mine)
        await s.execute(
            text("DELETE FROM record_history WHERE record_id IN (SELECT id FROM records WHERE id_number = :n)"), mine
        )
        await s.execute(text("DELETE FROM records WHERE id_number = :n"), mine)


async def test_reconciliation_repairs_exactly_the_benefits_whose_events_were_lost(stack: Stack) -> None:
    community = f"340207104{random.randint(900, 999)}"
    missed_enrolment = await _enrolled(stack, community, "dibao")
    missed_amount = await _enrolled(stack, community, "tekun", "700.00")
    never_heard = await _enrolled(stack, community, "dibao", "600.00")
    missed_allowance = await _enrolled(stack, community, "old_age_allowance", age=85)
    phantom = await _enrolled(stack, community, None)
    in_step = await _enrolled(stack, community, "dibao", "550.00")
    everyone = [missed_enrolment, missed_amount, never_heard, missed_allowance, in_step]
    async with stack["monitoring"].client() as m:

        async def all_in_step() -> bool:
            records = [await record(m, n) for n in everyone]
            return all(r and any(s == "active" for s in r["programs"].values()) for r in records)

        await eventually(all_in_step, timeout=15)
        await eventually(lambda: record(m, phantom))
        ids = {n: (await record(m, n))["person_id"] for n in [*everyone, phantom]}

    await _rewind(stack, missed_enrolment, programs={}, amounts={}, categories=[])
    await _rewind(stack, missed_amount, programs={"tekun": "active"}, amounts={"tekun": "650.00"}, categories=["tekun"])
    await _forget(stack, never_heard)
    await _rewind(stack, missed_allowance, programs={"old_age_allowance": "stopped"}, amounts={}, categories=[])
    await _rewind(stack, phantom, programs={"dibao": "active"}, amounts={"dibao": "480.00"}, categories=["dibao"])

    staff = {"Authorization": f"Bearer {token(division=community)}"}
    async with stack["monitoring"].client() as m:
        r = await m.post("/v1/reconciliations", headers=staff)
        assert r.status_code == 201, r.text
        report = r.json()
        assert report["status"] == "finished" and report["hukou_division"] == community
        repaired = {(rep["person_id"], rep["program"]): rep for rep in report["repairs"]}
        assert set(repaired) == {
            (ids[missed_enrolment], "dibao"),
            (ids[missed_amount], "tekun"),
            (ids[never_heard], "dibao"),
            (ids[missed_allowance], "old_age_allowance"),
            (ids[phantom], "dibao"),
        }, report["repairs"]
        assert repaired[(ids[missed_enrolment], "dibao")]["after"] == {"status": "active", "monthly_amount": "500.00"}
        assert repaired[(ids[missed_amount], "tekun")]["before"] == {"status": "active", "monthly_amount": "650.00"}
        assert repaired[(ids[never_heard], "dibao")]["new_record"] is True
        assert repaired[(ids[phantom], "dibao")]["after"] == {"status": "terminated"}
        assert report["counts"]["repaired"] == 5 and report["counts"]["records_made"] == 1

        rec = await record(m, missed_enrolment)
        assert rec["programs"] == {"dibao": "active"} and rec["amounts"] == {"dibao": "500.00"}
        assert rec["categories"] == ["dibao"]
        assert (await record(m, missed_amount))["amounts"] == {"tekun": "700.00"}
        made = await record(m, never_heard)
        assert made["programs"] == {"dibao": "active"} and made["categories"] == ["dibao"]
        assert (await record(m, missed_allowance))["programs"] == {"old_age_allowance": "active"}
        ghost = await record(m, phantom)
        assert ghost["programs"] == {"dibao": "terminated"} and ghost["categories"] == []
        history = (await m.get(f"/v1/records/{rec['record_id']}/history")).json()
        fixed = [h for h in history if h["event_type"] == "monitoring.reconciliation.repaired"]
        assert len(fixed) == 1 and fixed[0]["change"]["repaired_from"] == {"status": None, "monthly_amount": None}

        again = (await m.post("/v1/reconciliations", headers=staff)).json()
        assert again["repairs"] == [] and again["counts"]["records_compared"] == 6, again
        assert (await m.get(f"/v1/reconciliations/{report['id']}", headers=staff)).json() == report
        other = {"Authorization": f"Bearer {token(division='340207001')}"}
        assert (await m.get(f"/v1/reconciliations/{report['id']}", headers=other)).status_code == 404
        assert uuid.UUID(report["id"])
