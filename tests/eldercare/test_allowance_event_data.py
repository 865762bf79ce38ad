"""The data of eldercare.allowance.* events as PostgreSQL builds it: the model's fields, keys in jsonb's order."""

from __future__ import annotations

from services.eldercare.allowances import outbox
from shared import event_types as ev
from tests.eldercare.helpers import fetch
from tests.support import Stack


def test_the_data_has_exactly_the_events_fields() -> None:
    assert set(outbox.FIELDS) == set(ev.AllowanceEvent.model_fields)


async def test_keys_are_given_in_the_order_jsonb_stores_them(stack: Stack) -> None:
    """Given in that order, the sort each object's keys go through has nothing to move (the CPU it saves)."""
    backwards = sorted(outbox.FIELDS, reverse=True)  # no order of ours: PostgreSQL's own comes back
    names = ", ".join(f"'{k}'" for k in backwards)
    rows = await fetch(stack, f"SELECT jsonb_object_keys(jsonb_object(ARRAY[{names}], ARRAY[{names}])) AS k")
    assert [r["k"] for r in rows] == outbox.jsonb_order(outbox.FIELDS)
