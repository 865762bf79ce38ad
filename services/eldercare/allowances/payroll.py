"""The monthly allowance payroll (发放): every payable allowance's line for the month, built once, set-based.

Shaped as assistance's payroll, so the two read alike. `payrolls.month` is
unique: the same month asked for again (also by several callers at once: the
others wait on the first one's insert, then read it) answers the same payroll
and pays nothing twice; a partial unique index (one paid line per allowance and
month) is the second lock on the door.

The lines are one `INSERT ... SELECT` over the allowances. The amount of a
month is the bracket of the age reached by the last day of the month before
(brackets.py), so 90 and 100 are paid from the month after the birthday, and
nothing is paid before the month after the 80th. The pre-payment gate withholds
a line, with its reason, when a death is in review (reported or in conflict,
not yet confirmed) or recorded before the month, or the person has moved out of
the district (an allowance stopped for a move out is paid to the end of the
month of the move). A death mid-month is paid to the end of that month and not
after. Months a death kept from the payroll (withheld while it was in review,
or left out once it was confirmed) are owed once it is revoked: the next
payroll adds them as back-pay lines, each month once. Each paid line is an `eldercare.payment.issued`,
written to the outbox by the statement that writes the line, assembling the events on the server from the
lines it returns (not read again from the table).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, literal, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.eldercare.allowances import brackets as br
from services.eldercare.models import Payroll, PayrollLine
from shared import ordered_ids
from shared.events import OutboxInsert, notify_relay
from shared.ordered_ids import ROW_ID
from shared.people import people
from shared.problems import NotFound

PROGRAM = "old_age_allowance"

# The gate, in the order its reasons are named: the first that holds is the line's reason.
_GATE = """
    CASE
        WHEN od.person_id IS NOT NULL AND od.date_of_death < :month THEN 'death_in_review'
        WHEN p.status = 'deceased' AND coalesce(p.date_of_death, CAST(:month AS date)) < :month THEN 'deceased'
        WHEN NOT p.in_district AND (a.stopped_on IS NULL OR a.stopped_on < :month) THEN 'moved_out'
    END
"""

REASONS = {
    "death_in_review": "a death report is in review (not yet confirmed)",
    "deceased": "the person is recorded as deceased before the month",
    "moved_out": "moved out of the district: paid to the end of the month of the move",
}
if any("'" in v for v in REASONS.values()):
    raise RuntimeError("a reason is a SQL literal: no quotes in it")
_REASON_SQL = "CASE g.code " + " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in REASONS.items()) + " END"

# Candidates: allowances active in the month, stopped within or after it, or stopped for a death still in review
# (their withheld lines are what a revocation pays back). `OFFSET 0` computes the gate once per allowance.
_INSERT_LINES = """
    INSERT INTO payroll_lines (id, payroll_id, allowance_id, person_id, id_number, hukou_division, for_month,
                               kind, amount, status, reason_code, reason)
    SELECT {row_id}, :payroll_id, g.id, g.person_id, g.id_number, g.hukou_division, CAST(:month AS date), 'regular',
           g.amount,
           CASE WHEN g.code IS NULL THEN 'paid' ELSE 'withheld' END, g.code, {reason}
    FROM (
        SELECT a.id, a.person_id, a.id_number, a.hukou_division, {amount} AS amount, {gate} AS code
        FROM allowances a
        JOIN people p ON p.person_id = a.person_id
        LEFT JOIN (SELECT person_id, min(date_of_death) AS date_of_death FROM death_reports
                   WHERE status IN ('reported', 'conflict') GROUP BY person_id) od ON od.person_id = a.person_id
        WHERE p.birth_date <= :born_by AND a.started_on <= :month_end
          AND (a.status = 'active' OR a.stopped_on >= :month OR (a.stop_reason = 'death' AND od.person_id IS NOT NULL))
        OFFSET 0
    ) g
