"""An overpayment recovered closes monitoring's `paid_after_death` alert by itself, saying how it ended.

On the running stack (real PostgreSQL and broker): a dibao case paid ahead, a death confirmed by a second
source, so assistance records the month as an overpayment and monitoring raises `paid_after_death`; a
caseworker recovers it over assistance's API, which publishes `assistance.overpayment.resolved` in the same
transaction; monitoring drops what is owed to zero and closes the alert with the reason, on its API and on
monitoring.alerts.v1. The same event delivered again (same id) and told again (new id) changes nothing.
A death revoked writes its overpayment off (the months were due), announced the same way, and the alert
closes saying so.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import text

from shared import event_types as ev
from shared.db import make_engine
from shared.events import envelope
from tests.assistance.payroll_support import build, fresh_month, person_with_case, wait_case
from tests.monitoring.test_rule_matrix import processed
from tests.support import Stack, eventually, produce

DIED = (date.today() - timedelta(days=2)).isoformat()
RESOLVED_TYPE = "assistance.overpayment.resolved"


async def death_confirmed(stack: Stack, id_number: str) -> str:
    """Two sources report the death: a confirmed one, which makes the months paid after it overpaid; its id."""
    async with stack["registry"].client() as reg:
        for source in ("hospital", "funeral_home"):
            body = {"id_number": id_number, "date_of_death": DIED, "source": source, "reference": f"R-{uuid.uuid4()}"}
            r = await reg.post("/v1/deaths", json=body)
            assert r.status_code in (200, 201), r.text
    return r.json()["death_id"]


async def paid_after_death(stack: Stack, id_number: str, status: str) -> dict[str, Any]:
    """The person's one paid_after_death alert once it has this status."""
    async with stack["monitoring"].client() as m:

        async def shows() -> dict[str, Any] | None:
            r = await m.get("/v1/alerts", params={"id_number": id_number, "kind": "paid_after_death"})
            items = r.json()["items"]
            assert len(items) <= 1, items
            return items[0] if items and items[0]["status"] == status else None

        return await eventually(shows, timeout=15)


async def on_topic(stack: Stack, topic: str, person_id: str) -> list[Any]:
    """The broker's messages about one person on a topic so far (value, key, headers as sent).

    Partitions assigned by hand and read to their current end: no consumer group to join, so it takes a moment.
    """
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.infra.broker.bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.topics()  # the cluster's metadata, with the topic's partitions
        parts = [TopicPartition(topic, n) for n in sorted(consumer.partitions_for_topic(topic) or [])]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        found: list[Any] = []
        while [p for p in parts if await consumer.position(p) < ends[p]]:
            for batch in (await consumer.getmany(*parts, timeout_ms=200)).values():
                found += [m for m in batch if _data(m).get("person_id") == person_id]
        return found
    finally:
        await consumer.stop()


def _type(message: Any) -> str | None:  # noqa: ANN401 - a broker record
    """The CloudEvent type, binary mode (ce_type header) or structured (in the JSON)."""
    header = dict(message.headers or []).get("ce_type")
    return header.decode() if header else json.loads(message.value).get("type")


def _data(message: Any) -> dict[str, Any]:  # noqa: ANN401 - a broker record
    """The event's data: the whole value in binary mode, its `data` in structured mode."""
    body = json.loads(message.value)
    return body if dict(message.headers or []).get("ce_type") else body.get("data", {})


async def owed(stack: Stack, person_id: str) -> Decimal:
    engine = make_engine(stack.infra.pg.url("monitoring"))
    try:
        async with engine.connect() as conn:
            sql = text("SELECT open_overpayments FROM records WHERE person_id = :p")
            return (await conn.execute(sql, {"p": uuid.UUID(person_id)})).scalar_one()
    finally:
        await engine.dispose()


async def test_a_recovered_overpayment_closes_paid_after_death_with_the_reason_once(stack: Stack) -> None:
    person = await person_with_case(stack, amount="650.00")
    number, pid = person["id_number"], person["person_id"]
    async with stack["assistance"].client() as c:
        await build(c, fresh_month(2300))  # paid ahead, before the death was known
        await death_confirmed(stack, number)
        await wait_case(c, number, status="terminated", status_reason="death")
        opened = await paid_after_death(stack, number, "open")
        assert "650.00" in opened["summary"]
        (over,) = (await c.get("/v1/overpayments", params={"id_number": number})).json()["items"]
        r = await c.post(f"/v1/overpayments/{over['id']}/recover", json={"note": "receipt 2026-201"})
        assert r.status_code == 200, r.text

    closed = await paid_after_death(stack, number, "resolved")
    assert closed["alert_id"] == opened["alert_id"] and closed["resolution"] == "auto: overpayment recovered"
    assert await owed(stack, pid) == Decimal("0")
    (sent,) = [m for m in await on_topic(stack, ev.ASSISTANCE_EVENTS, pid) if _type(m) == RESOLVED_TYPE]
    data = _data(sent)
    assert (data["overpayment_id"], data["amount"], data["outcome"]) == (over["id"], "650.00", "recovered")
    assert data["resolved_by"] == "tester" and data["resolved_on"] == date.today().isoformat()

    # Delivered again under its own id, and told again under a new one: nothing owed goes below zero, no alert moves.
    await produce(stack.infra.broker.bootstrap, ev.ASSISTANCE_EVENTS, sent.value, sent.key.decode(), list(sent.headers))
    retold = envelope(service="assistance", type=RESOLVED_TYPE, subject=pid, data=data)
    await produce(stack.infra.broker.bootstrap, ev.ASSISTANCE_EVENTS, retold, sent.key.decode())
    await processed(stack, {retold["id"]})
    assert await owed(stack, pid) == Decimal("0")
    assert await paid_after_death(stack, number, "resolved") == closed

    async def announced() -> list[tuple[str | None, str]] | None:
        published = await on_topic(stack, ev.MONITORING_ALERTS, pid)
        mine = [(_type(m), _data(m)["status"]) for m in published if _data(m)["kind"] == "paid_after_death"]
        return mine if len(mine) >= 2 else None

    assert await eventually(announced, timeout=10) == [
        ("monitoring.alert.raised", "open"),
        ("monitoring.alert.resolved", "resolved"),
    ]


async def test_a_revoked_death_writes_the_overpayment_off_and_closes_paid_after_death(stack: Stack) -> None:
    person = await person_with_case(stack, amount="620.00")
    number, pid = person["id_number"], person["person_id"]
    async with stack["assistance"].client() as c, stack["registry"].client() as reg:
        await build(c, fresh_month(2300))
        death_id = await death_confirmed(stack, number)
        await wait_case(c, number, status="terminated", status_reason="death")
        await paid_after_death(stack, number, "open")
        r = await reg.post(f"/v1/deaths/{death_id}/revoke", json={"reason": "another person's record"})
        assert r.status_code == 200, r.text
    closed = await paid_after_death(stack, number, "resolved")
    assert closed["resolution"] == "auto: overpayment written off"
    assert await owed(stack, pid) == Decimal("0")
