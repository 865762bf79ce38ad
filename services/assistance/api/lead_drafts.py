"""/v1/applications/drafts: monitoring's leads as draft applications, submitted or dismissed by a caseworker.

A draft belongs to the household's town: staff elsewhere find none (404).
Submitting one answers the application it became, as `POST /v1/applications`
does; from there the normal workflow (review, notice, confirmation) goes on.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field

from services.assistance import lead_drafts
from services.assistance.api.applications import answer
from services.assistance.models import LeadDraft
from services.assistance.schemas import ApplicationIn, ApplicationOut, ApplicationProgram, Note, Page
from shared import identity
from shared.app import Session
from shared.audit import record_read
from shared.auth import Principal, require
from shared.fields import IdNumberText
from shared.paging import Limit, Offset

router = APIRouter(prefix="/v1/applications/drafts", tags=["applications"])
Reader = Annotated[Principal, require("assistance:read")]
Writer = Annotated[Principal, require("assistance:write")]
DraftStatus = Literal["open", "covered", "submitted", "dismissed"]


class LeadDraftOut(BaseModel):
    id: uuid.UUID
    lead_id: uuid.UUID
    person_id: uuid.UUID
    id_number: str
    hukou_division: str
    program: str
    reason: str
    summary: str
    figures: dict[str, str]
    application: dict[str, Any]
    status: DraftStatus
    covered_by: str | None
    application_id: uuid.UUID | None
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    received_at: datetime


class DraftSubmitIn(BaseModel):
    """The caseworker's decision to apply; `application` completes the pre-filled one (assets, other members)."""

    model_config = ConfigDict(extra="forbid")

    application: ApplicationIn | None = None
    note: Note = ""


class DraftDismissIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(min_length=1, max_length=200)]


def _masked(application: dict[str, Any]) -> dict[str, Any]:
    members = [{**m, "id_number": identity.mask(str(m.get("id_number", "")))} for m in application.get("members", [])]
    return {**application, "members": members}


def draft_out(draft: LeadDraft, principal: Principal) -> LeadDraftOut:
    pii = principal.sees_pii
    return LeadDraftOut(
        id=draft.id, lead_id=draft.lead_id, person_id=draft.person_id,
        id_number=draft.id_number if pii else identity.mask(draft.id_number), hukou_division=draft.hukou_division,
        program=draft.program, reason=draft.reason, summary=draft.summary, figures=draft.figures,
        application=draft.application if pii else _masked(draft.application), status=draft.status,  # type: ignore[arg-type]
        covered_by=draft.covered_by, application_id=draft.application_id, decided_by=draft.decided_by,
        decided_at=draft.decided_at, decision_note=draft.decision_note, received_at=draft.received_at,
    )  # fmt: skip


@router.get("", response_model=Page[LeadDraftOut], summary="Draft applications from monitoring's leads")
async def list_drafts(
    request: Request,
    session: Session,
    principal: Reader,
    status: DraftStatus | None = None,
    program: ApplicationProgram | None = None,
    id_number: Annotated[IdNumberText | None, Query(description="the person the lead names")] = None,
    division: Annotated[str | None, Query(max_length=12, description="the household's town or community")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[LeadDraftOut]:
    total, rows = await lead_drafts.search(
        session,
        status=status,
        program=program.value if program else None,
        id_number=id_number,
        division=division,
        limit=limit,
        offset=offset,
    )
    await record_read(session, principal, request, sorted({d.person_id for d in rows}), subject="lead_drafts")
    await session.commit()
    return Page(items=[draft_out(d, principal) for d in rows], total=total, limit=limit, offset=offset)


@router.get("/{draft_id}", response_model=LeadDraftOut, summary="A draft with the application it pre-fills")
async def get_draft(draft_id: uuid.UUID, request: Request, session: Session, principal: Reader) -> LeadDraftOut:
    draft = await lead_drafts.get(session, draft_id)
    await record_read(session, principal, request, draft.person_id, subject=f"lead_draft:{draft.id}")
    await session.commit()
    return draft_out(draft, principal)


@router.post(
    "/{draft_id}/submit",
    response_model=ApplicationOut,
    status_code=status.HTTP_201_CREATED,
    summary="Submit the draft (as pre-filled, or completed) as an application; the normal workflow follows",
)
async def submit_draft(
    draft_id: uuid.UUID, body: DraftSubmitIn, request: Request, session: Session, principal: Writer
) -> ApplicationOut:
    settings = request.app.state.settings
    app = await lead_drafts.submit(session, settings, principal, draft_id, body.application, body.note)
    return await answer(request, session, app, principal)


@router.post("/{draft_id}/dismiss", response_model=LeadDraftOut, summary="Dismiss the draft, with the reason")
async def dismiss_draft(draft_id: uuid.UUID, body: DraftDismissIn, session: Session, principal: Writer) -> LeadDraftOut:
    draft = await lead_drafts.dismiss(session, principal, draft_id, body.reason)
    await session.flush()
    out = draft_out(draft, principal)
    await session.commit()
    return out
