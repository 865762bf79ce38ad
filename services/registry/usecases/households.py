"""Households (户): create, members join and leave, split (分户) and merge (合户); each change is published
as `registry.household.changed` with the members before and after."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.domain import households as rules
from services.registry.domain.marriage import Refusal
from services.registry.models import Household, HouseholdMember, Person
from services.registry.usecases.common import history, person_by_id_number
from shared import clock, divisions
from shared import event_types as ev
from shared.db import guard
from shared.events import publish
from shared.problems import Conflict, Invalid, NotFound


def _refuse(refusal: Refusal | None) -> None:
    if refusal is not None:
        raise Invalid(refusal.reason, field=refusal.field)


async def household_members(session: AsyncSession, household_id: uuid.UUID) -> list[tuple[HouseholdMember, Person]]:
    """The members the caller may see: a member registered in another division stays theirs (Person is scoped)."""
    rows = await session.execute(
        select(HouseholdMember, Person)
        .join(Person, Person.id == HouseholdMember.person_id)
        .where(HouseholdMember.household_id == household_id)
        .order_by(HouseholdMember.joined_at, Person.id)
    )
    return [(m, p) for m, p in rows.all()]


async def _members(session: AsyncSession, household_id: uuid.UUID) -> dict[uuid.UUID, str]:
    rows = await session.execute(
        select(HouseholdMember.person_id, HouseholdMember.relation).where(HouseholdMember.household_id == household_id)
    )
    return {pid: rel for pid, rel in rows.all()}


def _snapshot(members: dict[uuid.UUID, str]) -> list[ev.HouseholdMember]:
    return [
        ev.HouseholdMember(person_id=pid, relation=rel)
        for pid, rel in sorted(members.items(), key=lambda kv: (kv[1] != "head", str(kv[0])))
    ]


async def get_household(
    session: AsyncSession, household_id: uuid.UUID, *, lock: bool = False, field: str = "household_id"
) -> Household:
    stmt = select(Household).where(Household.id == household_id)
    if lock:
        stmt = stmt.with_for_update()
    household = (await session.execute(stmt)).scalar_one_or_none()
    if household is None:
        raise NotFound("no such household in your division", field=field)
    return household


async def _publish(
    session: AsyncSession, household: Household, reason: str, before: dict[uuid.UUID, str], after: dict[uuid.UUID, str]
) -> None:
    await publish(
        session,
        ev.HouseholdChanged(
            household_id=household.id,
            hukou_division=household.hukou_division,
            head_person_id=household.head_person_id,
            reason=reason,
            members_before=_snapshot(before),
            members_after=_snapshot(after),
        ),
    )


async def create_household(
    session: AsyncSession, *, hukou_division: str, address: str | None, members: list[tuple[str, str]]
) -> Household:
    guard(session, hukou_division, field="hukou_division", detail="no such division in your jurisdiction")
    household = Household(id=uuid.uuid4(), hukou_division=hukou_division, address=address, status="active")
    session.add(household)
    await session.flush()
    after: dict[uuid.UUID, str] = {}
    for id_number, relation in members:
        person = await person_by_id_number(session, id_number, lock=True)  # in the caller's division (Person is scoped)
        if person is None:
            raise NotFound("no such person in your division", field="members.id_number")
        if person.household_id is not None:
            raise Conflict("this member already belongs to a household", field="members.id_number")
        person.household_id = household.id
        session.add(HouseholdMember(household_id=household.id, person_id=person.id, relation=relation))
        if relation == "head":
            household.head_person_id = person.id
        after[person.id] = relation
        await history(
            session,
            person.id,
            "household_joined",
            clock.today(),
            f"member of a new household ({relation})",
            household.id,
        )
    await session.flush()
    await _publish(session, household, "created", {}, after)
    return household


async def add_member(session: AsyncSession, household: Household, person: Person, relation: str, reason: str) -> None:
    """The person joins (they must not belong to another household: leave, split or merge first)."""
    if household.status != "active":
        raise Conflict("the household is dissolved", field="household_id")
    if person.household_id is not None:
        raise Conflict("this person already belongs to a household; they leave it first", field="id_number")
    if relation == "head":
        raise Invalid("a household has one head; a joining member is not the head", field="relation")
    before = await _members(session, household.id)
    person.household_id = household.id
    session.add(HouseholdMember(household_id=household.id, person_id=person.id, relation=relation))
    await session.flush()
    await history(
        session,
        person.id,
        "household_joined",
        clock.today(),
        f"joined a household as {relation} ({reason})",
        household.id,
    )
    await _publish(session, household, f"joined: {reason}", before, {**before, person.id: relation})


async def remove_member(
    session: AsyncSession, household: Household, person: Person, reason: str, new_head: uuid.UUID | None = None
) -> None:
    before = await _members(session, household.id)
    _refuse(rules.check_leave(before, person.id, new_head))
    if reason == "death" and person.status != "deceased":
        raise Invalid("the person is not recorded as deceased", field="reason")
    await session.execute(
        delete(HouseholdMember).where(
            HouseholdMember.household_id == household.id, HouseholdMember.person_id == person.id
        )
    )
    person.household_id = None
    after = {pid: rel for pid, rel in before.items() if pid != person.id}
    if before[person.id] == "head":
        household.head_person_id = new_head
        if new_head is not None:
            await _set_relation(session, household.id, new_head, "head")
            after[new_head] = "head"
    if not after:
        household.status, household.head_person_id = "dissolved", None
    await session.flush()
    await history(session, person.id, "household_left", clock.today(), f"left the household ({reason})", household.id)
    await _publish(session, household, f"left: {reason}", before, after)


async def move_member(
    session: AsyncSession, household: Household, person: Person, relation: str, reason: str, *, who: str, field: str
) -> None:
    """The person leaves their household, if they have one, and joins `household` (a marriage, an adoption)."""
    if person.household_id is not None:
        old = await get_household(session, person.household_id, lock=True, field=field)
        members = await _members(session, old.id)
        if members.get(person.id) == "head" and len(members) > 1:
            raise Invalid(f"{who} heads a household with other members; name its new head first", field=field)
        await remove_member(session, old, person, reason)
    await add_member(session, household, person, relation, reason)


async def _set_relation(session: AsyncSession, household_id: uuid.UUID, person_id: uuid.UUID, relation: str) -> None:
    member = await session.get(HouseholdMember, (household_id, person_id))
    assert member is not None
    member.relation = relation


async def _person(session: AsyncSession, person_id: uuid.UUID, field: str) -> Person:
    person = (
        await session.execute(select(Person).where(Person.id == person_id).with_for_update())
    ).scalar_one_or_none()
    if person is None:
        raise NotFound("no such person in your division", field=field)
    return person


async def join(
    session: AsyncSession, household_id: uuid.UUID, *, id_number: str, relation: str, reason: str
) -> Household:
    household = await get_household(session, household_id, lock=True)
    person = await person_by_id_number(session, id_number, lock=True)
    if person is None:
        raise NotFound("no such person in your division; register them first", field="id_number")
    if reason == "birth" and person.birth_date < clock.today().replace(year=clock.today().year - 1):
        raise Invalid("a birth joins a child born within the last year", field="reason")
    await add_member(session, household, person, relation, reason)
    return household


async def leave(
    session: AsyncSession, household_id: uuid.UUID, person_id: uuid.UUID, *, reason: str, new_head: uuid.UUID | None
) -> Household:
    household = await get_household(session, household_id, lock=True)
    person = await _person(session, person_id, "person_id")
    await remove_member(session, household, person, reason, new_head)
    return household


async def split(
    session: AsyncSession,
    household_id: uuid.UUID,
    *,
    moving: dict[uuid.UUID, str],
    address: str | None,
    new_head: uuid.UUID | None,
) -> tuple[Household, Household]:
    """分户: some members form a new household in the same division."""
    source = await get_household(session, household_id, lock=True)
    before = await _members(session, source.id)
    _refuse(rules.check_split(before, moving, new_head))
    new = Household(id=uuid.uuid4(), hukou_division=source.hukou_division, address=address, status="active")
    session.add(new)
    await session.flush()
    for pid, rel in moving.items():
        await session.execute(
            delete(HouseholdMember).where(HouseholdMember.household_id == source.id, HouseholdMember.person_id == pid)
        )
        session.add(HouseholdMember(household_id=new.id, person_id=pid, relation=rel))
        person = await _person(session, pid, "members")
        person.household_id = new.id
        if rel == "head":
            new.head_person_id = pid
        await history(
            session, pid, "household_split", clock.today(), f"moved to a new household by a split, as {rel}", new.id
        )
    remaining = {pid: rel for pid, rel in before.items() if pid not in moving}
    if source.head_person_id in moving:
        source.head_person_id = new_head
        assert new_head is not None
        await session.flush()
        await _set_relation(session, source.id, new_head, "head")
        remaining[new_head] = "head"
    await session.flush()
    await _publish(session, source, "split", before, remaining)
    await _publish(session, new, "split", {}, dict(moving))
    return source, new


async def merge(
    session: AsyncSession, household_id: uuid.UUID, *, from_household_id: uuid.UUID, relations: dict[uuid.UUID, str]
) -> Household:
    """合户: every member of the other household joins this one, which keeps its head; the other is dissolved."""
    target = await get_household(session, household_id, lock=True)
    other = await get_household(session, from_household_id, lock=True, field="from_household_id")
    if target.status != "active" or other.status != "active":
        raise Conflict("a dissolved household cannot merge", field="from_household_id")
    before_t, before_o = await _members(session, target.id), await _members(session, other.id)
    _refuse(rules.check_merge(target.id, other.id, set(before_o), relations))
    after_t = dict(before_t)
    for pid in before_o:
        rel = relations.get(pid, "other")
        await session.execute(
            delete(HouseholdMember).where(HouseholdMember.household_id == other.id, HouseholdMember.person_id == pid)
        )
        session.add(HouseholdMember(household_id=target.id, person_id=pid, relation=rel))
        person = await _person(session, pid, "from_household_id")
        person.household_id = target.id
        after_t[pid] = rel
        await history(
            session, pid, "household_merged", clock.today(), f"joined another household by a merge, as {rel}", target.id
        )
    other.status, other.head_person_id = "dissolved", None
    await session.flush()
    await _publish(session, target, "merge", before_t, after_t)
    await _publish(session, other, "merge", before_o, {})
    return target


async def list_households(
    session: AsyncSession, *, division: str | None, status: str | None, limit: int, offset: int
) -> tuple[int, Sequence[Household]]:
    stmt = select(Household)
    if division:
        stmt = stmt.where(divisions.covers_clause(Household.hukou_division, division))
    if status:
        stmt = stmt.where(Household.status == status)
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    rows = (
        (await session.execute(stmt.order_by(Household.created_at, Household.id).limit(limit).offset(offset)))
        .scalars()
        .all()
    )
    return total, rows
