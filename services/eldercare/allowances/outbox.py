"""Events of many rows written to the outbox by one INSERT ... SELECT, assembled on the server.

Discovery may enrol 200,000 people at once and a payroll pays as many: their
events are not built as Python objects one by one. Each row holds its id,
subject and data (a `jsonb_build_object` the caller writes in SQL) and the
attributes every event of the statement shares (type, time, trace headers);
the table computes the envelope from them when it is read (shared/outbox_schema.py).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared import event_types as ev
from shared import tracing
from shared.events import _checked_source, _notify_relay
from shared.ordered_ids import STATEMENT_ROW_ID


def insert_sql(source: str, data: str, subject: str = "s.person_id") -> str:
    """`INSERT INTO outbox ... SELECT` over `source` (rows with `person_id`, the key), each event's data `data`."""
    return f"""
    INSERT INTO outbox (id, topic, key, type, subject, time, data, headers)
    SELECT s.event_id, CAST(:topic AS text), s.person_id::text, CAST(:type AS text), {subject}::text,
        CAST(:time AS text), {data}, CAST(:headers AS jsonb)
    FROM (SELECT {STATEMENT_ROW_ID} AS event_id, r.* FROM {source} r) s
    """  # noqa: S608 - `source` and `data` are constants of the callers


def params(type_: str) -> dict[str, Any]:
    """The bound parameters of `insert_sql` for events of `type_` (keyed and subjected by person)."""
    spec = ev.CATALOGUE[type_]
    if spec.key_field != "person_id":
        raise RuntimeError(f"{type_} is keyed by person: the outbox insert assumes it")
    _checked_source(spec.service, spec.type)  # the envelope the table computes for this type is a valid CloudEvent
    headers = json.dumps(tracing.inject_headers())
    return {"topic": spec.topic, "type": spec.type, "time": datetime.now(UTC).isoformat(), "headers": headers}


async def notify(session: AsyncSession) -> None:
    """Wake the relay at commit for the rows written by SQL."""
    await _notify_relay(session)


# The data of eldercare.allowance.* events, from a row `s` of the allowances table (as RETURNING gives it).
ALLOWANCE_DATA = """jsonb_build_object(
    'person_id', s.person_id, 'id_number', s.id_number, 'hukou_division', s.hukou_division,
    'allowance_id', s.id, 'status', s.status, 'monthly_amount', s.monthly_amount::text,
    'effective_date', coalesce(s.stopped_on, s.started_on), 'reason', s.reason)"""
