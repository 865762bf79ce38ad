"""Discovery: everyone the allowance is due to is enrolled, raised and stopped without being asked.

One set-based pass over the people copy, three statements whatever the number
of residents (`INSERT ... SELECT` and `UPDATE ... FROM`, each writing its
events to the outbox in the same statement):

- enrol: residents aged 80+ on `as_of`, alive, with registration in the
  district, and no active allowance (a stopped one, e.g. after a move out and
  back, is made active again);
- raise: active allowances whose bracket for the month of `as_of` is higher
  than the amount on record (90 and 100, from the month after the birthday),
  each announced as `eldercare.allowance.changed` (effective from the first
  of that month) so monitoring and partners see the new amount;
- stop: active allowances of people now recorded as dead (on the date of
  death) or moved out (at the end of the month of `as_of`).

A second run finds nothing to do, so it changes nothing. A milestone (80) or
a move in enrols by the same rule in the registry events' fold (effects.py);
either way the allowance id is derived from the person id (`allowance_id`), so
an event and a later discovery give one allowance. Discovery takes one
advisory lock (two runs never overlap), and new allowances are a plain
`INSERT ... SELECT`, without the cost of a speculative insertion per row that
`ON CONFLICT` would add; the primary key on the person id is the second lock.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.eldercare.allowances import brackets as br
from services.eldercare.allowances import outbox
from services.eldercare.care.rosters import born_by
from shared import locks
from shared.events import notify_relay

ELIGIBLE_AGE = 80  # the youngest bracket is the policy's; this is what the registry's milestone announces
EXPLAINED = "found without asking: aged 80+ with registration in the district on {on}"
LOCK = "eldercare.allowance-discovery"

_EXPLAINED = "CAST(:explained AS text)"
# The events of the allowances each statement returns (its CTE: enrolled, raised or stopped).
_ENROLLED, _RAISED, _STOPPED = (outbox.allowance_events(cte) for cte in ("enrolled", "raised", "stopped"))

# The eligible on `as_of`; `{amount}` is filled in by `enrol`.
_ELIGIBLE = """
    eligible AS (
        SELECT p.person_id, p.id_number, p.hukou_division, {amount} AS amount
        FROM people p
        WHERE p.in_district AND p.status <> 'deceased' AND p.birth_date <= :born_by
    )
"""
_RETURNED = """
    RETURNING a.id, a.person_id, a.id_number, a.hukou_division, a.status, a.monthly_amount, a.started_on,
              a.stopped_on, CAST(NULL AS text) AS reason
"""

# Those with no allowance row at all: a plain insert (no speculative insertion per row; the lock keeps
# other enrolments out, the primary key on the person id is the second lock), in the key's order, so the
# B-tree is filled page after page instead of at 200,000 random places (and its pages left full, not split).
_ENROL_NEW = f"""
    WITH {_ELIGIBLE}, enrolled AS (
        INSERT INTO allowances AS a (id, person_id, id_number, status, monthly_amount, explanation, started_on,
                                     stopped_on, stop_reason, hukou_division)
        SELECT md5(e.person_id::text)::uuid, e.person_id, e.id_number, 'active', e.amount, {{explained}},
               CAST(:as_of AS date), NULL, NULL, e.hukou_division
        FROM eligible e
        WHERE NOT EXISTS (SELECT 1 FROM allowances x WHERE x.person_id = e.person_id)
        ORDER BY e.person_id
        {_RETURNED})
"""  # noqa: S608 - every fragment is a constant of this module

# Those whose allowance was stopped and who are eligible again (moved back in, a death revoked).
_ENROL_AGAIN = f"""
    WITH {_ELIGIBLE}, enrolled AS (
        UPDATE allowances a
        SET status = 'active', monthly_amount = e.amount, explanation = {{explained}},
            started_on = CAST(:as_of AS date), stopped_on = NULL, stop_reason = NULL,
            hukou_division = e.hukou_division, updated_at = now()
        FROM eligible e
        WHERE a.person_id = e.person_id AND a.status <> 'active'
        {_RETURNED})
"""  # noqa: S608 - every fragment is a constant of this module

# Raised allowances, each announced as `eldercare.allowance.changed` (effective from the first of the month).
_RAISE = """
    WITH raised AS (
        UPDATE allowances a
        SET monthly_amount = n.amount, updated_at = now(),
            explanation = 'bracket raised from ' || to_char(CAST(:as_of AS date), 'YYYY-MM') || ': '
                          || n.amount::text || ' yuan a month'
        FROM (SELECT p.person_id, {amount} AS amount FROM people p WHERE p.birth_date <= :raisable) n
        WHERE a.person_id = n.person_id AND a.status = 'active' AND n.amount > a.monthly_amount
        RETURNING a.id, a.person_id, a.id_number, a.hukou_division, a.status, a.monthly_amount,
                  CAST(:month_start AS date) AS started_on, CAST(NULL AS date) AS stopped_on,
                  a.explanation AS reason
    )
