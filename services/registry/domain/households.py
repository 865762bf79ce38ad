"""Household (户) composition rules: one head, members join and leave, split (分户) and merge (合户).

A household always has exactly one head while it has members; the head
leaving names a new head from those who remain; a split leaves at least one
member behind and gives the new household its own head; a merge brings every
member of the other household in, which is then dissolved.
"""

from __future__ import annotations

import uuid

from services.registry.domain.marriage import Refusal

JOIN_REASONS = ("birth", "marriage", "adoption", "move_in", "return", "other")
LEAVE_REASONS = ("death", "marriage", "adoption", "move_out", "other")


def check_leave(members: dict[uuid.UUID, str], leaving: uuid.UUID, new_head: uuid.UUID | None) -> Refusal | None:
    if leaving not in members:
        return Refusal("person_id", "this person is not a member of the household")
    remaining = set(members) - {leaving}
    if members[leaving] == "head" and remaining:
        if new_head is None:
            return Refusal("new_head_person_id", "the head is leaving: name the new head among the remaining members")
        if new_head not in remaining:
            return Refusal("new_head_person_id", "the new head must be a remaining member")
    return None


def check_split(
    members: dict[uuid.UUID, str], moving: dict[uuid.UUID, str], new_head_of_remainder: uuid.UUID | None
) -> Refusal | None:
    if not moving:
        return Refusal("members", "name the members who form the new household")
    if any(pid not in members for pid in moving):
        return Refusal("members", "every member of the new household must come from this household")
    if sum(rel == "head" for rel in moving.values()) != 1:
        return Refusal("members", "the new household needs exactly one head")
    remaining = set(members) - set(moving)
    if not remaining:
        return Refusal("members", "a split leaves at least one member behind; move the whole household instead")
    head = next((pid for pid, rel in members.items() if rel == "head"), None)
    if head in moving:
        if new_head_of_remainder is None or new_head_of_remainder not in remaining:
            return Refusal(
                "new_head_person_id", "the head moves to the new household: name a new head among those who remain"
            )
    return None


def check_merge(
    target: uuid.UUID, other: uuid.UUID, other_members: set[uuid.UUID], relations: dict[uuid.UUID, str]
) -> Refusal | None:
    if target == other:
        return Refusal("from_household_id", "a household cannot merge with itself")
    if not other_members:
        return Refusal("from_household_id", "the other household has no members")
    if set(relations) - other_members:
        return Refusal("relations", "relations name only members of the household merged in")
    if any(rel == "head" for rel in relations.values()):
        return Refusal("relations", "the household merged into keeps its head")
    return None
