"""The `eldercare.allowance.*` events of allowance rows, written by the statement that changes the rows.

Discovery may enrol 200,000 people at once and a death stops allowances by
the chunk: their events are assembled by PostgreSQL from the rows the
statement returns, through the one outbox writer (`shared.events.OutboxInsert`).
"""

from __future__ import annotations

from shared.events import OutboxInsert

# The data of eldercare.allowance.* events, from a row `s` of the allowances table (as RETURNING gives it).
ALLOWANCE_DATA = """jsonb_build_object(
    'person_id', s.person_id, 'id_number', s.id_number, 'hukou_division', s.hukou_division,
    'allowance_id', s.id, 'status', s.status, 'monthly_amount', s.monthly_amount::text,
    'effective_date', coalesce(s.stopped_on, s.started_on), 'reason', s.reason)"""


def allowance_events(source: str) -> OutboxInsert:
    """The events of the allowance rows of `source` (a CTE's name): keyed by person, the allowance the subject."""
    return OutboxInsert(source, ALLOWANCE_DATA, subject_field="allowance_id", subject="s.id")