"""

_STOP = """
    WITH stopped AS (
        UPDATE allowances a
        SET status = 'stopped', updated_at = now(),
            stopped_on = CASE WHEN p.status = 'deceased' THEN coalesce(p.date_of_death, CAST(:as_of AS date))
                              ELSE CAST(:month_end AS date) END,
            stop_reason = CASE WHEN p.status = 'deceased' THEN 'death' ELSE 'moved_out' END
        FROM people p
        WHERE a.person_id = p.person_id AND a.status = 'active' AND (p.status = 'deceased' OR NOT p.in_district)
        RETURNING a.id, a.person_id, a.id_number, a.hukou_division, a.status, a.monthly_amount, a.started_on,
                  a.stopped_on, a.stop_reason AS reason
    )
"""


@dataclass(frozen=True)
class Counts:
    enrolled: int
    raised: int
    stopped: int


async def discover(session: AsyncSession, as_of: date) -> Counts:
    """Enrol, raise and stop as of `as_of`: one pass, idempotent; the caller commits."""
    await locks.hold(session, LOCK)
    # A first run over a district returns 200,000 rows from its CTE: kept in memory, not spilled to disk.
    await session.execute(text("SET LOCAL work_mem = '64MB'"))
    # Each statement joins hundreds of thousands of rows: hash joins. With statistics saying `allowances` is
    # empty (analysed when it was), the planner picks a nested loop whose inner side scans `allowances` once per
    # eligible person while the same statement fills it: 200,000 x 200,000 visibility checks (minutes, not
    # seconds). No nested loop in discovery's statements, whatever the statistics.
    await session.execute(text("SET LOCAL enable_nestloop = off"))
    enrolled = await enrol(session, as_of)
    brackets = await br.in_force(session, as_of)
    amount = br.amount_case(brackets, as_of, otherwise=brackets[0].monthly_amount)
    raised = await session.execute(
        text(_RAISE.format(amount=amount.sql) + _RAISED.sql()),
        {
            **amount.params,
            "as_of": as_of,
            "month_start": br.month_start(as_of),
            "raisable": _raisable(brackets, as_of),
            **_RAISED.params("eldercare.allowance.changed"),
        },
    )
    stopped = await session.execute(
        text(_STOP + _STOPPED.sql()),
        {"as_of": as_of, "month_end": br.month_end(as_of), **_STOPPED.params("eldercare.allowance.stopped")},
    )
    await notify_relay(session)
    return Counts(enrolled, raised.rowcount, stopped.rowcount)  # type: ignore[attr-defined]


def allowance_id(person_id: uuid.UUID) -> uuid.UUID:
    """A person's allowance id, the same whoever enrols them (an event or discovery): md5 of the person id, as SQL."""
    return uuid.UUID(hashlib.md5(str(person_id).encode(), usedforsecurity=False).hexdigest())


async def enrol(session: AsyncSession, as_of: date) -> int:
    """Enrol everyone eligible on `as_of` who has no active allowance (two statements)."""
    brackets = await br.in_force(session, as_of)
    amount = br.amount_case(brackets, as_of, otherwise=brackets[0].monthly_amount)
    params = {
        **amount.params,
        "as_of": as_of,
        "born_by": born_by(as_of, ELIGIBLE_AGE),
        "explained": EXPLAINED.format(on=as_of.isoformat()),
        **_ENROLLED.params("eldercare.allowance.enrolled"),
    }
    enrolled = 0
    for sql in (_ENROL_NEW, _ENROL_AGAIN):
        statement = sql.format(amount=amount.sql, explained=_EXPLAINED)
        statement += _ENROLLED.sql()
        enrolled += (await session.execute(text(statement), params)).rowcount  # type: ignore[attr-defined]
    await notify_relay(session)
    return enrolled


def _raisable(brackets: list[br.Bracket], as_of: date) -> date:
    """The latest birth date of anyone whose bracket this month can be above the youngest (90+ by last month)."""
    above = brackets[1].min_age if len(brackets) > 1 else 200
    return born_by(br.reached_by(as_of), above)
