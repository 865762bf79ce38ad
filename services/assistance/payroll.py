"""The monthly payroll (发放): every payable case's line for the month, built once, set-based.

A payroll is built once per month: `payrolls.month` is unique, so the same
month asked for again (also by eight callers at once: the others wait on the
first one's insert and then read it) answers the same payroll and pays
nothing twice. A partial unique index on the lines (one paid line per case
and month paid for) is the second lock on the door.

The lines are one `INSERT ... SELECT` over the cases, whatever their number.
Each passes the pre-payment gate: a line is withheld, with its reason, when
the person is known dead, has an open death report in review (reported or in
conflict, not yet confirmed), has moved out of the district (after the month
of the move), or the case is suspended. Months a death kept from the payroll
(withheld while it was in review or the case suspended, or left out once it
was confirmed and the case terminated) are owed once it is revoked: the next
payroll adds them as back-pay lines, each month once, at that month's amount
(a second `INSERT ... SELECT`). Each paid line is an `assistance.payment.issued`,
written to the outbox by the statement that writes the line, which also stores
the payroll's totals: the lines are read once, as they are written, on the
server (100,000 payments are not 100,000 Python objects, nor a second scan).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import TextClause, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.assistance import endings, standard_usecases
from services.assistance.domain.standards import MissingStandard
from services.assistance.models import Payroll, PayrollLine, PayrollTotal
from shared import clock, locks, ordered_ids
from shared.events import OutboxInsert, notify_relay
from shared.ordered_ids import ROW_ID
from shared.problems import NotFound

# Reasons a line is withheld; the codes of those a revoked death makes owed again.
DEATH_CODES = ("deceased", "death_in_review", "suspended_death")

# The gate, in the order its reasons are named: the first that holds is the line's reason.
_GATE = """
    CASE
        WHEN od.person_id IS NOT NULL THEN 'death_in_review'
        WHEN p.status = 'deceased' THEN 'deceased'
        WHEN c.status = 'suspended' AND c.status_reason = 'death' THEN 'suspended_death'
        WHEN c.status = 'suspended' THEN 'suspended'
        WHEN c.paid_until IS NOT NULL AND c.paid_until < :month THEN 'moved_out'
        WHEN c.paid_until IS NULL AND p.in_district IS FALSE THEN 'moved_out'
    END
"""

REASONS = {
    "death_in_review": "a death report is in review (not yet confirmed)",
    "deceased": "the person is recorded as deceased",
    "suspended_death": "the case is suspended: a death of the person was reported",
    "suspended": "the case is suspended",
    "moved_out": "moved out of the district: paid to the end of the month of the move, transfer pending",
}
if any("'" in v for v in REASONS.values()):
    raise RuntimeError("a reason is a SQL literal: no quotes in it")
_REASON_SQL = "CASE g.code " + " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in REASONS.items()) + " END"

# Amounts: the case's amount in force that month (case_amounts: changes by month, each explained), else its
# monthly amount; the flat subsidies of cases from applications at the standard in force.
_AMOUNT = """
    CASE
        WHEN ca.amount IS NOT NULL THEN ca.amount
        WHEN c.origin = 'application' AND c.program = 'disability_living'
            THEN coalesce(CAST(:living AS numeric), c.monthly_amount)
        WHEN c.origin = 'application' AND c.program = 'disability_care'
            THEN coalesce(CAST(:care AS numeric), c.monthly_amount)
        ELSE c.monthly_amount
    END
