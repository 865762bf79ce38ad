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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.assistance import standard_usecases
from services.assistance.application_usecases import household_of
from services.assistance.domain import dibao, tekun
from services.assistance.domain.standards import MissingStandard, Standards
from services.assistance.models import Application, Case
from services.assistance.schemas import ApplicationIn
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


async def tekun_changes(session: AsyncSession, cases: Sequence[Any], from_month: date, reason: str) -> list[NewAmount]:
    """Each tekun case's amount from `from_month`, at the standards then in force."""
    standards = await standard_usecases.load(session, from_month)
    changes = []
    for case in cases:
        amount, explanation = tekun_amount(case.placement, case.care_level, standards)
        explanation["figures"] = figures_json(standards)
        changes.append(NewAmount(case.id, from_month, amount, reason, explanation))
    return changes


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


async def deceased_among(session: AsyncSession, id_numbers: Iterable[str]) -> set[str]:
    rows = await session.execute(
        select(people_copy.people.c.id_number).where(
            people_copy.people.c.id_number.in_(list(set(id_numbers))), people_copy.people.c.status == "deceased"
        )
    )
    return set(rows.scalars())


async def dibao_changes(session: AsyncSession, cases: Sequence[Any], from_month: date, reason: str) -> list[NewAmount]:
    """Dibao cases from applications reassessed on their household as it is now, from `from_month`."""
    by_application: dict[uuid.UUID, list[Any]] = {}
    for case in cases:
        if case.application_id is not None:
            by_application.setdefault(case.application_id, []).append(case)
    if not by_application:
        return []
    apps = (await session.execute(select(Application).where(Application.id.in_(list(by_application))))).scalars()
    records = {a.id: a.household for a in apps}
    numbers = [m["id_number"] for r in records.values() for m in r["members"]]
    deceased = await deceased_among(session, numbers)
    standards = await standard_usecases.load(session, from_month)
    changes = []
    for application_id, its_cases in by_application.items():
        found = dibao_amounts(records[application_id], deceased, standards)
        if found is None:
            continue  # no longer eligible: left to the review the household change raised
        amounts, explanation = found
        for case in its_cases:
            if case.id_number in amounts:
                why = explanation | {"why": explanation["members"][case.id_number]}
                changes.append(NewAmount(case.id, from_month, amounts[case.id_number], reason, why))
    return changes


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
    SELECT gen_random_uuid(), u.case_id, u.from_month, u.amount,
           (SELECT a.amount FROM case_amounts a WHERE a.case_id = u.case_id AND a.from_month < u.from_month
            ORDER BY a.from_month DESC LIMIT 1),
           u.reason, CAST(u.explanation AS jsonb)
    FROM unnest(CAST(:case_ids AS uuid[]), CAST(:months AS date[]), CAST(:amounts AS numeric[]),
                CAST(:reasons AS text[]), CAST(:explanations AS text[]))
         AS u(case_id, from_month, amount, reason, explanation)
    ON CONFLICT (case_id, from_month) DO UPDATE
        SET amount = EXCLUDED.amount, reason = EXCLUDED.reason, explanation = EXCLUDED.explanation
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

# The amount in force in a month, to skip changes that change nothing.
_IN_FORCE = text(
    """
    SELECT u.case_id, coalesce(
        (SELECT a.amount FROM case_amounts a WHERE a.case_id = u.case_id AND a.from_month <= u.from_month
         ORDER BY a.from_month DESC LIMIT 1), c.monthly_amount) AS amount
    FROM unnest(CAST(:case_ids AS uuid[]), CAST(:months AS date[])) AS u(case_id, from_month)
    JOIN cases c ON c.id = u.case_id
    """
)


async def record(session: AsyncSession, changes: Sequence[NewAmount]) -> list[ev.Payload]:
    """Record the changes that change an amount (four statements whatever their number); publish each."""
    if not changes:
        return []
    ids, months = [c.case_id for c in changes], [c.from_month for c in changes]
    before = dict((await session.execute(_IN_FORCE, {"case_ids": ids, "months": months})).all())
    real = [c for c in changes if before.get(c.case_id) != c.amount]
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
    try:
        changes = await tekun_changes(session, [c for c in cases if c.program == "tekun"], from_month, reason)
        changes += await dibao_changes(session, [c for c in cases if c.program == "dibao"], from_month, reason)
    except MissingStandard:
        return []  # a figure of the rule not in force that month: nothing can be recomputed from it
    return await record(session, changes)


async def after_deaths(session: AsyncSession, deaths: Sequence[tuple[uuid.UUID, date]]) -> list[ev.Payload]:
    """Members' confirmed deaths: the rest of each dibao household reassessed from the month after the death."""
    emitted: list[ev.Payload] = []
    for person_id, died_on in deaths:
        apps = select(Case.application_id).where(
            Case.person_id == person_id, Case.program == "dibao", Case.application_id.is_not(None)
        )
        stmt = select(*_CASE_COLUMNS).where(
            Case.application_id.in_(apps), Case.person_id != person_id, Case.status.in_(OPEN)
        )
        others = (await session.execute(stmt)).all()
        if not others:
            continue
        reason = f"a member of the household died on {died_on.isoformat()}: reassessed without them"
        try:
            emitted += await record(session, await dibao_changes(session, others, month_after(died_on), reason))
        except MissingStandard:
            continue
    return emitted


async def after_assessments(session: AsyncSession, assessed: Sequence[ev.AssessmentCompleted]) -> list[ev.Payload]:
    """Eldercare's capacity assessments: each tekun case's care level, and amount from the month after."""
    emitted: list[ev.Payload] = []
    for a in assessed:
        from_month = month_after(a.assessed_on)
        try:
            standards = await standard_usecases.load(session, from_month)
            level = care_level_of(a.care_level, standards)
        except MissingStandard:
            continue
        stmt = select(Case).where(Case.person_id == a.person_id, Case.program == "tekun", Case.status.in_(OPEN))
        cases = list((await session.execute(stmt.with_for_update())).scalars())
        for case in cases:
            case.care_level = level.value
        await session.flush()
        reason = (
            f"care level {level.value} from eldercare's assessment of {a.assessed_on.isoformat()} "
            f"(GB/T 42195 level {a.care_level})"
        )
        emitted += await record(session, await tekun_changes(session, cases, from_month, reason))
    return emitted
