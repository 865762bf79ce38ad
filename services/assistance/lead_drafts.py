"""Draft applications from monitoring's proactive discovery (主动发现): a finding becomes a case, nobody retyping it.

Monitoring publishes `monitoring.lead.raised` with the application it
pre-fills. Assistance keeps each lead as a draft of the household's town; a
caseworker there submits it (completed if need be) into the normal workflow,
or dismisses it with the reason. The system never applies for anyone on its
own: a draft is a suggestion until a person decides.

The consumer records a chunk of leads in one statement. The same lead twice
gives one draft (`lead_id` is unique); a lead whose program is already
covered for the person (an open application, a case in force, an open draft)
is kept as `covered`, naming what covers it, so the finding is not lost and
not duplicated.
"""

from __future__ import annotations

import json
import uuid

from pydantic import ValidationError
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.assistance import application_usecases
from services.assistance.domain import workflow
from services.assistance.models import Application, LeadDraft
from services.assistance.schemas import ApplicationIn
from shared import divisions
from shared import event_types as ev
from shared.auth import Principal
from shared.db import utcnow
from shared.problems import Conflict, Invalid, NotFound
from shared.settings import Settings

OPEN, COVERED, SUBMITTED, DISMISSED = "open", "covered", "submitted", "dismissed"
STATUSES = (OPEN, COVERED, SUBMITTED, DISMISSED)
_OPEN_APPLICATION = tuple(s.value for s in workflow.OPEN)
_HELD_CASE = tuple(s.value for s in application_usecases.HELD)

# One statement per chunk. `covered_by` names the first thing that already covers the person's program:
# an open application, a case in force, an open draft, or an earlier lead of the same chunk (`rank` > 1).
_RECORD = text(
    """
    WITH incoming AS (
        SELECT t.*, row_number() OVER (PARTITION BY t.person_id, t.program ORDER BY t.ord) AS rank
        FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS t(
            ord int, lead_id uuid, person_id uuid, id_number text, hukou_division text, program text,
            reason text, summary text, figures jsonb, application jsonb)
    )
    INSERT INTO lead_drafts (id, lead_id, person_id, id_number, hukou_division, program, reason, summary, figures,
                             application, status, covered_by)
    SELECT gen_random_uuid(), i.lead_id, i.person_id, i.id_number, i.hukou_division, i.program, i.reason,
           i.summary, i.figures, i.application,
           CASE WHEN c.covered_by IS NULL THEN 'open' ELSE 'covered' END, c.covered_by
    FROM incoming i
    CROSS JOIN LATERAL (SELECT COALESCE(
        (SELECT 'application ' || a.id FROM applications a
          WHERE a.applicant_person_id = i.person_id AND a.program = i.program
            AND a.status = ANY(CAST(:open_application AS text[])) LIMIT 1),
        (SELECT 'case ' || x.id FROM cases x
          WHERE x.person_id = i.person_id AND x.program = i.program
            AND x.status = ANY(CAST(:held_case AS text[])) LIMIT 1),
        (SELECT 'draft ' || d.id FROM lead_drafts d
          WHERE d.person_id = i.person_id AND d.program = i.program AND d.status = 'open' LIMIT 1),
        CASE WHEN i.rank > 1 THEN 'an earlier lead of the same program' END) AS covered_by) c
    ORDER BY i.ord
    ON CONFLICT (lead_id) DO NOTHING
    """
)


def _row(ord_: int, lead: ev.LeadRaised) -> dict[str, object]:
    return {
        "ord": ord_,
        "lead_id": str(lead.lead_id),
        "person_id": str(lead.person_id),
        "id_number": lead.id_number,
        "hukou_division": lead.hukou_division,
        "program": lead.program,
        "reason": lead.reason,
        "summary": lead.summary,
        "figures": lead.figures,
        "application": lead.application,
    }


async def record(session: AsyncSession, leads: list[ev.LeadRaised]) -> None:
    """A chunk of leads kept as drafts (open, or covered by what already covers them), in one statement."""
    if not leads:
        return
    rows = json.dumps([_row(i, lead) for i, lead in enumerate(leads)], ensure_ascii=False)
    params = {"rows": rows, "open_application": list(_OPEN_APPLICATION), "held_case": list(_HELD_CASE)}
    await session.execute(_RECORD, params)


