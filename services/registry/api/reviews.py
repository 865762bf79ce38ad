"""/v1/reviews: partner reports waiting for staff (unknown identity number, name mismatch, policy)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from services.registry.models import ReviewItem
from services.registry.schemas import Page, ResolveIn, ReviewOut
from services.registry.usecases import reviews as cases
from shared import identity
from shared.app import Session
from shared.audit import record_read
from shared.auth import Principal, require
from shared.paging import Limit, Offset

router = APIRouter(prefix="/v1/reviews", tags=["reviews"])
ReasonCode = Literal["unknown_person", "name_mismatch", "policy", "out_of_division"]


def review_out(r: ReviewItem, principal: Principal) -> ReviewOut:
    report = dict(r.payload)
    if not principal.sees_pii:
        report["id_number"] = identity.mask(r.id_number)
    return ReviewOut(
        review_id=r.id,
        kind=r.kind,
        source=r.source,
        reference=r.reference,
        channel=r.channel,
        id_number=r.id_number if principal.sees_pii else identity.mask(r.id_number),
        name=r.name,
        reason_code=r.reason_code,
        reason=r.reason,
        confidence=r.confidence,
        candidate_person_id=r.candidate_person_id,
        status=r.status,
        hukou_division=r.hukou_division,
        report=report,
        resolved_person_id=r.resolved_person_id,
        resolution_note=r.resolution_note,
        created_at=r.created_at,
    )


@router.get("", response_model=Page[ReviewOut], summary="The review queue of your division")
async def find(
    request: Request,
    session: Session,
    principal: Annotated[Principal, require("registry:read")],
    status: Annotated[Literal["open", "waiting", "matched", "rejected", "applied"] | None, Query()] = "open",
    kind: Annotated[Literal["death", "hukou"] | None, Query()] = None,
    reason_code: Annotated[ReasonCode | None, Query()] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[ReviewOut]:
    total, items = await cases.list_reviews(
        session, status=status, kind=kind, reason_code=reason_code, limit=limit, offset=offset
    )
    await record_read(
        session,
        principal,
        request,
        [r.candidate_person_id for r in items if r.candidate_person_id],
        subject="review queue",
    )
    await session.commit()
    return Page(items=[review_out(r, principal) for r in items], total=total, limit=limit, offset=offset)


@router.get("/{review_id}", response_model=ReviewOut, summary="One review item")
async def get(
    review_id: uuid.UUID, request: Request, session: Session, principal: Annotated[Principal, require("registry:read")]
) -> ReviewOut:
    review = await cases.get_review(session, review_id)
    await record_read(session, principal, request, review.candidate_person_id, subject=f"review {review.id}")
    await session.commit()
    return review_out(review, principal)


@router.post(
    "/{review_id}/resolve", response_model=ReviewOut, summary="Match the report to a person, reject it, or let it wait"
)
async def resolve(
    review_id: uuid.UUID, body: ResolveIn, session: Session, principal: Annotated[Principal, require("registry:write")]
) -> ReviewOut:
    review, _ = await cases.resolve(
        session, review_id, action=body.action, person_id=body.person_id, note=body.note, actor=principal.sub
    )
    out = review_out(review, principal)
    await session.commit()
    return out
