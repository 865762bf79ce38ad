"""The period figures of /v1/stats that the records cannot answer: amounts paid, and people entering and leaving.

A record says what is in force today; the bureau's monthly report also asks what was paid in a month and who came
into or left each program in it. Both come from the events assistance and eldercare publish, counted into one small
table of totals per (month, program, division):

- `*.payment.issued`: the amount and the number of payments, by the month the line pays (a back-pay line counts in
  the month it pays for). "Paid" is what was paid: the overpayments detected (`*.overpayment.detected`, dated by the
  business day they arrive on, since the event carries no date) are counted beside it, never subtracted, and so
  are their closings (`*.overpayment.resolved`: recovered or written off, by the business day of the closing).
  Effects.py folds the same closings into the records and closes the paid-after-death alerts.
- a case or allowance enrolled, terminated or stopped: a person entering or leaving the program, dated by the event's
  effective date. Each person's coverage per program is kept (`coverage`), so an enrolment of someone already
  covered is no entry, and an ending of someone already out no exit. A suspension or a resumption is neither: the
  person stays in the program. An ending of someone not heard of before is an exit (covered before monitoring heard).

The consumer runner records each event id once per consumer (processed_events), so a redelivered event counts once.
A chunk takes at most three statements whatever its size: coverage read and locked, coverage written, totals added.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import Boolean, Date, Integer, Numeric, Select, String, bindparam, cast, func, select
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from services.monitoring.models import Base
from shared import bulk, clock, divisions
from shared import event_types as ev
from shared.consumer import Consumer
from shared.events import ReceivedEvent

ALLOWANCE = "old_age_allowance"  # the program name monitoring's records give the allowance
ENTERING = (ev.CaseEnrolled, ev.AllowanceEnrolled)
LEAVING = (ev.CaseTerminated, ev.AllowanceStopped)
MOVES = ENTERING + LEAVING
HANDLED = (
    "assistance.payment.issued",
    "eldercare.payment.issued",
    "assistance.overpayment.detected",
    "eldercare.overpayment.detected",
    "assistance.overpayment.resolved",
    "eldercare.overpayment.resolved",
    "assistance.case.enrolled",
    "assistance.case.terminated",
    "eldercare.allowance.enrolled",
    "eldercare.allowance.stopped",
)
TOTAL_COLUMNS = {
    "month": "text",
    "program": "text",
    "hukou_division": "text",
    "paid": "numeric",
    "payments": "integer",
    "overpaid": "numeric",
    "overpayments": "integer",
    "entered": "integer",
    "exited": "integer",
    "recovered": "numeric",
    "recoveries": "integer",
    "written_off": "numeric",
    "write_offs": "integer",
}
SUMMED = tuple(c for c in TOTAL_COLUMNS if c not in ("month", "program", "hukou_division"))
ADD_TOTALS = "ON CONFLICT (month, program, hukou_division) DO UPDATE SET " + ", ".join(
    f"{c} = program_months.{c} + EXCLUDED.{c}" for c in SUMMED
)
COVERAGE_COLUMNS = {"person_id": "uuid", "program": "text", "covered": "boolean", "since": "date"}
SET_COVERAGE = "ON CONFLICT (person_id, program) DO UPDATE SET covered = EXCLUDED.covered, since = EXCLUDED.since"


class ProgramMonth(Base):
    """A month's figures of one program in one division (community, or town for records held there)."""

    __tablename__ = "program_months"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM
    program: Mapped[str] = mapped_column(String(50), primary_key=True)
    hukou_division: Mapped[str] = mapped_column(String(12), primary_key=True)
    paid: Mapped[Decimal] = mapped_column(Numeric(16, 2), default=Decimal("0"))
    payments: Mapped[int] = mapped_column(Integer, default=0)
    overpaid: Mapped[Decimal] = mapped_column(Numeric(16, 2), default=Decimal("0"))
    overpayments: Mapped[int] = mapped_column(Integer, default=0)
    entered: Mapped[int] = mapped_column(Integer, default=0)
    exited: Mapped[int] = mapped_column(Integer, default=0)
    recovered: Mapped[Decimal] = mapped_column(Numeric(16, 2), default=Decimal("0"))
    recoveries: Mapped[int] = mapped_column(Integer, default=0)
    written_off: Mapped[Decimal] = mapped_column(Numeric(16, 2), default=Decimal("0"))
    write_offs: Mapped[int] = mapped_column(Integer, default=0)


