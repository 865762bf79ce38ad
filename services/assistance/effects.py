"""What registry events do to cases, a chunk at a time.

A death suspends every active case of the person (reason `death`, reversible),
a **confirmed** death terminates them and records as an overpayment every month
paid after the death. Either remembers the status the case had before (active,
or a gradual exit with its reason), and a revoked death restores exactly that:
the overpayment is written off with the reason, and the next payroll pays back
every month the death kept from a payroll, withheld or left out (payroll.py). A hukou change
moves the cases to the person's new division; a move out of the district
pays to the end of the month of the move and marks the case for transfer. A
household change (birth, marriage, adoption, a member's death) makes a
review of its members' cases due (`assistance.review.due`).

The chunk is applied with a fixed number of statements whatever its size: the
cases of every person named are read and locked at once, each person's events
are folded over their cases in order in Python (so a death and its
revocation in one chunk give what they give one by one), and the changed
cases, the deaths heard of, the overpayments and the events they emit are
written in bulk. A chunk of deaths alone (a district's deaths arrive as a flood
of them, and the runner applies each event alone when a chunk fails) takes a
cheaper path: one statement suspends the cases, writes their events and
remembers the deaths, with no Python object per row (`suspend_for_deaths`).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from sqlalchemy import any_, cast, select, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncSession

from services import overpayments
from services.assistance import amounts
from services.assistance.domain import cases as rules
from services.assistance.models import Case
from services.assistance.payroll import month_end
from services.assistance.usecases import case_event
from shared import bulk, clock
from shared import event_types as ev
from shared.events import OutboxInsert, notify_relay, publish_many

# The columns a registry event can change, as they travel in bulk.
WRITTEN = {
    "id": "uuid",
    "status": "text",
    "status_reason": "text",
    "status_changed_on": "date",
    "hukou_division": "text",
    "paid_until": "date",
    "transfer_pending": "boolean",
    "review_due_on": "date",
    "status_before_death": "text",
    "reason_before_death": "text",
}
Relevant = ev.PersonDied | ev.DeathConfirmed | ev.DeathRevoked | ev.HukouChanged | ev.HouseholdChanged
DEATH_REPORT = {"death_id": "uuid", "person_id": "uuid", "date_of_death": "date", "status": "text"}


@dataclass
class CaseRow:
    """A case as the fold sees it (the attributes `case_event` reads, like the ORM's)."""

    id: uuid.UUID
    person_id: uuid.UUID
    id_number: str
    program: str
    monthly_amount: Decimal
    status: str
    status_reason: str | None
    status_changed_on: date | None
    started_on: date
    hukou_division: str
    paid_until: date | None
    transfer_pending: bool
    review_due_on: date | None
    status_before_death: str | None
    reason_before_death: str | None
    changed: bool = False
    died_on: date | None = None  # set when a confirmed death terminated the case: months after it were overpaid
    revived: bool = False  # a terminated case resumed because its death was revoked


def step(case: CaseRow, payload: Relevant, today: date) -> ev.Payload | None:
    """One registry event applied to one case; the event the case then publishes, if any."""
    if isinstance(payload, ev.HukouChanged):
        return _moved(case, payload)
    if isinstance(payload, ev.HouseholdChanged):
        return _review(case, today)
    if isinstance(payload, ev.DeathConfirmed):
        return _terminate(case, payload.date_of_death)
    if isinstance(payload, ev.PersonDied):
        if not rules.suspend_for_death(rules.CaseStatus(case.status)):
            return None
        _remember_status(case)
        case.status, case.status_reason = rules.CaseStatus.SUSPENDED, "death"
        case.status_changed_on, case.changed = payload.date_of_death, True
        return case_event(ev.CaseSuspended, case, reason="death")
    return _restore(case, today)


def _remember_status(case: CaseRow) -> None:
    """The status a death interrupts, kept once: a suspension then a termination keep the one before both."""
    if case.status_before_death is None:
        case.status_before_death, case.reason_before_death = case.status, case.status_reason


def _restore(case: CaseRow, today: date) -> ev.CaseResumed | None:
    """A revoked death undoes what it did: the case returns to the status it had before (a gradual exit stays one,
    with its reason and last month); a confirmed death's overpayment was due after all (written off)."""
    if not rules.resume_after_revoked_death(rules.CaseStatus(case.status), case.status_reason):
        return None
    case.revived = case.revived or case.status == rules.CaseStatus.TERMINATED
    before = case.status_before_death or rules.CaseStatus.ACTIVE  # a case held before the column: it was active
    case.status = before
    case.status_reason = case.reason_before_death if before == rules.CaseStatus.GRADUAL_EXIT else "death revoked"
    case.status_before_death = case.reason_before_death = None
    case.status_changed_on, case.changed, case.died_on = today, True, None
    return case_event(ev.CaseResumed, case, reason="death revoked")


def _moved(case: CaseRow, payload: ev.HukouChanged) -> None:
    """A move out of the district pays to the end of the month of the move and hands the case over."""
    case.hukou_division, case.changed = payload.hukou_division, True
    if not payload.in_district and case.status != rules.CaseStatus.TERMINATED:
        case.paid_until, case.transfer_pending = month_end(payload.effective_date), True
    elif payload.in_district and case.transfer_pending:  # back before the handover: paid as before
        case.paid_until, case.transfer_pending = None, False
    return None


def _review(case: CaseRow, today: date) -> ev.ReviewDue | None:
    """The household changed: the case's amount rests on the old household, so it is reviewed now."""
    if case.status == rules.CaseStatus.TERMINATED:
        return None
    case.review_due_on, case.changed = today, True
    return ev.ReviewDue(
        person_id=case.person_id,
        id_number=case.id_number,
        hukou_division=case.hukou_division,
        case_id=case.id,
        program=case.program,
        due_on=today,
    )


def _terminate(case: CaseRow, died_on: date) -> ev.CaseTerminated | None:
    """A confirmed death ends the case from the day after it; what was paid for later months is overpaid."""
    if case.status == rules.CaseStatus.TERMINATED:
        return None
    _remember_status(case)
    case.status, case.status_reason = rules.CaseStatus.TERMINATED, "death"
    case.status_changed_on, case.changed, case.died_on = died_on, True, died_on
    return case_event(ev.CaseTerminated, case, reason="death confirmed")


def _persons(payload: Relevant) -> list[uuid.UUID]:
    """Whose cases an event touches: the person's, or every member's before and after a household change."""
    if isinstance(payload, ev.HouseholdChanged):
        return list(dict.fromkeys(m.person_id for m in [*payload.members_before, *payload.members_after]))
    return [payload.person_id]


async def apply(session: AsyncSession, payloads: Sequence[BaseModel], today: date | None = None) -> list[ev.Payload]:
    """Apply a chunk of registry events to the cases, in order; return the events published."""
    relevant = [p for p in payloads if isinstance(p, Relevant)]
    if not relevant:
        return []
    by_person = await _lock_cases(session, {pid for p in relevant for pid in _persons(p)})
    today = today or clock.today()
    emitted: list[ev.Payload] = [
        e for p in relevant for pid in _persons(p) for case in by_person.get(pid, []) if (e := step(case, p, today))
    ]
    cases = [c for person_cases in by_person.values() for c in person_cases]
    await bulk.update(session, "cases", "id", WRITTEN, [vars(c) for c in cases if c.changed], also="updated_at = now()")
    await _remember_deaths(session, relevant)
    emitted += await _withdraw_overpayments(session, [c for c in cases if c.revived])
    emitted += await _detect_overpayments(session, [c for c in cases if c.died_on])
    await publish_many(session, emitted)
    deaths = [(p.person_id, p.date_of_death) for p in relevant if isinstance(p, ev.DeathConfirmed)]
    return emitted + await amounts.after_deaths(session, deaths)  # the others of a dibao household reassessed


async def _remember_deaths(session: AsyncSession, payloads: Sequence[Relevant]) -> None:
    """The deaths heard of, by death id, with their latest status (the payroll's gate reads them)."""
    latest: dict[uuid.UUID, dict[str, Any]] = {}
    for p in payloads:
        if isinstance(p, ev.PersonDied | ev.DeathConfirmed | ev.DeathRevoked):
            status = p.status if isinstance(p, ev.PersonDied | ev.DeathConfirmed) else "revoked"
            latest[p.death_id] = {
                "death_id": p.death_id,
                "person_id": p.person_id,
                "date_of_death": p.date_of_death,
                "status": status,
            }
    await bulk.insert(
        session,
        "death_reports",
        DEATH_REPORT,
        list(latest.values()),
        on_conflict="ON CONFLICT (death_id) DO UPDATE SET status = EXCLUDED.status, "
        "date_of_death = EXCLUDED.date_of_death, updated_at = now()",
    )


# Every month paid after the death, one overpayment per case (a case is terminated once).
_DETECT = text(
    """
    INSERT INTO overpayments (id, case_id, person_id, id_number, program, amount, months, reason, status,
                              hukou_division)
    SELECT gen_random_uuid(), c.id, c.person_id, c.id_number, c.program, sum(l.amount),
           array_agg(to_char(l.for_month, 'YYYY-MM') ORDER BY l.for_month),
           'paid for months after the death on ' || to_char(u.died, 'YYYY-MM-DD'), 'open', c.hukou_division
    FROM unnest(CAST(:case_ids AS uuid[]), CAST(:died AS date[])) AS u(case_id, died)
    JOIN cases c ON c.id = u.case_id
    JOIN payroll_lines l ON l.case_id = u.case_id AND l.status = 'paid' AND l.for_month > u.died
    GROUP BY c.id, c.person_id, c.id_number, c.program, c.hukou_division, u.died
    ON CONFLICT (case_id) DO NOTHING
    RETURNING id, person_id, id_number, hukou_division, program, amount, reason
    """
)


# Overpayments of cases whose death was revoked: nothing was overpaid; closed, saying why.
_WITHDRAW = text(
    """
    UPDATE overpayments SET status = 'written_off', resolved_by = 'registry.death.revoked', resolved_at = now(),
        resolution_note = 'the death was revoked: the months were due'
    WHERE case_id = ANY(CAST(:case_ids AS uuid[])) AND status = 'open'
    RETURNING id, person_id, id_number, hukou_division, program, amount, status, resolved_by
    """
)


async def _withdraw_overpayments(session: AsyncSession, revived: list[CaseRow]) -> list[ev.Payload]:
    """Written off, and announced as such: monitoring stops counting them as owed."""
    if not revived:
        return []
    found = await session.execute(_WITHDRAW, {"case_ids": [c.id for c in revived]})
    return [overpayments.resolved_event("assistance", r) for r in found]


async def _detect_overpayments(session: AsyncSession, terminated: list[CaseRow]) -> list[ev.Payload]:
    if not terminated:
        return []
    found = await session.execute(
        _DETECT, {"case_ids": [c.id for c in terminated], "died": [c.died_on for c in terminated]}
    )
    return [
        ev.AssistanceOverpaymentDetected(
            person_id=r.person_id,
            id_number=r.id_number,
            hukou_division=r.hukou_division,
            overpayment_id=r.id,
            program=r.program,
            amount=r.amount,
            reason=r.reason,
        )
        for r in found
    ]


async def _lock_cases(session: AsyncSession, person_ids: set[uuid.UUID]) -> dict[uuid.UUID, list[CaseRow]]:
    """Every case of these persons, locked, in a fixed order (two chunks never wait on each other in a cycle)."""
    t = Case.__table__
    columns = [t.c[f] for f in CaseRow.__dataclass_fields__ if f not in ("changed", "died_on", "revived")]
    stmt = (
        select(*columns)
        .where(t.c.person_id == any_(cast(sorted(person_ids), ARRAY(UUID()))))
        .order_by(t.c.id)
        .with_for_update()
    )
    by_person: dict[uuid.UUID, list[CaseRow]] = defaultdict(list)
    for row in (await session.execute(stmt)).mappings():
        by_person[row["person_id"]].append(CaseRow(**row))
    return by_person


def deaths_only(payloads: Sequence[BaseModel]) -> list[ev.PersonDied] | None:
    """The chunk's deaths if it holds nothing else and names each person once; None otherwise."""
    deaths = [p for p in payloads if type(p) is ev.PersonDied]
    if not deaths or len(deaths) != len(payloads) or len({d.person_id for d in deaths}) != len(deaths):
        return None
    return deaths


# What `step` does for a death, in SQL: each active case of the dead suspended (reason death, from the date of
# death), the status it had kept for a revocation; an `assistance.case.suspended` for each, a person's in case
# order as the fold emits them (the outbox computes the rest of the envelope); the death remembered for the
# payroll's gate. Cases locked in id order, as `_lock_cases` does.
_SUSPENDED = OutboxInsert(
    "suspended",
    """jsonb_build_object(
        'person_id', s.person_id, 'id_number', s.id_number, 'hukou_division', s.hukou_division,
        'case_id', s.id, 'program', s.program, 'status', s.status, 'monthly_amount', s.monthly_amount::text,
        'effective_date', s.status_changed_on, 'reason', 'death')""",
    subject_field="case_id",
    subject="s.id",
    order_by="s.person_id, s.id",
)
_SUSPEND_FOR_DEATHS = text(
    f"""
    WITH died AS (
        SELECT * FROM unnest(CAST(:person_ids AS uuid[]), CAST(:dates AS date[]), CAST(:death_ids AS uuid[]),
                             CAST(:statuses AS text[])) AS d(person_id, died_on, death_id, status)
    ),
    locked AS MATERIALIZED (
        SELECT c.id, died.died_on FROM cases c JOIN died ON died.person_id = c.person_id
        WHERE c.person_id = ANY(CAST(:person_ids AS uuid[])) AND c.status = 'active'  -- by index, whatever the stats
        ORDER BY c.id FOR UPDATE OF c
    ),
    suspended AS (
        UPDATE cases c SET status = 'suspended', status_reason = 'death', status_changed_on = l.died_on,
            status_before_death = coalesce(c.status_before_death, c.status),
            reason_before_death = CASE WHEN c.status_before_death IS NULL THEN c.status_reason
                                       ELSE c.reason_before_death END,
            updated_at = now()
        FROM locked l WHERE c.id = l.id
        RETURNING c.id, c.person_id, c.id_number, c.hukou_division, c.program, c.status, c.monthly_amount,
                  c.status_changed_on
    ),
    events AS ({_SUSPENDED.sql()})
    INSERT INTO death_reports (death_id, person_id, date_of_death, status)
    SELECT death_id, person_id, died_on, status FROM died
    ON CONFLICT (death_id) DO UPDATE SET status = EXCLUDED.status, date_of_death = EXCLUDED.date_of_death,
        updated_at = now()
    """  # noqa: S608 - every fragment is a constant of this module
)


async def suspend_for_deaths(session: AsyncSession, deaths: Sequence[ev.PersonDied]) -> None:
    """A chunk of deaths alone (`deaths_only`): what `apply` does for them, in one statement."""
    params = {
        "person_ids": [d.person_id for d in deaths],
        "dates": [d.date_of_death for d in deaths],
        "death_ids": [d.death_id for d in deaths],
        "statuses": [d.status for d in deaths],
        **_SUSPENDED.params("assistance.case.suspended"),
    }
    await session.execute(_SUSPEND_FOR_DEATHS, params)
    await notify_relay(session)