async def get(session: AsyncSession, draft_id: uuid.UUID, *, lock: bool = False) -> LeadDraft:
    """The draft, if the caller's division covers its household; otherwise 404 as if it did not exist."""
    stmt = select(LeadDraft).where(LeadDraft.id == draft_id)
    draft = (await session.execute(stmt.with_for_update() if lock else stmt)).scalar_one_or_none()
    if draft is None:
        raise NotFound("no such draft in your division", field="draft_id")
    return draft


async def search(
    session: AsyncSession,
    *,
    status: str | None,
    program: str | None,
    id_number: str | None,
    division: str | None,
    limit: int,
    offset: int,
) -> tuple[int, list[LeadDraft]]:
    """The caller's drafts (the session is scoped to its division), oldest first."""
    stmt = select(LeadDraft)
    for column, value in ((LeadDraft.status, status), (LeadDraft.program, program), (LeadDraft.id_number, id_number)):
        if value:
            stmt = stmt.where(column == value)
    if division:
        stmt = stmt.where(divisions.covers_clause(LeadDraft.hukou_division, division))
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    page = stmt.order_by(LeadDraft.received_at, LeadDraft.id).limit(limit).offset(offset)
    return total, list((await session.execute(page)).scalars().all())


def _still_open(draft: LeadDraft) -> None:
    if draft.status != OPEN:
        raise Conflict(f"the draft is {draft.status}: only an open draft is decided", field="status")


def _application_of(draft: LeadDraft, completed: ApplicationIn | None) -> ApplicationIn:
    """The application to submit: the caseworker's completed one, or the lead's as monitoring pre-filled it."""
    if completed is None:
        try:
            completed = ApplicationIn.model_validate(draft.application)
        except ValidationError as exc:
            detail = exc.errors()[0]["msg"]
            raise Invalid(
                f"the pre-filled application is incomplete ({detail}): send it completed", field="application"
            ) from exc
    if completed.members[0].id_number != draft.id_number:
        raise Invalid("the applicant must be the person the lead names", field="application.members[0].id_number")
    return completed


async def submit(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    draft_id: uuid.UUID,
    completed: ApplicationIn | None,
    note: str,
) -> Application:
    """The caseworker's decision to apply: the draft becomes a submitted application, in the normal workflow.

    Everything `POST /v1/applications` checks applies (members resolved, one open application per applicant
    and program: a 409 then, and the draft stays open for the caseworker to dismiss).
    """
    draft = await get(session, draft_id, lock=True)
    _still_open(draft)
    app = await application_usecases.submit(session, settings, principal, _application_of(draft, completed))
    provenance = f"from lead {draft.lead_id} ({draft.reason}): {draft.summary}"
    session.add(application_usecases.step(app, "from_lead", principal, provenance))
    _decide(draft, SUBMITTED, principal, note)
    draft.application_id = app.id
    return app


async def dismiss(session: AsyncSession, principal: Principal, draft_id: uuid.UUID, reason: str) -> LeadDraft:
    """The caseworker's decision not to apply, with the reason (the lead stays on file, decided)."""
    draft = await get(session, draft_id, lock=True)
    _still_open(draft)
    _decide(draft, DISMISSED, principal, reason)
    return draft


async def supersede(session: AsyncSession, app: Application, principal: Principal) -> None:
    """Close the open drafts of `app`'s program for any member of its household: the household applied directly.

    The lead is answered by the application (its id kept on the draft), so no caseworker has to dismiss it by
    hand, and submitting the draft later cannot make a second application. In the application's transaction;
    the session's division scope bounds what it closes, as for every write.
    """
    members = [uuid.UUID(m["person_id"]) for m in app.household["members"]]
    await session.execute(
        update(LeadDraft)
        .where(LeadDraft.person_id.in_(members), LeadDraft.program == app.program, LeadDraft.status == OPEN)
        .values(
            status=DISMISSED,
            application_id=app.id,
            decided_by=principal.sub,
            decided_at=utcnow(),
            decision_note=f"superseded by application {app.id}",
        )
        .execution_options(synchronize_session=False)
    )


def _decide(draft: LeadDraft, status: str, principal: Principal, note: str) -> None:
    draft.status, draft.decided_by, draft.decided_at, draft.decision_note = status, principal.sub, utcnow(), note
