"""Adoptions (收养登记): the child joins the adopters' household; `registry.adoption.registered`."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.domain import adoption as rules
from services.registry.models import Adoption, Marriage
from services.registry.usecases.common import history
from services.registry.usecases.households import get_household, move_member
from services.registry.usecases.marriages import _one_is_yours, _party
from shared import clock, locks
from shared import event_types as ev
from shared.events import publish
from shared.problems import Conflict, Invalid


async def register_adoption(
    session: AsyncSession,
    *,
    child: str,
    adopters: list[str],
    registered_on: date,
    certificate_no: str,
    household_id: uuid.UUID | None = None,
    today: date | None = None,
) -> tuple[Adoption, bool]:
    await locks.hold(session, "adoption", certificate_no)  # the same certificate at once: the second finds the first
    kid = await _party(session, child, "child_id_number")
    parents = [await _party(session, n, f"adopters.{i}") for i, n in enumerate(adopters)]
    _one_is_yours(session, "child_id_number", kid, *parents)
    existing = (
        await session.execute(select(Adoption).where(Adoption.certificate_no == certificate_no))
    ).scalar_one_or_none()
    if existing is not None:
        if existing.child_person_id == kid.id:
            return existing, False
        raise Conflict("this certificate number belongs to another adoption", field="certificate_no")
    if kid.id in {p.id for p in parents}:
        raise Invalid("the child cannot adopt themself", field="adopters")
    married = False
    if len(parents) == 2:
        a, b = parents[0].id, parents[1].id
        married = (
            await session.execute(
                select(Marriage.id).where(
                    Marriage.status == "married",
                    or_(
                        and_(Marriage.party_a == a, Marriage.party_b == b),
                        and_(Marriage.party_a == b, Marriage.party_b == a),
                    ),
                )
            )
        ).first() is not None
    refusal = rules.check_adoption(
        rules.Person("child_id_number", kid.sex, kid.birth_date, kid.status == "alive"),
        [rules.Person(f"adopters.{i}", p.sex, p.birth_date, p.status == "alive") for i, p in enumerate(parents)],
        married,
        registered_on,
        today or clock.today(),
    )
    if refusal:
        raise Invalid(refusal.reason, field=refusal.field)
    target_id = household_id or parents[0].household_id
    if target_id is not None:
        household = await get_household(session, target_id, lock=True, field="household_id")
        if not any(p.household_id == household.id for p in parents):
            raise Invalid("the household must be an adopter's", field="household_id")
    adoption = Adoption(
        id=uuid.uuid4(),
        child_person_id=kid.id,
        adopter_a=parents[0].id,
        adopter_b=parents[1].id if len(parents) > 1 else None,
        registered_on=registered_on,
        certificate_no=certificate_no,
        household_id=target_id,
    )
    session.add(adoption)
    await session.flush()
    for p in (kid, *parents):
        await history(
            session, p.id, "adoption_registered", registered_on, f"adoption registered ({certificate_no})", adoption.id
        )
    await publish(
        session,
        ev.AdoptionRegistered(
            adoption_id=adoption.id,
            child_person_id=kid.id,
            adopter_person_ids=[p.id for p in parents],
            registered_on=registered_on,
            household_id=target_id,
        ),
    )  # type: ignore[arg-type]
    if target_id is not None and kid.household_id != target_id:
        await move_member(session, household, kid, "child", "adoption", who="the child", field="child_id_number")
    return adoption, True
