"""A case's monthly amount by month: recomputed by the rules, each change recorded with the figures behind it.

Why the amounts are recomputed and recorded per case, rather than computed inside the payroll: an auditor
asks "why was this person paid 712 yuan in July?" and the answer must be one row they can read: the case's
amount from July, the reason (the dibao standard changed on 2023-07-01; a member of the household died; a
care level from eldercare's assessment), the figures used with their dates and the household behind it.
The payroll then reads the amount in force for its month (`case_amounts`), so a payroll built ahead and a
payroll built late pay the same, and every figure it paid is explained before it is paid.

Three things recompute amounts, each from the first month they apply to:
- a standard added through /v1/standards (dibao and tekun figures): every open dibao case confirmed from an
  application is reassessed on its household; every open tekun case gets the basic standard and care subsidy
  then in force; migrated dibao cases keep the amount on file until their review (there is no household);
- a member's confirmed death in a dibao household: the others are reassessed without them (a smaller household,
  a new per-capita income) from the month after the death;
- eldercare's capacity assessment of a tekun person: their care level (GB/T level mapped by the standards),
  hence their care subsidy, from the month after the assessment.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.assistance import standard_usecases
from services.assistance.application_usecases import household_of
from services.assistance.domain import dibao, tekun
from services.assistance.domain.standards import MissingStandard, StandardRow, Standards
from services.assistance.gradual_exit import last_month_paid
from services.assistance.models import Application, Case, CaseAmount
from services.assistance.schemas import ApplicationIn
from shared import clock
from shared import event_types as ev
from shared import people as people_copy
from shared.events import publish_many
from shared.money import round_yuan

OPEN = ("active", "suspended", "gradual_exit")
RECOMPUTED_BY = ("dibao.", "tekun.", "minimum_wage")  # the figures a dibao or tekun amount depends on


@dataclass(frozen=True)
class NewAmount:
    """A case's amount from a month on, why, and what it was computed from."""

    case_id: uuid.UUID
    from_month: date
    amount: Decimal
    reason: str
    explanation: dict[str, Any] = field(default_factory=dict)


def first_month_from(day: date) -> date:
    """The first month wholly on or after `day` (a figure in force from the 1st applies to that month)."""
    if day.day == 1:
        return day
    return month_after(day)