"""

# The payable cases with the gate's verdict, computed once per case (`OFFSET 0` keeps the inner select
# from being folded into the outer one, which would evaluate the gate once per use), then written.
# Line ids are time-ordered (shared.ordered_ids): 100,000 inserts land at the end of the primary key's index.
_INSERT_LINES = f"""
    INSERT INTO payroll_lines (id, payroll_id, case_id, person_id, id_number, hukou_division, program,
                               for_month, kind, amount, status, reason_code, reason)
    SELECT {ROW_ID}, :payroll_id, g.id, g.person_id, g.id_number, g.hukou_division, g.program,
           :month, 'regular', g.amount, CASE WHEN g.code IS NULL THEN 'paid' ELSE 'withheld' END,
           g.code, {_REASON_SQL}
    FROM (
        SELECT c.id, c.person_id, c.id_number, c.hukou_division, c.program, {_AMOUNT} AS amount, {_GATE} AS code
        FROM cases c
        LEFT JOIN people p ON p.person_id = c.person_id
        LEFT JOIN (SELECT DISTINCT person_id FROM death_reports WHERE status IN ('reported', 'conflict')) od
            ON od.person_id = c.person_id
        LEFT JOIN case_amounts ca
            ON ca.case_id = c.id AND ca.from_month <= :month AND (ca.until_month IS NULL OR ca.until_month > :month)
        WHERE c.program <> 'temporary'
          AND c.started_on <= :month_end
          AND (c.status IN ('active', 'suspended')
               OR (c.status = 'gradual_exit' AND c.gradual_exit_until >= :month)
               OR (c.status = 'terminated' AND c.status_reason = :exit_ended AND c.gradual_exit_until >= :month)
               OR (c.status = 'terminated' AND c.status_reason = :transferred AND c.paid_until >= :month))
        OFFSET 0
    ) g
"""  # noqa: S608 - every fragment is a constant of this module

# Months a death since revoked kept from built payrolls, owed once the case is paid again and no death is in
# view: a month withheld for the death (any month: the line says so), or a month from the death's on whose
# payroll, built while the case existed, has no line for it (left out once the death was confirmed). Each
# month once (no paid line for it yet), within the case's months (started, not past a gradual exit's last
# month or a move's), at the amount in force for that month: the case's amount history, else what the
# withheld line computed, else that payroll's flat subsidy, else the amount on file. The withheld lines are
# read through their partial index (one month, one case), never by a scan of all lines.
_INSERT_BACK_PAY = f"""
    INSERT INTO payroll_lines (id, payroll_id, case_id, person_id, id_number, hukou_division, program,
                               for_month, kind, amount, status, reason_code, reason)
    SELECT {ROW_ID}, :payroll_id, c.id, c.person_id, c.id_number, c.hukou_division, c.program,
           m.month, 'back_pay',
           coalesce(ca.amount, w.amount,
                    CASE WHEN c.origin = 'application' AND c.program IN ('disability_living', 'disability_care')
                         THEN (SELECT CAST(f->>'value' AS numeric) FROM jsonb_array_elements(m.standards) f
                               WHERE f->>'key' = replace(c.program, '_', '.')) END,
                    c.monthly_amount),
           'paid', NULL,
           'back-pay of ' || to_char(m.month, 'YYYY-MM') || ', not paid for a death since revoked'
    FROM (SELECT person_id, min(date_of_death) AS died FROM death_reports WHERE status = 'revoked'
          GROUP BY person_id) d
    JOIN cases c ON c.person_id = d.person_id AND c.program <> 'temporary'
        AND (c.status IN ('active', 'gradual_exit')
             OR (c.status = 'terminated' AND c.status_reason IN (:exit_ended, :transferred)))
    JOIN people p ON p.person_id = c.person_id AND p.status <> 'deceased'
    JOIN payrolls m ON m.month < :month AND m.month >= date_trunc('month', c.started_on)
        AND (c.gradual_exit_until IS NULL OR c.gradual_exit_until >= m.month)
        AND (c.paid_until IS NULL OR c.paid_until >= m.month)
    LEFT JOIN LATERAL (SELECT x.amount, x.reason_code FROM payroll_lines x
                       WHERE x.case_id = c.id AND x.for_month = m.month AND x.status = 'withheld'
                         AND x.kind = 'regular' LIMIT 1) w ON true
    LEFT JOIN case_amounts ca
        ON ca.case_id = c.id AND ca.from_month <= m.month AND (ca.until_month IS NULL OR ca.until_month > m.month)
    WHERE (w.reason_code = ANY(:death_codes)
           OR (w.reason_code IS NULL AND m.month >= date_trunc('month', d.died) AND m.created_at > c.created_at))
      AND NOT EXISTS (SELECT 1 FROM payroll_lines q
                      WHERE q.case_id = c.id AND q.for_month = m.month AND q.status = 'paid'
                        AND q.kind IN ('regular', 'back_pay'))
      AND NOT EXISTS (SELECT 1 FROM death_reports o
                      WHERE o.person_id = c.person_id AND o.status IN ('reported', 'conflict', 'confirmed'))