"""

# Months since a revoked death the payroll did not pay (withheld while the death was in review, or left out
# once it was confirmed): owed once the allowance is active again and no death is in view. One line per month
# (DISTINCT ON), at the bracket that month's payroll used (`b`: one row per month and bracket, eldest first by
# cut-off); a month already paid, by its payroll or an earlier back-pay, is not paid again.
_INSERT_BACK_PAY = f"""
    INSERT INTO payroll_lines (id, payroll_id, allowance_id, person_id, id_number, hukou_division, for_month,
                               kind, amount, status, reason_code, reason)
    SELECT DISTINCT ON (a.id, b.for_month)
           {ROW_ID}, :payroll_id, a.id, a.person_id, a.id_number, a.hukou_division, b.for_month,
           'back_pay', b.amount, 'paid', NULL,
           'back-pay of ' || to_char(b.for_month, 'YYYY-MM') || ', not paid for a death since revoked'
    FROM death_reports d
    JOIN allowances a ON a.person_id = d.person_id AND a.status = 'active'
    JOIN people p ON p.person_id = a.person_id AND p.status <> 'deceased'
    JOIN unnest(CAST(:months AS date[]), CAST(:cuts AS date[]), CAST(:amounts AS numeric[]))
         AS b(for_month, cut, amount)
        ON b.for_month > d.date_of_death AND p.birth_date <= b.cut AND a.started_on < b.for_month + interval '1 month'
    WHERE d.status = 'revoked'
      AND NOT EXISTS (SELECT 1 FROM payroll_lines q
                      WHERE q.allowance_id = a.id AND q.for_month = b.for_month AND q.status = 'paid')
      AND NOT EXISTS (SELECT 1 FROM death_reports o
                      WHERE o.person_id = a.person_id AND o.status IN ('reported', 'conflict', 'confirmed'))
    ORDER BY a.id, b.for_month, b.cut
"""  # noqa: S608 - every fragment is a constant of this module

# The payrolls built for months after the earliest revoked death, before `month`, with the brackets they used.
_OWED_MONTHS = text(
    """
    SELECT month, standards FROM payrolls
    WHERE month < :month AND month > (SELECT min(date_of_death) FROM death_reports WHERE status = 'revoked')
    """
)

# A statement writing lines writes the events of its paid lines too, from what it returns (not read again).
_PAYMENTS = "(SELECT * FROM lines WHERE status = 'paid')"
_PAYMENT_DATA = f"""jsonb_build_object(
    'person_id', s.person_id, 'id_number', s.id_number, 'hukou_division', s.hukou_division,
    'payment_id', s.id, 'program', '{PROGRAM}', 'month', to_char(s.for_month, 'YYYY-MM'), 'amount', s.amount::text)"""
_PAYMENT_EVENTS = OutboxInsert(_PAYMENTS, _PAYMENT_DATA)


class BadMonth(ValueError):
    """Not a month of the form YYYY-MM."""


def parse_month(value: str) -> date:
    """`2026-11` -> 2026-11-01; anything else is refused."""
    try:
        year, month = value.split("-")
        if len(year) != 4 or len(month) != 2:
            raise ValueError
        return date(int(year), int(month), 1)
    except ValueError as exc:
        raise BadMonth(f"{value!r} is not a month of the form YYYY-MM") from exc


@dataclass(frozen=True)
class Built:
    payroll: Payroll
    created: bool


async def build(session: AsyncSession, *, month: date, actor: str) -> Built:
    """The payroll of `month`: built now if it is the first call, else the one built before."""
    brackets = await br.in_force(session, month)
    new_id = uuid.uuid4()
    inserted = await session.execute(
        pg_insert(Payroll)
        .values(id=new_id, month=month, standards=br.described(brackets), created_by=actor)
        .on_conflict_do_nothing(index_elements=["month"])
        .returning(Payroll.id)
    )
    if inserted.scalar_one_or_none() is None:  # built before (or by a concurrent call that committed first)
        return Built(await _by_month(session, month), created=False)
    amount = br.amount_case(brackets, month, otherwise=None)
    lines_sql = _INSERT_LINES.format(reason=_REASON_SQL, amount=amount.sql, gate=_GATE, row_id=ROW_ID)
    born_by = br.born_by(br.reached_by(month), brackets[0].min_age)
    events = _PAYMENT_EVENTS.params("eldercare.payment.issued")
    await _write(
        session,
        lines_sql,
        {
            **amount.params,
            **events,
            "payroll_id": new_id,
            "month": month,
            "month_end": br.month_end(month),
            "born_by": born_by,
        },
    )
    await _back_pay(session, new_id, month, events)
    await notify_relay(session)
    return Built(await _by_month(session, month), created=True)


async def _write(session: AsyncSession, insert: str, params: dict[str, Any]) -> None:
    """`insert` (an INSERT INTO payroll_lines ... SELECT) and the payment events of its paid lines, one statement;
    its rows numbered after a time-ordered prefix of its own (shared.ordered_ids)."""
    statement = f"WITH lines AS ({insert} RETURNING *) " + _PAYMENT_EVENTS.sql()
    await session.execute(text(statement), {**params, "id_prefix": ordered_ids.prefix()})


async def _back_pay(session: AsyncSession, payroll_id: uuid.UUID, month: date, events: dict[str, Any]) -> None:
    """Pay back the months a revoked death kept from earlier payrolls, each at its payroll's brackets."""
    months, cuts, amounts = [], [], []
    for owed, standards in (await session.execute(_OWED_MONTHS, {"month": month})).all():
        day = br.reached_by(owed)
        for b in standards:
            months.append(owed)
            cuts.append(br.born_by(day, int(b["min_age"])))
            amounts.append(Decimal(b["monthly_amount"]))
    if months:  # no revoked death, or none before this month: nothing can be owed
        await _write(
            session,
            _INSERT_BACK_PAY,
            {**events, "payroll_id": payroll_id, "month": month, "months": months, "cuts": cuts, "amounts": amounts},
        )


