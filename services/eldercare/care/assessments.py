"""Capacity assessments: record one (the level computed from the scores), supersede the last, publish."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.eldercare.care.common import flush_or_conflict, not_future, person_in_scope
from services.eldercare.domain import assessment as rules
from services.eldercare.domain.allowance import age_on
from services.eldercare.models import Assessment
from services.eldercare.schemas import AssessmentIn
from shared import clock
from shared import event_types as ev
from shared.events import publish
from shared.problems import Conflict, Invalid, NotFound
from shared.settings import Settings

MIN_AGE = 60


def _result(body: AssessmentIn) -> rules.Result:
    conditions = rules.Conditions(
        coma=body.coma,
        dementia_or_mental_disorder=body.dementia_or_mental_disorder,
        risk_events_30d=tuple(body.risk_events_30d),
    )
    try:
        return rules.assess(body.scores, conditions)
    except rules.ScoreError as exc:
        raise Invalid(str(exc), field=exc.field) from exc


def _same_sheet(a: Assessment, body: AssessmentIn, on: date) -> bool:
    return (a.assessed_on, a.scores, a.coma, a.dementia_or_mental_disorder, a.risk_events_30d) == (
        on,
        dict(body.scores),
        body.coma,
        body.dementia_or_mental_disorder,
        list(body.risk_events_30d),
    )


async def record(
    session: AsyncSession, settings: Settings, body: AssessmentIn, *, assessor: str
) -> tuple[Assessment, bool]:
    """Store the score sheet with its computed level; the person's previous assessment is superseded.

    Answers (assessment, created): the same sheet for the same day again answers the current one (no new row, no event).
    """
    result = _result(body)
    on = not_future(body.assessed_on or clock.today(), "assessed_on")
    person = await person_in_scope(session, settings, body.id_number)
    if person.birth_date is not None and age_on(person.birth_date, on) < MIN_AGE:
        raise Invalid(
            f"capacity assessment is for people aged {MIN_AGE}+; the person was {age_on(person.birth_date, on)}",
            field="id_number",
        )
    # One assessment of a person at a time: the next reads the current one only after the last committed,
    # so a retried sheet finds itself and a reassessment always supersedes the latest.
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": f"assessment:{person.person_id}"}
    )
    current = (
        await session.execute(
            select(Assessment).where(Assessment.person_id == person.person_id, Assessment.superseded_by.is_(None))
        )
    ).scalar_one_or_none()
    if current is not None and _same_sheet(current, body, on):
        return current, False  # the same sheet sent again (a retry): one assessment, not a chain of copies
    if current is not None and current.assessed_on > on:
        raise Conflict(
            f"a later assessment (of {current.assessed_on}) is current; a reassessment cannot predate it",
            field="assessed_on",
        )
    new_id = uuid.uuid4()
    if current is not None:
        current.superseded_by = new_id
        await session.flush()  # frees the "one current assessment" index before the new row takes it
    assessment = Assessment(
        id=new_id,
        person_id=person.person_id,
        id_number=person.id_number,
        hukou_division=person.hukou_division,
        assessed_on=on,
        reason=body.reason if current is None or body.reason != "first" else "review",
        assessor=assessor,
        scores=dict(body.scores),
        coma=body.coma,
        dementia_or_mental_disorder=body.dementia_or_mental_disorder,
        risk_events_30d=list(body.risk_events_30d),
        subtotals=result.subtotals,
        total=result.total,
        preliminary_level=result.preliminary_level,
        level=result.level,
        explanation=result.explanation,
    )
    session.add(assessment)
    await flush_or_conflict(
        session,
        {
            "uq_assessments_current_person": Conflict(
                "another assessment of this person was recorded at the same moment; reload and retry", field="id_number"
            )
        },
    )
    await publish(
        session,
        ev.AssessmentCompleted(
            person_id=person.person_id,
            id_number=person.id_number,
            hukou_division=person.hukou_division,
            assessment_id=assessment.id,
            care_level=assessment.level,
            assessed_on=on,
        ),
    )
    return assessment, True


async def get(session: AsyncSession, assessment_id: uuid.UUID) -> Assessment:
    found = (await session.execute(select(Assessment).where(Assessment.id == assessment_id))).scalar_one_or_none()
    if found is None:
        raise NotFound("no such assessment", field="assessment_id")
    return found