"""  # noqa: S608 - every fragment is a constant of this module

# One-off subsidies (一次性补贴) decided for this month: a line beside every paid regular line of the program,
# explained by the decision (its amount per person and reference).
_INSERT_ONE_OFF = f"""
    INSERT INTO payroll_lines (id, payroll_id, case_id, person_id, id_number, hukou_division, program,
                               for_month, kind, amount, status, reason_code, reason)
    SELECT {ROW_ID}, :payroll_id, l.case_id, l.person_id, l.id_number, l.hukou_division, l.program,
           :month, 'one_off', o.amount_per_person, 'paid', NULL,
           left('one-off subsidy ' || o.amount_per_person || ' yuan per person: ' || o.decision, 200)
    FROM payroll_lines l
    JOIN one_off_subsidies o ON o.program = l.program AND o.month = :month
    WHERE l.payroll_id = :payroll_id AND l.kind = 'regular' AND l.status = 'paid'
      AND EXISTS (SELECT 1 FROM one_off_subsidies d WHERE d.month = :month)
"""  # noqa: S608 - the EXISTS is evaluated once: a month without a decision reads none of its lines

# Temporary-assistance grants confirmed by the end of the month and not yet in any payroll: paid once, to the
# applicant, behind the same gate on the person (a grant has no case: its line names the application).
_INSERT_GRANTS = f"""
    INSERT INTO payroll_lines (id, payroll_id, case_id, application_id, person_id, id_number, hukou_division,
                               program, for_month, kind, amount, status, reason_code, reason)
    SELECT {ROW_ID}, :payroll_id, NULL, g.id, g.person_id, g.id_number, g.hukou_division, 'temporary',
           :month, 'grant', g.amount, CASE WHEN g.code IS NULL THEN 'paid' ELSE 'withheld' END, g.code,
           coalesce({_REASON_SQL},
                    'temporary assistance grant, application confirmed on ' || to_char(g.confirmed_on, 'YYYY-MM-DD'))
    FROM (
        SELECT a.id, a.applicant_person_id AS person_id, a.applicant_id_number AS id_number, a.hukou_division,
               a.monthly_total AS amount, a.confirmed_on,
               CASE
                   WHEN EXISTS (SELECT 1 FROM death_reports d WHERE d.person_id = a.applicant_person_id
                                AND d.status IN ('reported', 'conflict')) THEN 'death_in_review'
                   WHEN p.status = 'deceased' THEN 'deceased'
                   WHEN p.in_district IS FALSE THEN 'moved_out'
               END AS code
        FROM applications a
        LEFT JOIN people p ON p.person_id = a.applicant_person_id
        WHERE a.program = 'temporary' AND a.status = 'confirmed' AND a.eligible AND a.monthly_total > 0
          AND a.paid_from <= :month_end
          AND NOT EXISTS (SELECT 1 FROM payroll_lines q WHERE q.application_id = a.id AND q.kind = 'grant')
    ) g
"""  # noqa: S608 - every fragment is a constant of this module

# Each statement that writes lines also writes, in the same statement, an `assistance.payment.issued` for each
# of its paid lines and the lines' sums by community, status, program and kind (each kind is written by one
# statement, so no two statements sum into the same total): the lines are read once, as they are written, not
# again from the table. The event's id is the payment's (the line's id): unique, and a consumer that has seen it
# has seen the payment; the outbox computes the rest of the envelope (shared/outbox_schema.py).
_WITH_PAYMENTS_AND_TOTALS = """
    WITH lines AS ({insert}
        RETURNING id, case_id, person_id, id_number, hukou_division, program, for_month, kind, amount, status),
    payments AS ({payments})
    INSERT INTO payroll_totals (payroll_id, hukou_division, status, program, kind, amount, lines)
    SELECT :payroll_id, hukou_division, status, program, kind, sum(amount), count(*)
    FROM lines
    GROUP BY hukou_division, status, program, kind