class Coverage(Base):
    """Whether a person is in a program (active or suspended), and since which business day."""

    __tablename__ = "coverage"

    person_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    program: Mapped[str] = mapped_column(String(50), primary_key=True)
    covered: Mapped[bool] = mapped_column(Boolean)
    since: Mapped[date] = mapped_column(Date)


@dataclass
class Totals:
    paid: Decimal = Decimal("0")
    payments: int = 0
    overpaid: Decimal = Decimal("0")
    overpayments: int = 0
    entered: int = 0
    exited: int = 0
    recovered: Decimal = Decimal("0")
    recoveries: int = 0
    written_off: Decimal = Decimal("0")
    write_offs: int = 0


@dataclass
class Count:
    """A chunk's events folded in order (pure): the totals to add and each person's coverage after them."""

    coverage: dict[tuple[uuid.UUID, str], bool]  # as read; changed in place
    today: date
    totals: dict[tuple[str, str, str], Totals] = field(default_factory=dict)
    changed: dict[tuple[uuid.UUID, str], date] = field(default_factory=dict)  # coverage written, with its day

    def at(self, month: str, program: str, division: str) -> Totals:
        return self.totals.setdefault((month, program, division), Totals())

    def apply(self, p: ev.Payload) -> None:
        if isinstance(p, ev.PaymentIssued):
            t = self.at(p.month, program_of(p), p.hukou_division)
            t.paid, t.payments = t.paid + p.amount, t.payments + 1
        elif isinstance(p, ev.OverpaymentDetected):
            t = self.at(month_of(self.today), program_of(p), p.hukou_division)
            t.overpaid, t.overpayments = t.overpaid + p.amount, t.overpayments + 1
        elif isinstance(p, ev.OverpaymentResolved):
            t = self.at(month_of(p.resolved_on), program_of(p), p.hukou_division)
            if p.outcome == "recovered":
                t.recovered, t.recoveries = t.recovered + p.amount, t.recoveries + 1
            else:
                t.written_off, t.write_offs = t.written_off + p.amount, t.write_offs + 1
        elif isinstance(p, MOVES):
            self._moved(p)

    def _moved(self, p: ev.CaseEvent | ev.AllowanceEvent) -> None:
        """Into or out of the program, when that changes the person's coverage.

        Someone not heard of before counts: an enrolment as an entry, an ending as an exit (covered before
        monitoring heard of them).
        """
        key = (p.person_id, program_of(p))
        entering = isinstance(p, ENTERING)
        before = self.coverage.get(key)
        if before == entering:
            return  # enrolled again while in, or ended again while out
        self.coverage[key], self.changed[key] = entering, p.effective_date
        t = self.at(month_of(p.effective_date), key[1], p.hukou_division)
        if entering:
            t.entered += 1
        else:
            t.exited += 1


def program_of(
    p: ev.PaymentIssued | ev.OverpaymentDetected | ev.OverpaymentResolved | ev.CaseEvent | ev.AllowanceEvent,
) -> str:
    """The program an event is about: eldercare's allowance events name none (it is the allowance)."""
    return ALLOWANCE if isinstance(p, ev.AllowanceEvent) else p.program


def _by_person_program(item: tuple[tuple[uuid.UUID, str], date]) -> tuple[int, str]:
    (person_id, program), _ = item
    return bulk.uuid_order(person_id), program


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


