"""/v1/applications: submit with the assessment; review, notice and objections, confirm, reject; list overdue."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from services.assistance import application_usecases as usecases
from services.assistance import lead_drafts
from services.assistance.domain import workflow
from services.assistance.models import Application
from services.assistance.schemas import (
    ApplicationIn,
    ApplicationOut,
    ApplicationProgram,
    AssessmentOut,
    ConfirmIn,
    HouseholdMemberOut,
    ObjectionIn,
    ObjectionOut,
    Page,
    RejectIn,
    ReviewIn,
    SettleIn,
    StepOut,
)
from shared import clock, identity
from shared.app import Session
from shared.audit import record_read
from shared.auth import Principal, require
from shared.fields import IdNumberText
from shared.paging import Limit, Offset

router = APIRouter(prefix="/v1/applications", tags=["applications"])
Reader = Annotated[Principal, require("assistance:read")]
Writer = Annotated[Principal, require("assistance:write")]


def members_out(app: Application, principal: Principal) -> list[HouseholdMemberOut]:
    return [
        HouseholdMemberOut(
            member=i,
            person_id=m["person_id"],
            name=m.get("name"),
            relation=m["relation"],
            id_number=m["id_number"] if principal.sees_pii else identity.mask(m["id_number"]),
            hukou_division=m["hukou_division"],
        )
        for i, m in enumerate(app.household["members"])
    ]


def application_out(app: Application, details: usecases.Details, principal: Principal) -> ApplicationOut:
    steps, objections, case_ids = details
    return ApplicationOut(
        id=app.id,
        program=app.program,
        status=app.status,
        hukou_division=app.hukou_division,
        members=members_out(app, principal),
        assessment=AssessmentOut.model_validate(app.assessment),
        submitted_on=app.submitted_on,
        review_due_on=app.review_due_on,
        due_on=app.due_on,
        overdue=workflow.overdue_step(workflow.Status(app.status), clock.today(), app.review_due_on, app.due_on),
        survey_notes=app.survey_notes,
        notice_from=app.notice_from,
        notice_until=app.notice_until,
        confirmed_on=app.confirmed_on,
        paid_from=app.paid_from,
        rejected_reason=app.rejected_reason,
        steps=[StepOut.model_validate(s, from_attributes=True) for s in steps],
        objections=[ObjectionOut.model_validate(o, from_attributes=True) for o in objections],
        case_ids=case_ids,
    )


async def answer(request: Request, session: Session, app: Application, principal: Principal) -> ApplicationOut:
    """The application as the caller may see it; the read of its members is audited, then committed."""
    await session.flush()
    out = application_out(app, (await usecases.details(session, [app]))[app.id], principal)
    person_ids = [uuid.UUID(m["person_id"]) for m in app.household["members"]]
    await record_read(session, principal, request, person_ids, subject=f"application:{app.id}")
    await session.commit()
    return out


@router.post(
    "",
    response_model=ApplicationOut,
    status_code=status.HTTP_201_CREATED,
    summary="Submit an application; the answer carries the assessment and its explanation",
)
async def submit(body: ApplicationIn, request: Request, session: Session, principal: Writer) -> ApplicationOut:
    app = await usecases.submit(session, request.app.state.settings, principal, body)
    await lead_drafts.supersede(session, app, principal)  # a lead for this household is answered by it
    return await answer(request, session, app, principal)


@router.get(
    "",
    response_model=Page[ApplicationOut],
    summary="List applications (filter by status, program, applicant, division; overdue=true for late steps)",
)
async def list_applications(
    request: Request,
    session: Session,
    principal: Reader,
    status: workflow.Status | None = None,
    program: ApplicationProgram | None = None,
    overdue: bool | None = None,
    id_number: Annotated[IdNumberText | None, Query(description="the applicant's identity number")] = None,
    division: Annotated[str | None, Query(max_length=12, description="the household's town or community")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[ApplicationOut]:
    total, rows = await usecases.search(
        session,
        status=status.value if status else None,
        program=program.value if program else None,
        overdue=overdue,
        id_number=id_number,
        division=division,
        limit=limit,
        offset=offset,
    )
    details = await usecases.details(session, rows)
    items = [application_out(a, details[a.id], principal) for a in rows]
    person_ids = sorted({uuid.UUID(m["person_id"]) for a in rows for m in a.household["members"]})
    await record_read(session, principal, request, person_ids, subject="applications")
    await session.commit()
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/{application_id}", response_model=ApplicationOut, summary="One application with its steps")
async def get_application(
    application_id: uuid.UUID, request: Request, session: Session, principal: Reader
) -> ApplicationOut:
    return await answer(request, session, await usecases.get(session, application_id), principal)


@router.post(
    "/{application_id}/review",
    response_model=ApplicationOut,
    summary="审核: the town's review with the household survey notes (dibao and tekun go on notice)",
)
async def review(
    application_id: uuid.UUID, body: ReviewIn, request: Request, session: Session, principal: Writer
) -> ApplicationOut:
    settings = request.app.state.settings
    app = await usecases.review(session, settings, principal, application_id, body.survey_notes, body.household)
    return await answer(request, session, app, principal)


@router.post(
    "/{application_id}/objections",
    response_model=ObjectionOut,
    status_code=status.HTTP_201_CREATED,
    summary="Record an objection raised during the public notice",
)
async def object_to(application_id: uuid.UUID, body: ObjectionIn, session: Session, principal: Writer) -> ObjectionOut:
    objection = await usecases.object_to(session, principal, application_id, body.content)
    await session.commit()
    return ObjectionOut.model_validate(objection, from_attributes=True)


@router.post(
    "/{application_id}/objections/{objection_id}/settle",
    response_model=ApplicationOut,
    summary="Settle an objection: dismissed (the notice stands) or upheld (investigate and review again)",
)
async def settle(
    application_id: uuid.UUID,
    objection_id: uuid.UUID,
    body: SettleIn,
    request: Request,
    session: Session,
    principal: Writer,
) -> ApplicationOut:
    app = await usecases.settle(session, principal, application_id, objection_id, body.outcome, body.settlement)
    return await answer(request, session, app, principal)


@router.post(
    "/{application_id}/confirm",
    response_model=ApplicationOut,
    summary="确认: confirm after the notice; cases are paid from the next month",
)
async def confirm(
    application_id: uuid.UUID, body: ConfirmIn, request: Request, session: Session, principal: Writer
) -> ApplicationOut:
    app = await usecases.confirm(session, principal, application_id, body.note)
    return await answer(request, session, app, principal)


@router.post(
    "/{application_id}/reject",
    response_model=ApplicationOut,
    summary="Reject at any step before confirmation, with the reason",
)
async def reject(
    application_id: uuid.UUID, body: RejectIn, request: Request, session: Session, principal: Writer
) -> ApplicationOut:
    app = await usecases.reject(session, principal, application_id, body.reason)
    return await answer(request, session, app, principal)
