"""A case entered directly (POST /v1/cases, migrated from the old system) is due for its periodic review too.

Without a household to classify, a dibao case gets the stable households' interval of the standards in force on
its first day (12 months as seeded), announced on `assistance.review.due` so monitoring knows the date; a
program without a default interval gets none.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import text

from services.assistance import reviews
from shared import clock
from shared.db import make_engine
from tests.monitoring.test_dynamic_record import record
from tests.support import Infra, Stack, eventually, new_id_number


async def test_a_migrated_dibao_case_is_due_at_the_default_interval_and_monitoring_hears_of_it(stack: Stack) -> None:
    dibao, orphan = new_id_number(), new_id_number(10, 15)
    due = reviews.due_on(clock.today(), 12)
    async with stack["registry"].client() as reg, stack["assistance"].client() as a, stack["monitoring"].client() as m:
        for n, name in ((dibao, "陈立"), (orphan, "陈小满")):
            r = await reg.post("/v1/persons", json={"id_number": n, "name": name, "hukou_division": "340207102001"})
            assert r.status_code == 201, r.text
        r = await a.post("/v1/cases", json={"id_number": dibao, "program": "dibao", "monthly_amount": "500.00"})
        assert r.status_code == 201, r.text
        assert r.json()["review_due_on"] == due.isoformat()
        r = await a.post("/v1/cases", json={"id_number": orphan, "program": "orphan", "monthly_amount": "1180.00"})
        assert r.status_code == 201, r.text
        assert r.json()["review_due_on"] is None  # no default interval for the orphan allowance

        async def known() -> Any:  # noqa: ANN401
            rec = await record(m, dibao)
            return rec and rec["review_due_on"]

        assert await eventually(known, timeout=10) == due.isoformat()


async def test_the_default_interval_is_the_standard_in_force_on_the_first_day(infra: Infra) -> None:
    engine = make_engine(infra.database(f"assistance_{uuid.uuid4().hex[:10]}", "assistance"))
    start = date(2027, 3, 14)
    due = text(f"SELECT {reviews.DEFAULT_DUE_ON}")  # noqa: S608 - a constant of reviews.py
    try:
        async with engine.begin() as conn:
            seeded = (await conn.execute(due, {"started_on": start, "review_key": "review.stable_months"})).scalar()
            insert = text(
                "INSERT INTO standards (id, key, value, effective_from, source, created_by)"
                " VALUES (:id, :key, :value, :on, 'test', 'test')"
            )
            for on, months in ((start - timedelta(days=1), 24), (start + timedelta(days=1), 3)):
                values = {"id": uuid.uuid4(), "key": "review.stable_months", "value": months, "on": on}
                await conn.execute(insert, values)
            changed = (await conn.execute(due, {"started_on": start, "review_key": "review.stable_months"})).scalar()
            none = (await conn.execute(due, {"started_on": start, "review_key": None})).scalar()
    finally:
        await engine.dispose()
    assert seeded == date(2028, 3, 1)  # 12 months after March 2027
    assert changed == date(2029, 3, 1)  # the row of the day before; the one of the day after not yet in force
    assert none is None