"""  # no ORDER BY: one payment per person and month, nothing to keep in order (and no sort of 100,000 rows)


_PAYMENTS = OutboxInsert(
    "(SELECT * FROM lines WHERE status = 'paid')",
    # Every field is a string (or null): jsonb_object over two text arrays builds the same JSON as
    # jsonb_build_object without resolving each argument's type per row (a quarter of the data's CPU). The keys
    # are given in the order jsonb stores them (shorter first, then bytewise), so the sort of each object's keys
    # finds them sorted at its first pass (the object built is the same).
    """jsonb_object(
        ARRAY['month', 'amount', 'case_id', 'program', 'id_number', 'person_id', 'payment_id', 'hukou_division'],
        ARRAY[to_char(s.for_month, 'YYYY-MM'), s.amount::text, s.case_id::text, s.program, s.id_number,
              s.person_id::text, s.id::text, s.hukou_division])""",
    event_id="s.id",
)


def _written(insert: str) -> TextClause:
    """`insert` (an INSERT INTO payroll_lines ... SELECT) with its payment events and totals, one statement."""
    return text(_WITH_PAYMENTS_AND_TOTALS.format(insert=insert, payments=_PAYMENTS.sql()))


_LINES = _written(_INSERT_LINES)
_BACK_PAY = _written(_INSERT_BACK_PAY)
_ONE_OFF = _written(_INSERT_ONE_OFF)
_GRANTS = _written(_INSERT_GRANTS)


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


def month_end(month: date) -> date:
    """The last day of the month that starts on `month`."""
    following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1)


@dataclass(frozen=True)
class Built:
    payroll: Payroll
    created: bool


async def build(session: AsyncSession, *, month: date, actor: str) -> Built:
    """The payroll of `month`: built now if it is the first call, else the one built before."""
    built_before = await _by_month(session, month)
    if built_before is not None:  # the common repeat: one read, no lock, nothing computed
        return Built(built_before, created=False)
    standards, amounts = await _flat_amounts(session, month)
    await locks.hold(session, "payroll", month.isoformat())  # a one-off decision for the month is in or refused
    new_id = uuid.uuid4()
    inserted = await session.execute(
        pg_insert(Payroll)
        .values(id=new_id, month=month, standards=standards, created_by=actor)
        .on_conflict_do_nothing(index_elements=["month"])
        .returning(Payroll.id)
    )
    if inserted.scalar_one_or_none() is None:  # built before (or by a concurrent call that committed first)
        return Built(await _existing(session, month), created=False)
    await endings.close(session, clock.today())
    params = {
        "payroll_id": new_id,
        "month": month,
        "month_end": month_end(month),
        "exit_ended": endings.GRADUAL_EXIT_ENDED,
        "transferred": endings.TRANSFERRED,
        **amounts,
    }
    # The lines a statement returns (100,000 in a district's month) are read twice, by the events and the totals:
    # kept in memory, not spilled to a temporary file (12 MB written and read back at the default 4 MB).
    await session.execute(text("SET LOCAL work_mem = '64MB'"))
    written = {"payroll_id": new_id, **_PAYMENTS.params("assistance.payment.issued")}
    await _write(session, _LINES, {**params, **written})
    owed = {k: params[k] for k in ("month", "exit_ended", "transferred")}
    await _write(session, _BACK_PAY, {**owed, **written, "death_codes": list(DEATH_CODES)})
    await _write(session, _ONE_OFF, {**written, "month": month})
    await _write(session, _GRANTS, {**written, "month": month, "month_end": month_end(month)})
    await notify_relay(session)
    return Built(await _existing(session, month), created=True)


async def _flat_amounts(session: AsyncSession, month: date) -> tuple[list[dict[str, Any]], dict[str, Decimal | None]]:
    """The flat subsidies in force on the first of the month, and the figures named for the record."""
    figures = await standard_usecases.load(session, month)
    amounts: dict[str, Decimal | None] = {}
    for name, key in (("living", "disability.living"), ("care", "disability.care")):
        try:
            amounts[name] = figures.get(key)
        except MissingStandard:
            amounts[name] = None  # no figure in force: each case's own amount
    used = [
        {"key": f.key, "value": str(f.value), "effective_from": f.effective_from.isoformat(), "source": f.source}
        for f in figures.used()
    ]
    return used, amounts


async def _write(session: AsyncSession, statement: TextClause, params: dict[str, Any]) -> None:
    """One statement writing lines, their events and totals; its rows numbered after a prefix of its own."""
    await session.execute(statement, {**params, "id_prefix": ordered_ids.prefix()})


async def _by_month(session: AsyncSession, month: date) -> Payroll | None:
    return (await session.execute(select(Payroll).where(Payroll.month == month))).scalar_one_or_none()


async def _existing(session: AsyncSession, month: date) -> Payroll:
    found = await _by_month(session, month)
    if found is None:
        raise RuntimeError(f"the payroll of {month:%Y-%m} was just written and is not found")
    return found


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
    by_program: dict[str, Decimal]
    by_division: dict[str, Decimal]
    by_kind: dict[str, Decimal]


async def totals(session: AsyncSession, payroll_id: uuid.UUID) -> Totals:
    """Sums of the lines the caller's division covers, from the totals stored when the payroll was built
    (by community: the session's filter scopes them as it scopes the lines)."""
    town = func.left(PayrollTotal.hukou_division, 9)
    groups = (PayrollTotal.status, PayrollTotal.program, town, PayrollTotal.kind)
    stmt = (
        select(*groups, func.sum(PayrollTotal.amount), func.sum(PayrollTotal.lines))
        .where(PayrollTotal.payroll_id == payroll_id)
        .group_by(*groups)
    )
    paid, withheld, paid_n, withheld_n = Decimal("0.00"), Decimal("0.00"), 0, 0
    by_program: dict[str, Decimal] = {}
    by_division: dict[str, Decimal] = {}
    by_kind: dict[str, Decimal] = {}
    for status, program, division, kind, amount, count in (await session.execute(stmt)).all():
        if status != "paid":
            withheld, withheld_n = withheld + amount, withheld_n + count
            continue
        paid, paid_n = paid + amount, paid_n + count
        by_program[program] = by_program.get(program, Decimal("0.00")) + amount
        by_division[division] = by_division.get(division, Decimal("0.00")) + amount
        by_kind[kind] = by_kind.get(kind, Decimal("0.00")) + amount
    return Totals(paid, withheld, paid_n, withheld_n, _sorted(by_program), _sorted(by_division), _sorted(by_kind))


def _sorted(sums: dict[str, Decimal]) -> dict[str, Decimal]:
    return dict(sorted(sums.items()))


# One person's lines, found through the person's cases and grants by the partial indexes every line is in (a
# paid regular or back-pay line, a withheld line, a one-off, a grant), not by an index on (payroll_id, id_number)
# that each of a payroll's 100,000 lines would add to (~0.1 KB of WAL and a B-tree insert a line). A line copies
# the id_number of its case or grant, which never changes: these are exactly the lines of that id_number. The
# statuses and kinds are literals, so the planner can match each arm to its partial index.
_PERSON_CASES = "ARRAY(SELECT c.id FROM cases c WHERE c.id_number = :line_id_number)"
_PERSON_GRANTS = "ARRAY(SELECT a.id FROM applications a WHERE a.applicant_id_number = :line_id_number)"
_OF_PERSON = text(
    f"""(
    (payroll_lines.status = 'paid' AND payroll_lines.kind IN ('regular', 'back_pay')
     AND payroll_lines.case_id = ANY({_PERSON_CASES}))
    OR (payroll_lines.status = 'withheld' AND payroll_lines.case_id = ANY({_PERSON_CASES}))
    OR (payroll_lines.kind = 'one_off' AND payroll_lines.case_id = ANY({_PERSON_CASES}))
    OR (payroll_lines.kind = 'grant' AND payroll_lines.application_id = ANY({_PERSON_GRANTS}))
    )"""  # noqa: S608 - constants of this module
)


async def lines(
    session: AsyncSession, payroll_id: uuid.UUID, *, id_number: str | None, limit: int, offset: int
) -> tuple[list[PayrollLine], int]:
    """A page of the payroll's lines the caller sees, optionally one person's (through their cases and grants).

    A payroll's lines are found by the BRIN index on payroll_id (a payroll's lines are written together, so they
    lie together in the table, and the index costs its inserts nothing).
    """
    stmt = select(PayrollLine).where(PayrollLine.payroll_id == payroll_id)
    if id_number is not None:
        stmt = stmt.where(PayrollLine.id_number == id_number, _OF_PERSON.bindparams(line_id_number=id_number))
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    page = stmt.order_by(PayrollLine.hukou_division, PayrollLine.id_number, PayrollLine.for_month, PayrollLine.id)
    return list((await session.execute(page.limit(limit).offset(offset))).scalars()), total


async def export_rows(session: AsyncSession, payroll_id: uuid.UUID) -> AsyncIterator[tuple[Any, ...]]:
    """The paid lines the caller sees, with the payee's name, read from a server-side cursor."""
    from shared.people import people

    stmt = (
        select(
            PayrollLine.id,
            PayrollLine.id_number,
            people.c.name,
            PayrollLine.program,
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