def month_after(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def figures_json(standards: Standards) -> list[dict[str, str]]:
    return [
        {"key": f.key, "value": str(f.value), "effective_from": f.effective_from.isoformat(), "source": f.source}
        for f in standards.used()
    ]


# -- tekun ----------------------------------------------------------------------------------------


def care_level_of(gbt_level: int, standards: Standards) -> tekun.CareLevel:
    """Eldercare's capacity level (GB/T 42195, 0-4) as a tekun care level, by the configured mapping."""
    if gbt_level >= standards.get("tekun.care.gbt_full_from"):
        return tekun.CareLevel.FULL
    if gbt_level >= standards.get("tekun.care.gbt_partial_from"):
        return tekun.CareLevel.PARTIAL
    return tekun.CareLevel.SELF_CARE


def tekun_amount(placement: str | None, level: str | None, standards: Standards) -> tuple[Decimal, dict[str, Any]]:
    """Basic standard plus care subsidy (特困人员认定办法; POLICY.md shares of the minimum wage)."""
    form = tekun.Placement(placement or tekun.Placement.DISPERSED)
    care_level = tekun.CareLevel(level or tekun.CareLevel.SELF_CARE)
    standard, multiple = standards.get("dibao.standard"), standards.get("tekun.basic_multiple")
    basic = max(standards.get("tekun.basic_amount"), round_yuan(multiple * standard))
    care_why, care = tekun.care_subsidy(form, care_level, standards)
    why = f"basic standard {basic} (at least {multiple} × the dibao standard {standard}); {care_why}"
    if placement is None:
        why += "; placement not on file: dispersed (分散供养) assumed until the review"
    explanation = {"why": why, "basic": str(basic), "care": str(care), "placement": form.value}
    return round_yuan(basic + care), explanation | {"care_level": care_level.value}


# -- dibao ----------------------------------------------------------------------------------------

_EXTRA_MEMBER_KEYS = ("person_id", "name", "hukou_division")


def household_now(
    record: dict[str, Any], deceased: set[str], on: date
) -> tuple[ApplicationIn, list[str], list[str]] | None:
    """The application's household less the members who died since; None when nobody is left."""
    members = record["members"]
    kept = [i for i, m in enumerate(members) if m["id_number"] not in deceased]
    if not kept:
        return None
    index = {old: new for new, old in enumerate(kept)}
    body = dict(record)
    body["members"] = [{k: v for k, v in members[i].items() if k not in _EXTRA_MEMBER_KEYS} for i in kept]
    body["rigid_expenses"] = [
        e | {"member": index[e["member"]]} for e in record.get("rigid_expenses", []) if e["member"] in index
    ]
    left_out = [m["id_number"] for m in members if m["id_number"] in deceased]
    return ApplicationIn.model_validate(body), [members[i]["id_number"] for i in kept], left_out


def _known(id_number: str) -> people_copy.KnownPerson:
    """Enough of a person for the household's ages (born on the date in the identity number)."""
    return people_copy.KnownPerson(uuid.uuid4(), id_number, None, None, "", "alive", None)


def dibao_amounts(
    record: dict[str, Any], deceased: set[str], standards: Standards
) -> tuple[dict[str, Decimal], dict[str, Any]] | None:
    """Each remaining member's amount (by identity number) on the household as it is now; None if not eligible."""
    now = household_now(record, deceased, standards.on)
    if now is None:
        return None
    body, numbers, left_out = now
    household = household_of(body, [_known(n) for n in numbers], standards.on)
    assessment = dibao.assess(household, standards)
    if not assessment.eligible:
        return None
    amounts = {numbers[m.member]: m.amount for m in assessment.members}
    explanation = {
        "household_members": len(numbers),
        "members_deceased_left_out": len(left_out),
        "per_capita_income": str(assessment.per_capita_income),
        "standard": str(assessment.standard),
        "kind": assessment.kind,
        "income_lines": [
            {"member": line.member, "item": line.item, "amount": str(line.amount), "treatment": line.treatment}
            for line in assessment.income_lines
        ],
        "members": {numbers[m.member]: m.why for m in assessment.members},
        "figures": figures_json(standards),
    }
    return amounts, explanation


# -- recomputing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ask:
    """A case to recompute from a month, and why."""

    case: Any  # a row with the columns of _CASE_COLUMNS
    from_month: date
    reason: str


@dataclass(frozen=True)
class Facts:
    """What a chunk of recomputations reads, in four statements whatever its size."""

    standards: list[StandardRow]
    later: dict[uuid.UUID, list[date]]  # months of rows already recorded, per case
    households: dict[uuid.UUID, dict[str, Any]]  # application id -> the household it recorded
    died: dict[str, date]  # identity number -> date of death, of the households' deceased members

    def deceased_by(self, month: date) -> set[str]:
        """Members dead before `month` (a death counts from the month after it)."""
        return {n for n, day in self.died.items() if month_after(day) <= month}

    def months_from(self, ask: Ask) -> list[date]:
        """The ask's month and every later one where the amount may change: a figure it depends on comes into
        force, or a row is already recorded (recomputed, so no later row keeps an amount from older facts)."""
        changes = {first_month_from(r.effective_from) for r in self.standards if r.key.startswith(RECOMPUTED_BY)}
        later = changes | set(self.later.get(ask.case.id, []))
        return [ask.from_month, *sorted(m for m in later if m > ask.from_month)]


async def facts_for(session: AsyncSession, asks: Sequence[Ask]) -> Facts:
    standards = await standard_usecases.rows(session, date(9999, 12, 31))
    ids = [a.case.id for a in asks]
    later: dict[uuid.UUID, list[date]] = {}
    rows = await session.execute(select(CaseAmount.case_id, CaseAmount.from_month).where(CaseAmount.case_id.in_(ids)))
    for case_id, month in rows:
        later.setdefault(case_id, []).append(month)
    app_ids = {a.case.application_id for a in asks if a.case.program == "dibao" and a.case.application_id}
    apps = await session.execute(select(Application.id, Application.household).where(Application.id.in_(app_ids)))
    households = {app_id: household for app_id, household in apps}
    numbers = {m["id_number"] for h in households.values() for m in h["members"]}
    dead = await session.execute(
        select(people_copy.people.c.id_number, people_copy.people.c.date_of_death).where(
            people_copy.people.c.id_number.in_(numbers), people_copy.people.c.status == "deceased"
        )
    )
    died = {n: day or date.min for n, day in dead}
    return Facts(standards, later, households, died)


def amount_at(ask: Ask, month: date, facts: Facts) -> tuple[Decimal, dict[str, Any]] | None:
    """The case's amount in `month` by its program's rules; None when the household is not eligible then."""
    standards = Standards(facts.standards, month)
    case = ask.case
    if case.program == "tekun":
        amount, explanation = tekun_amount(case.placement, case.care_level, standards)
        return amount, explanation | {"figures": figures_json(standards)}
    found = dibao_amounts(facts.households[case.application_id], facts.deceased_by(month), standards)
    if found is None or case.id_number not in found[0]:
        return None
    amounts, explanation = found
    return amounts[case.id_number], explanation | {"why": explanation["members"][case.id_number]}


def recomputed(asks: Sequence[Ask], facts: Facts) -> tuple[list[NewAmount], list[Ask]]:
    """The new amounts of every ask, from its month on; and the asks whose household is no longer eligible."""
    changes: list[NewAmount] = []
    ineligible: list[Ask] = []
    for ask in asks:
        if ask.case.program == "dibao" and ask.case.application_id is None:
            continue  # migrated: the amount on file until its review (there is no household to assess)
        for month in facts.months_from(ask):
            try:
                found = amount_at(ask, month, facts)
            except MissingStandard:
                continue  # a figure of the rule not in force that month: nothing can be recomputed from it
            if found is None:
                if month == ask.from_month:
                    ineligible.append(ask)
                break
            reason = ask.reason if month == ask.from_month else f"recomputed from {month:%Y-%m} after: {ask.reason}"
            changes.append(NewAmount(ask.case.id, month, found[0], reason, found[1]))
    return changes, ineligible


async def recompute(session: AsyncSession, asks: Sequence[Ask], today: date) -> list[ev.Payload]:
    """Recompute and record the asks (a fixed number of statements); households no longer eligible exit
    gradually (渐退) as RULES.md says of income above the standard."""
    if not asks:
        return []
    facts = await facts_for(session, asks)
    changes, ineligible = recomputed(asks, facts)
    await start_gradual_exits(session, ineligible, facts, today)
    return await record(session, changes)


# 渐退 for cases whose household is no longer eligible: paid on for the months in force, then ended.
_GRADUAL_EXIT = text(
    """
    UPDATE cases c SET status = 'gradual_exit', status_changed_on = :today, gradual_exit_until = :until,
        status_reason = left('gradual exit (' || :months || ' months): ' || u.reason, 100), updated_at = now()
    FROM unnest(CAST(:case_ids AS uuid[]), CAST(:reasons AS text[])) AS u(case_id, reason)
    WHERE c.id = u.case_id AND c.status = 'active'
    """
)


async def start_gradual_exits(session: AsyncSession, asks: Sequence[Ask], facts: Facts, today: date) -> None:
    if not asks:
        return
    months = int(Standards(facts.standards, today).get("gradual_exit.months"))
    params = {
        "today": today,
        "until": last_month_paid(today, months),
        "months": str(months),
        "case_ids": [a.case.id for a in asks],
        "reasons": [f"not eligible from {a.from_month:%Y-%m}: {a.reason}" for a in asks],
    }
    await session.execute(_GRADUAL_EXIT, params)


# -- recording ------------------------------------------------------------------------------------

# The amount on file before a case's first recorded change, from the case's first month: the history
# alone then answers every month (the payroll reads only `case_amounts` once a case has rows).
_BASELINE = text(
    """
    INSERT INTO case_amounts (id, case_id, from_month, amount, previous_amount, reason, explanation)
    SELECT gen_random_uuid(), c.id, CAST(date_trunc('month', c.started_on) AS date), c.monthly_amount, NULL,
           'the amount on file before its first change', '{}'::jsonb
    FROM cases c
    WHERE c.id = ANY(CAST(:case_ids AS uuid[]))
      AND NOT EXISTS (SELECT 1 FROM case_amounts a WHERE a.case_id = c.id)
    """
)

_INSERT = text(
    """
    INSERT INTO case_amounts (id, case_id, from_month, amount, previous_amount, reason, explanation)
    SELECT gen_random_uuid(), u.case_id, u.from_month, u.amount, NULL, u.reason, CAST(u.explanation AS jsonb)
    FROM unnest(CAST(:case_ids AS uuid[]), CAST(:months AS date[]), CAST(:amounts AS numeric[]),
                CAST(:reasons AS text[]), CAST(:explanations AS text[]))
         AS u(case_id, from_month, amount, reason, explanation)
    ON CONFLICT (case_id, from_month) DO UPDATE
        SET amount = EXCLUDED.amount, reason = EXCLUDED.reason, explanation = EXCLUDED.explanation
    """
)

# Each row of the cases touched ends where the next begins (the payroll joins the row in force by range) and
# names the amount it replaced (several rows of a case may be written by one statement).
_LINK = text(
    """
    UPDATE case_amounts a SET until_month = n.next_month, previous_amount = n.previous_amount
    FROM (SELECT id, lead(from_month) OVER w AS next_month, lag(amount) OVER w AS previous_amount
          FROM case_amounts WHERE case_id = ANY(CAST(:case_ids AS uuid[]))
          WINDOW w AS (PARTITION BY case_id ORDER BY from_month)) n
    WHERE a.id = n.id
      AND (a.until_month IS DISTINCT FROM n.next_month OR a.previous_amount IS DISTINCT FROM n.previous_amount)
    """
)

# The case shows its latest amount (the one of its latest month); the payroll reads the month's own.
_CURRENT = text(
    """
    UPDATE cases c SET monthly_amount = latest.amount, updated_at = now()
    FROM (SELECT DISTINCT ON (case_id) case_id, amount FROM case_amounts
          WHERE case_id = ANY(CAST(:case_ids AS uuid[])) ORDER BY case_id, from_month DESC) latest
    WHERE c.id = latest.case_id
    RETURNING c.id, c.person_id, c.id_number, c.hukou_division, c.program, c.status, c.started_on,
              c.status_changed_on
    """
)

# The amount in force in a month, and whether a row starts that month, to skip changes that change nothing.
_IN_FORCE = text(
    """
    SELECT u.case_id, u.from_month, coalesce(a.amount, c.monthly_amount) AS amount,
           coalesce(a.from_month = u.from_month, false) AS exact
    FROM unnest(CAST(:case_ids AS uuid[]), CAST(:months AS date[])) AS u(case_id, from_month)
    JOIN cases c ON c.id = u.case_id
    LEFT JOIN LATERAL (SELECT a.amount, a.from_month FROM case_amounts a
                       WHERE a.case_id = u.case_id AND a.from_month <= u.from_month
                       ORDER BY a.from_month DESC LIMIT 1) a ON true
    """
)


def changing(
    changes: Sequence[NewAmount], stored: dict[tuple[uuid.UUID, date], tuple[Decimal, bool]]
) -> list[NewAmount]:
    """The changes that change something: a row of their month holding another amount, or an amount other than
    the one in force just before (the case's earlier change of this batch, else what is stored)."""
    running: dict[uuid.UUID, Decimal] = {}
    kept = []
    for change in sorted(changes, key=lambda c: (c.case_id, c.from_month)):
        amount, exact = stored[(change.case_id, change.from_month)]
        before = amount if exact else running.get(change.case_id, amount)
        if change.amount != before:
            kept.append(change)
        running[change.case_id] = change.amount
    return kept


async def record(session: AsyncSession, changes: Sequence[NewAmount]) -> list[ev.Payload]:
    """Record the changes that change an amount (five statements whatever their number); publish each."""
    if not changes:
        return []
    ids, months = [c.case_id for c in changes], [c.from_month for c in changes]
    found = await session.execute(_IN_FORCE, {"case_ids": ids, "months": months})
    real = changing(changes, {(r.case_id, r.from_month): (r.amount, r.exact) for r in found})
    if not real:
        return []
    ids = [c.case_id for c in real]
    await session.execute(_BASELINE, {"case_ids": ids})
    await session.execute(
        _INSERT,
        {
            "case_ids": ids,
            "months": [c.from_month for c in real],
            "amounts": [c.amount for c in real],
            "reasons": [c.reason[:300] for c in real],
            "explanations": [json.dumps(c.explanation, ensure_ascii=False) for c in real],
        },
    )
    await session.execute(_LINK, {"case_ids": ids})
    rows = {r.id: r for r in await session.execute(_CURRENT, {"case_ids": ids})}
    emitted: list[ev.Payload] = [
        ev.CaseAmountChanged(
            person_id=rows[c.case_id].person_id,
            id_number=rows[c.case_id].id_number,
            hukou_division=rows[c.case_id].hukou_division,
            case_id=c.case_id,
            program=rows[c.case_id].program,
            status=rows[c.case_id].status,
            monthly_amount=c.amount,
            effective_date=c.from_month,
            reason=c.reason[:200],
        )
        for c in real
    ]
    await publish_many(session, emitted)
    return emitted


# -- the three triggers ---------------------------------------------------------------------------

_CASE_COLUMNS = (
    Case.id,
    Case.id_number,
    Case.program,
    Case.application_id,
    Case.placement,
    Case.care_level,
    Case.started_on,
)


async def after_standard(session: AsyncSession, key: str, effective_from: date) -> list[ev.Payload]:
    """A dibao or tekun figure changed: every open case of those programs recomputed from its first month."""
    if not key.startswith(RECOMPUTED_BY):
        return []
    from_month = first_month_from(effective_from)
    stmt = select(*_CASE_COLUMNS).where(Case.status.in_(OPEN), Case.program.in_(("dibao", "tekun")))
    cases = (await session.execute(stmt.order_by(Case.id).with_for_update())).all()
    reason = f"standard {key} in force from {effective_from.isoformat()}: amount recomputed"
    return await recompute(session, [Ask(c, from_month, reason) for c in cases], clock.today())


async def after_enrolment(session: AsyncSession, case_ids: Sequence[uuid.UUID], started_on: date) -> list[ev.Payload]:
    """New cases: the amount at enrolment recomputed for their first month and every later month a standard
    already set changes it (a standard set ahead applies to cases enrolled after it was set)."""
    stmt = select(*_CASE_COLUMNS).where(Case.id.in_(list(case_ids)), Case.program.in_(("dibao", "tekun")))
    cases = (await session.execute(stmt)).all()
    month = first_month_from(started_on)
    reason = f"enrolled from {month:%Y-%m}: the amount at the standards in force each month"
    return await recompute(session, [Ask(c, month, reason) for c in cases], clock.today())


async def after_deaths(session: AsyncSession, deaths: Sequence[tuple[uuid.UUID, date]]) -> list[ev.Payload]:
    """Members' confirmed deaths: the rest of each dibao household reassessed from the month after the death."""
    if not deaths:
        return []
    died_on = dict(deaths)
    dead = Case.__table__.alias("dead")
    stmt = (
        select(*_CASE_COLUMNS, dead.c.person_id)
        .join(dead, dead.c.application_id == Case.application_id)
        .where(
            dead.c.person_id.in_(list(died_on)),
            dead.c.program == "dibao",
            Case.person_id != dead.c.person_id,
            Case.program == "dibao",
            Case.status.in_(OPEN),
        )
        .order_by(Case.id)
    )
    asks = []
    for row in (await session.execute(stmt)).all():
        day = died_on[row[-1]]
        reason = f"a member of the household died on {day.isoformat()}: reassessed without them"
        asks.append(Ask(row, month_after(day), reason))
    return await recompute(session, asks, clock.today())


_SET_CARE_LEVEL = text(
    """
    UPDATE cases c SET care_level = u.level, updated_at = now()
    FROM unnest(CAST(:person_ids AS uuid[]), CAST(:levels AS text[])) AS u(person_id, level)
    WHERE c.person_id = u.person_id AND c.program = 'tekun' AND c.status IN ('active', 'suspended', 'gradual_exit')
    RETURNING c.id, c.id_number, c.program, c.application_id, c.placement, c.care_level, c.started_on, c.person_id
    """
)


async def after_assessments(session: AsyncSession, assessed: Sequence[ev.AssessmentCompleted]) -> list[ev.Payload]:
    """Eldercare's capacity assessments: each tekun case's care level, and amount from the month after."""
    if not assessed:
        return []
    rows = await standard_usecases.rows(session, date(9999, 12, 31))
    latest: dict[uuid.UUID, tuple[ev.AssessmentCompleted, tekun.CareLevel]] = {}
    for a in assessed:  # in order: a person's latest assessment of the chunk wins
        try:
            latest[a.person_id] = (a, care_level_of(a.care_level, Standards(rows, month_after(a.assessed_on))))
        except MissingStandard:
            continue
    if not latest:
        return []
    params = {"person_ids": list(latest), "levels": [level.value for _a, level in latest.values()]}
    asks = []
    for case in (await session.execute(_SET_CARE_LEVEL, params)).all():
        a, level = latest[case.person_id]
        reason = (
            f"care level {level.value} from eldercare's assessment of {a.assessed_on.isoformat()} "
            f"(GB/T 42195 level {a.care_level})"
        )
        asks.append(Ask(case, month_after(a.assessed_on), reason))
    return await recompute(session, asks, clock.today())
