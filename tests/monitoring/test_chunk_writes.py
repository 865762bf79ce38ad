"""A chunk's records, history and alerts written as JSON arrays of their columns read back as they were folded.

Every column type the arrays carry (uuid, text, date, numeric, boolean, jsonb, timestamptz), set and unset: a value
the fold holds is the value stored, a None is NULL (not a JSON null) and a jsonb column keeps its document.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import text

from services.monitoring import effects
from services.monitoring.domain import warnings as w
from shared import event_types as ev
from shared.db import make_engine, make_sessionmaker
from tests.support import Infra, new_id_number

TODAY = date(2026, 3, 1)
T = w.Thresholds(effective_from=date(2020, 1, 1), dibao_standard=Decimal("780.00"))


def full(record: effects.RecordRow) -> effects.RecordRow:
    return replace(
        record, name="张三", status="deceased", date_of_death=date(2026, 2, 27), categories=["dibao"],
        programs={"dibao": "suspended"}, amounts={"dibao": "780.00"}, listed=["marginal"], markers=["orphan"],
        birth_date=date(1950, 5, 6), in_district=False, household_id=uuid.uuid4(), review_due_on=date(2026, 6, 1),
        monthly_income=Decimal("123.45"), per_capita_income=Decimal("61.73"), medical_expense=Decimal("5000.10"),
        open_overpayments=Decimal("780.00"), household_changed_on=date(2026, 1, 2), last_review_on=date(2025, 12, 1),
        changed=True,
    )  # fmt: skip


async def test_records_history_and_alerts_read_back_as_folded(infra: Infra) -> None:
    url = infra.database(f"monitoring_{uuid.uuid4().hex[:10]}", "monitoring")
    engine = make_engine(url, pool_size=1)
    sessionmaker = make_sessionmaker(engine)
    refs = [ev.PersonRef(person_id=uuid.uuid4(), id_number=new_id_number(), hukou_division="340207001001")
            for _ in range(2)]  # fmt: skip
    async with sessionmaker() as session, session.begin():
        await effects._make_records(session, refs)
        made = await effects._lock_records(session, [r.person_id for r in refs], [])
        first, second = (made[r.person_id] for r in refs)
        # One record with every column set, one with every nullable column unset (as made).
        fold = effects.Fold(records={}, alerts={}, thresholds=T, today=TODAY)
        fold.records = {first.person_id: full(first), second.person_id: replace(second, name=None, changed=True)}
        fold.history = [{"record_id": first.id, "event_id": "e-1", "event_type": "t", "change": {"a": [1, None]}}]
        alert = effects.AlertRow(
            id=uuid.uuid4(), kind="beneficiary_died", status="resolved", severity="high", person_id=first.person_id,
            id_number=first.id_number, hukou_division=first.hukou_division, benefits=["dibao"], summary="s",
            details={"date_of_death": "2026-02-27"}, resolution="auto: x",
            resolved_at=datetime(2026, 3, 1, 8, 30, 15, 123456, tzinfo=UTC), raised_on=TODAY, new=True,
        )  # fmt: skip
        fold.touched = {alert.id: alert}
        await effects._write(session, fold)
    async with sessionmaker() as session, session.begin():
        stored = await effects._lock_records(session, [r.person_id for r in refs], [])
        assert replace(stored[first.person_id], changed=True) == fold.records[first.person_id]
        assert replace(stored[second.person_id], changed=True) == fold.records[second.person_id]
        nulls = "SELECT count(*) FROM records WHERE person_id = :p AND household_id IS NULL AND name IS NULL"
        assert (await session.execute(text(nulls), {"p": second.person_id})).scalar_one() == 1
        history = await session.execute(text("SELECT record_id, event_id, event_type, change FROM record_history"))
        assert [tuple(h) for h in history] == [(first.id, "e-1", "t", {"a": [1, None]})]
        row = (await session.execute(text("SELECT resolved_at, raised_on, details, benefits FROM alerts"))).one()
        assert tuple(row) == (alert.resolved_at, TODAY, alert.details, ["dibao"])
    await engine.dispose()