async def apply(session: AsyncSession, events: Sequence[ReceivedEvent], today: date | None = None) -> Count:
    """Count a chunk of events into the month totals and coverage, in at most three statements."""
    payloads = [e.payload for e in events if e.type in HANDLED]
    count = Count(coverage={}, today=today or clock.today())
    movers = sorted({p.person_id for p in payloads if isinstance(p, MOVES)}, key=bulk.uuid_order)
    if movers:
        count.coverage = await _lock_coverage(session, movers)
    for p in payloads:
        count.apply(p)
    rows = [
        {"person_id": pid, "program": program, "covered": count.coverage[pid, program], "since": day}
        for (pid, program), day in sorted(count.changed.items(), key=_by_person_program)
    ]
    await bulk.insert(session, "coverage", COVERAGE_COLUMNS, rows, on_conflict=SET_COVERAGE)
    # Sorted by key: concurrent chunks add to shared rows in one order (they wait, never deadlock).
    totals = [
        {"month": m, "program": p, "hukou_division": d, **vars(t)} for (m, p, d), t in sorted(count.totals.items())
    ]
    await bulk.insert(session, "program_months", TOTAL_COLUMNS, totals, on_conflict=ADD_TOTALS)
    return count


def _lock_coverage_statement() -> Select[tuple[uuid.UUID, str, bool]]:
    """Built once: SQLAlchemy keeps a statement's cache key on it, and a statement built per chunk computed it anew.

    The persons as a relation (`IN (SELECT unnest(...))`), not `= ANY(array)`: the table starts empty and grows by
    a chunk's persons at a time, so its statistics lag, and a plan that scanned it compared every row with every
    person of the array (16 ms a chunk of 1,000 by 10,000 rows); a join probes the key once per person.
    """
    t = Coverage.__table__
    ids = cast(bindparam("person_ids", type_=ARRAY(UUID())), ARRAY(UUID()))
    stmt = select(t.c.person_id, t.c.program, t.c.covered).where(t.c.person_id.in_(select(func.unnest(ids))))
    return stmt.order_by(t.c.person_id, t.c.program).with_for_update()


_LOCK_COVERAGE = _lock_coverage_statement()


async def _lock_coverage(session: AsyncSession, person_ids: list[uuid.UUID]) -> dict[tuple[uuid.UUID, str], bool]:
    rows = await session.execute(_LOCK_COVERAGE, {"person_ids": person_ids})
    return {(pid, program): covered for pid, program, covered in rows}


flows = Consumer(name="monitoring.flows", topics=[ev.ASSISTANCE_EVENTS, ev.ELDERCARE_EVENTS])


@flows.batch
async def on_flows(session: AsyncSession, events: list[ReceivedEvent]) -> dict[str, str]:
    """A chunk of one partition's payments and enrolments counted at once (nothing is refused)."""
    await apply(session, events)
    return {}


@flows.on(*HANDLED)
async def on_flow(session: AsyncSession, event: ReceivedEvent) -> None:
    """One event alone: the runner's fallback when a chunk fails, and its retries."""
    await apply(session, [event])


@dataclass
class MonthFigures:
    """One month's payments and movements by program, in the caller's scope."""

    paid: dict[str, Totals]
    entered: dict[str, int]
    exited: dict[str, int]


async def month_figures(session: AsyncSession, month: str, scope: str) -> MonthFigures:
    """The month's totals of every division `scope` covers, by program (one query)."""
    t = ProgramMonth.__table__
    sums = [func.sum(t.c[c]) for c in SUMMED]
    stmt = select(t.c.program, *sums).where(t.c.month == month, divisions.covers_clause(t.c.hukou_division, scope))
    rows = [(program, Totals(*values)) for program, *values in await session.execute(stmt.group_by(t.c.program))]
    return MonthFigures(
        paid={p: x for p, x in rows if x.payments or x.overpayments or x.recoveries or x.write_offs},
        entered={p: x.entered for p, x in rows if x.entered},
        exited={p: x.exited for p, x in rows if x.exited},
    )
