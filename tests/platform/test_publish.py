"""Publishing: the payload's model names the type; topic, key and subject come from the catalogue; one INSERT."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date
from decimal import Decimal

import asyncpg
import pytest
from sqlalchemy import event, text

from shared import event_types as ev
from shared.db import make_engine, make_sessionmaker
from shared.events import parse_message, publish, publish_many, typed
from shared.outbox import BODY
from tests.support import Infra

REF = {"person_id": uuid.uuid4(), "id_number": "340207194005011238", "hukou_division": "340207003001"}


def payloads() -> list[ev.Payload]:
    case = {"program": "dibao", "monthly_amount": Decimal("780.00"), "effective_date": date(2026, 11, 20)}
    return [
        ev.CaseSuspended(**REF, case_id=uuid.uuid4(), status="suspended", reason="death", **case),
        ev.AlertRaised(
            alert_id=uuid.uuid4(),
            kind="beneficiary_died",
            status="open",
            person_id=REF["person_id"],
            hukou_division=REF["hukou_division"],
            summary="died",
            benefits=["dibao"],
        ),
        ev.CaseResumed(**REF, case_id=uuid.uuid4(), status="active", reason="death revoked", **case),
        ev.HouseholdChanged(
            household_id=uuid.uuid4(),
            hukou_division="340207003001",
            head_person_id=None,
            reason="created",
            members_before=[],
            members_after=[ev.HouseholdMember(person_id=REF["person_id"], relation="head")],
        ),
    ]


async def test_publish_many_writes_rows_in_order_that_read_back_as_the_payloads(infra: Infra) -> None:
    sessionmaker = make_sessionmaker(make_engine(infra.database(f"pub_{uuid.uuid4().hex[:8]}", "monitoring")))
    sent = payloads()
    statements: list[str] = []
    engine = sessionmaker.kw["bind"].sync_engine
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    async with sessionmaker() as session, session.begin():
        ids = await publish_many(session, sent)
    event.remove(engine, "before_cursor_execute", listener)
    assert sum("INSERT INTO outbox" in s for s in statements) == 1  # one INSERT for every row

    async with sessionmaker() as session:
        rows = (
            await session.execute(
                text(f"SELECT id, topic, key, type, subject, envelope, {BODY} AS body FROM outbox ORDER BY seq")  # noqa: S608
            )
        ).all()
    assert [r.id for r in rows] == ids
    # The subject is stored only where it is not the key; the envelope and the relay's text give it either way.
    assert [r.subject for r in rows] == [str(sent[0].case_id), None, str(sent[2].case_id), None]
    assert [json.loads(r.body) for r in rows] == [r.envelope for r in rows]
    expected = [
        ("assistance.events.v1", "assistance.case.suspended", str(REF["person_id"]), str(sent[0].case_id)),
        ("monitoring.alerts.v1", "monitoring.alert.raised", str(sent[1].alert_id), str(sent[1].alert_id)),
        ("assistance.events.v1", "assistance.case.resumed", str(REF["person_id"]), str(sent[2].case_id)),
        ("registry.events.v1", "registry.household.changed", str(sent[3].household_id), str(sent[3].household_id)),
    ]
    assert [(r.topic, r.type, r.key, r.envelope["subject"]) for r in rows] == expected
    for row, payload in zip(rows, sent, strict=True):
        # What a consumer reads back: a CloudEvent with this id whose data fits the catalogue's model.
        received = typed(parse_message(json.dumps(row.envelope).encode(), row.key.encode(), []), row.topic)
        assert received.id == str(row.id) and received.type == row.type
        assert received.source == f"/minzheng/{row.topic.split('.')[0]}"
        assert received.payload == payload


async def test_publish_refuses_a_payload_that_names_no_single_type(infra: Infra) -> None:
    sessionmaker = make_sessionmaker(make_engine(infra.database(f"pub_{uuid.uuid4().hex[:8]}", "monitoring")))
    shared_model = ev.CaseEvent(
        **REF,
        case_id=uuid.uuid4(),
        program="dibao",
        status="active",
        monthly_amount=Decimal("1.00"),
        effective_date=date(2026, 1, 1),
    )
    partner = ev.PartnerDeathReported(
        id_number=REF["id_number"], date_of_death=date(2026, 1, 1), source="hospital", reference="H-1"
    )
    async with sessionmaker() as session, session.begin():
        with pytest.raises(TypeError, match="CaseEvent"):
            await publish(session, shared_model)  # five types share it: the subclass names the type
        with pytest.raises(TypeError, match="partner"):
            await publish(session, partner)


async def test_publishing_wakes_the_relay_at_commit_once(infra: Infra) -> None:
    """The INSERT itself sends NOTIFY outbox: delivered at commit, once per transaction, never on rollback."""
    url = infra.database(f"pub_{uuid.uuid4().hex[:8]}", "monitoring")
    sessionmaker = make_sessionmaker(make_engine(url))
    listener = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    heard: asyncio.Queue[str] = asyncio.Queue()
    await listener.add_listener("outbox", lambda *args: heard.put_nowait(args[2]))
    try:
        async with sessionmaker() as session:
            async with session.begin():
                await publish_many(session, payloads()[:2])
                await publish(session, payloads()[2])
            async with session.begin():
                await publish(session, payloads()[3])
                await session.rollback()
        assert await asyncio.wait_for(heard.get(), timeout=5) == "outbox"
        await asyncio.sleep(0.3)
        assert heard.empty()  # one for the committed transaction, none for the rolled back one
    finally:
        await listener.close()


async def test_the_stored_data_is_the_payloads_json_as_its_text_cast_gives_it(infra: Infra) -> None:
    """The rows travel as one JSON document: each `data` is still what casting the payload's JSON text gives.

    Strings with quotes, backslashes, control characters and Chinese, decimals and nulls included; the relay's
    text is computed from `data`, so the same jsonb gives the same bytes on the wire.
    """
    sessionmaker = make_sessionmaker(make_engine(infra.database(f"pub_{uuid.uuid4().hex[:8]}", "monitoring")))
    tricky = ev.AlertRaised(
        alert_id=uuid.uuid4(),
        kind="beneficiary_died",
        status="open",
        person_id=None,
        hukou_division=None,
        summary='死亡 "quoted" \\ back\nslash\ttab \u0001 é 𝄞',
        benefits=["dibao", "特困"],
    )
    sent = [*payloads(), tricky]
    async with sessionmaker() as session, session.begin():
        ids = await publish_many(session, sent)
    async with sessionmaker() as session:
        for event_id, payload in zip(ids, sent, strict=True):
            stored, cast = (
                await session.execute(
                    text("SELECT data::text, CAST(:json AS jsonb)::text FROM outbox WHERE id = :id"),
                    {"json": payload.model_dump_json(), "id": event_id},
                )
            ).one()
            assert stored == cast