async def _by_month(session: AsyncSession, month: date) -> Payroll:
    return (await session.execute(select(Payroll).where(Payroll.month == month))).scalar_one()


async def get(session: AsyncSession, payroll_id: uuid.UUID) -> Payroll:
    payroll = await session.get(Payroll, payroll_id)
    if payroll is None:
        raise NotFound("no such payroll", field="payroll_id")
    return payroll


@dataclass(frozen=True)
class Totals:
    """What a payroll pays, as far as the caller's division sees it (paid lines, and what was withheld)."""

    total: Decimal
    withheld_total: Decimal
    paid_lines: int
    withheld_lines: int
    by_division: dict[str, Decimal]


async def totals(session: AsyncSession, payroll_id: uuid.UUID) -> Totals:
    """Sums of the lines the caller's division covers (the session's filter scopes the lines)."""
    town = func.left(PayrollLine.hukou_division, 9)
    stmt = (
        select(PayrollLine.status, town, func.sum(PayrollLine.amount), func.count())
        .where(PayrollLine.payroll_id == payroll_id)
        .group_by(PayrollLine.status, town)
    )
    paid, withheld, paid_n, withheld_n = Decimal("0.00"), Decimal("0.00"), 0, 0
    by_division: dict[str, Decimal] = {}
    for status, division, amount, count in (await session.execute(stmt)).all():
        if status != "paid":
            withheld, withheld_n = withheld + amount, withheld_n + count
            continue
        paid, paid_n = paid + amount, paid_n + count
        by_division[division] = by_division.get(division, Decimal("0.00")) + amount
    return Totals(paid, withheld, paid_n, withheld_n, dict(sorted(by_division.items())))


async def lines(
    session: AsyncSession, payroll_id: uuid.UUID, *, id_number: str | None, limit: int, offset: int
) -> tuple[list[PayrollLine], int]:
    """A page of the payroll's lines the caller sees, optionally one person's."""
    stmt = select(PayrollLine).where(PayrollLine.payroll_id == payroll_id)
    if id_number is not None:
        stmt = stmt.where(PayrollLine.id_number == id_number)
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    page = stmt.order_by(PayrollLine.hukou_division, PayrollLine.id_number, PayrollLine.for_month, PayrollLine.id)
    return list((await session.execute(page.limit(limit).offset(offset))).scalars()), total


async def export_rows(session: AsyncSession, payroll_id: uuid.UUID) -> AsyncIterator[tuple[Any, ...]]:
    """The paid lines the caller sees, with the payee's name, read from a server-side cursor."""
    stmt = (
        select(
            PayrollLine.id,
            PayrollLine.id_number,
            people.c.name,
            literal(PROGRAM),
            func.to_char(PayrollLine.for_month, "YYYY-MM"),
            PayrollLine.kind,
            PayrollLine.amount,
            PayrollLine.hukou_division,
        )
        .outerjoin(people, people.c.person_id == PayrollLine.person_id)
        .where(PayrollLine.payroll_id == payroll_id, PayrollLine.status == "paid")
        .order_by(PayrollLine.hukou_division, PayrollLine.id_number, PayrollLine.for_month)
        .execution_options(yield_per=2000)
    )
    result = await session.stream(stmt)
    async for row in result:
        yield tuple(row)
