"""The review queue (待核对): reports not applied automatically, matched, rejected or left waiting by staff.

A report about a person the registry does not know yet waits here and is
applied when that person is registered (`apply_waiting_for`), if the
division that sent it covers the one the person is registered in; else it
stays for a registrar of that division (reason `out_of_division`).
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.domain import intake as rules
from services.registry.models import DeathReport, Person, ReviewItem
from services.registry.usecases.reports import Intake, Item, LineOutcome
from shared import clock
from shared.db import unscoped, utcnow
from shared.problems import Conflict, Invalid, NotFound

OPEN = ("open", "waiting")


async def list_reviews(
    session: AsyncSession, *, status: str | None, kind: str | None, reason_code: str | None, limit: int, offset: int
) -> tuple[int, list[ReviewItem]]:
    stmt = select(ReviewItem)
    if status:
        stmt = stmt.where(ReviewItem.status == status)
    if kind:
        stmt = stmt.where(ReviewItem.kind == kind)
    if reason_code:
        stmt = stmt.where(ReviewItem.reason_code == reason_code)
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    items = (
        (await session.execute(stmt.order_by(ReviewItem.created_at, ReviewItem.id).limit(limit).offset(offset)))
        .scalars()
        .all()
    )
    return total, list(items)


async def get_review(session: AsyncSession, review_id: uuid.UUID, *, lock: bool = False) -> ReviewItem:
    stmt = select(ReviewItem).where(ReviewItem.id == review_id)
    if lock:
        stmt = stmt.with_for_update()
    item = (await session.execute(stmt)).scalar_one_or_none()
    if item is None:
        raise NotFound("no such review item in your division", field="review_id")
    return item


async def _item_for(session: AsyncSession, review: ReviewItem, person: Person, checks: bool) -> Item:
    record = rules.read(review.payload, today=clock.today())
    row = None
    if review.kind == "death":
        row = (
            await session.execute(
                select(DeathReport).where(
                    DeathReport.source == review.source, DeathReport.reference == review.reference
                )
            )
        ).scalar_one_or_none()
    return Item(record, person=person, checks=checks, report_row=row, review=review)


async def resolve(
    session: AsyncSession,
    review_id: uuid.UUID,
    *,
    action: str,
    person_id: uuid.UUID | None,
    note: str | None,
    actor: str,
) -> tuple[ReviewItem, LineOutcome | None]:
    """match: apply the report to the person named (the registrar vouches for it); reject; wait."""
    review = await get_review(session, review_id, lock=True)
    if review.status not in OPEN:
        raise Conflict(f"the review item is already {review.status}", field="review_id")
    outcome = None
    if action == "match":
        if person_id is None:
            raise Invalid("name the person the report is about", field="person_id")
        person = (
            await session.execute(select(Person).where(Person.id == person_id).with_for_update())
        ).scalar_one_or_none()
        if person is None:
            raise NotFound("no such person in your division", field="person_id")
        item = await _item_for(session, review, person, checks=False)
        [outcome] = await Intake(session, channel=review.channel).run([item])
        outcome.raise_if_rejected()
        review.status, review.resolved_person_id = "matched", person.id
    elif action == "reject":
        review.status = "rejected"
        if review.kind == "death":
            row = (
                await session.execute(
                    select(DeathReport).where(
                        DeathReport.source == review.source, DeathReport.reference == review.reference
                    )
                )
            ).scalar_one_or_none()
            if row is not None:
                row.outcome, row.explanation = "rejected", (note or "rejected on review")[:300]
    else:
        review.status = "waiting"
    review.resolution_note, review.resolved_by, review.resolved_at = note, actor, utcnow()
    await session.flush()
    return review, outcome


async def apply_waiting_for(session: AsyncSession, person: Person) -> list[LineOutcome]:
    """Reports that arrived before the person was registered take effect now, in arrival order.

    District-wide: a report about a number registered nowhere is kept at the
    district's level (or at the end of a move it names), whoever registers the
    person now. The intake applies it only if its sender covers the person's
    division; the rest wait for a registrar there.
    """
    with unscoped(session):
        waiting = (
            (
                await session.execute(
                    select(ReviewItem)
                    .where(
                        ReviewItem.id_number == person.id_number,
                        ReviewItem.reason_code == "unknown_person",
                        ReviewItem.status.in_(OPEN),
                    )
                    .order_by(ReviewItem.created_at, ReviewItem.id)
                    .with_for_update()
                )
            )
            .scalars()
            .all()
        )
        if not waiting:
            return []
        items = [await _item_for(session, r, person, checks=True) for r in waiting]
    outcomes = await Intake(session, channel="registration").run(items)
    for review, outcome in zip(waiting, outcomes, strict=True):
        if outcome.status != "accepted" or outcome.outcome not in ("review", "pending"):
            review.status, review.resolved_person_id, review.resolved_at = "applied", person.id, utcnow()
            review.resolution_note = (
                "applied when the person was registered"
                if outcome.status != "rejected"
                else f"rejected on registration: {outcome.reason}"
            )
    await session.flush()
    return outcomes
