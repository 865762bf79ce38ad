"""The `eldercare.allowance.*` events of allowance rows, written by the statement that changes the rows.

Discovery may enrol 200,000 people at once and a death stops allowances by
the chunk: their events are assembled by PostgreSQL from the rows the
statement returns, through the one outbox writer (`shared.events.OutboxInsert`).
"""

from __future__ import annotations

from shared.events import OutboxInsert

# The data of eldercare.allowance.* events, from a row `s` of the allowances table (as RETURNING gives it). Every
# field is a string (or null): jsonb_object over two text arrays builds the same JSON as jsonb_build_object
# without resolving each argument's type per row (a quarter of the data's CPU for 200,000 enrolments).
ALLOWANCE_DATA = """jsonb_object(
    ARRAY['person_id', 'id_number', 'hukou_division', 'allowance_id', 'status', 'monthly_amount', 'effective_date',
          'reason'],
    ARRAY[s.person_id::text, s.id_number, s.hukou_division, s.id::text, s.status, s.monthly_amount::text,
          to_char(coalesce(s.stopped_on, s.started_on), 'YYYY-MM-DD'), s.reason])"""


def allowance_events(source: str) -> OutboxInsert:
    """The events of the allowance rows of `source` (a CTE's name): keyed by person, the allowance the subject."""
    return OutboxInsert(source, ALLOWANCE_DATA, subject_field="allowance_id", subject="s.id")
