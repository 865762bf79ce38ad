"""The SQL form of the outbox writer (`OutboxInsert`): checked against the catalogue before any SQL, and its rows
read back as CloudEvents whose data fits the type's model, in the statement's order."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import text

from shared.db import make_engine, make_sessionmaker
from shared.events import OutboxInsert, UnpublishableEvents, notify_relay, parse_message, typed
from tests.support import Infra

# Three alerts as rows `s` (the alert's id is the key and subject of monitoring.alert.raised), listed out of order.
_ALERTS = """(SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:n AS int[])) AS a(id, n))"""
_ALERT_DATA = """jsonb_build_object('alert_id', s.id, 'kind', 'comparison_salary', 'status', 'open',
    'person_id', s.id, 'hukou_division', '340207003001', 'summary', 'line ' || s.n, 'benefits', '[]'::jsonb)"""
ALERTS = OutboxInsert(_ALERTS, _ALERT_DATA, key_field="alert_id", key="s.id", order_by="s.n")


@pytest.mark.parametrize(
    ("writer", "types", "refusal"),
    [
        (ALERTS, ["monitoring.alert.raisd"], "unknown event type"),
        (ALERTS, ["partner.death.reported"], "partner event"),
        (OutboxInsert("x", "'{}'"), ["monitoring.alert.raised"], "keyed by alert_id"),  # the SQL gives person_id
        (OutboxInsert("x", "'{}'"), ["eldercare.allowance.stopped"], "subject allowance_id"),  # no subject given
        (
            OutboxInsert("x", "'{}'", type_column="s.type"),
            ["registry.person.died", "eldercare.payment.issued"],
            "topic",
        ),
        (OutboxInsert("x", "'{}'"), ["registry.person.died", "registry.death.confirmed"], "type_column"),
    ],
)
def test_events_the_statement_cannot_write_are_refused_before_any_sql(
    writer: OutboxInsert, types: list[str], refusal: str
) -> None:
    with pytest.raises(UnpublishableEvents, match=refusal):
        writer.params(*types)


async def test_rows_read_back_in_order_as_events_that_fit_their_model(infra: Infra) -> None:
    sessionmaker = make_sessionmaker(make_engine(infra.database(f"oi_{uuid.uuid4().hex[:8]}", "monitoring")))
    ids = [uuid.uuid4() for _ in range(3)]
    async with sessionmaker() as session, session.begin():
        params = {"ids": ids, "n": [3, 1, 2], **ALERTS.params("monitoring.alert.raised")}
        await session.execute(text(ALERTS.sql()), params)
        await notify_relay(session)
    async with sessionmaker() as session:
        rows = (await session.execute(text("SELECT id, topic, key, type, envelope FROM outbox ORDER BY seq"))).all()
    assert [r.key for r in rows] == [str(ids[1]), str(ids[2]), str(ids[0])]  # written in the order asked
    assert [r.id for r in rows] == sorted(r.id for r in rows)  # ids numbered in that order too
    for row in rows:
        received = typed(parse_message(json.dumps(row.envelope).encode(), row.key.encode(), []), row.topic)
        assert (received.type, received.subject, received.source) == (row.type, row.key, "/minzheng/monitoring")
        assert str(received.payload.alert_id) == row.key and received.payload.summary.startswith("line ")
