"""Request and response models of the registry's HTTP API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.event_types import DeathSource, HukouKind
from shared.fields import LATEST, CivilDate, DivisionCode, IdNumberText
from shared.paging import Page  # noqa: F401 - re-exported for the routers


class IdNumberIn(BaseModel):
    id_number: IdNumberText


class PersonIn(IdNumberIn):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    hukou_division: DivisionCode = Field(
        description="division of the household registration (district, town or community code)"
    )
    sex: Literal["M", "F"] | None = Field(None, description="checked against the identity number if given")
    birth_date: CivilDate | None = Field(None, description="checked against the identity number if given")


class PersonOut(BaseModel):
    person_id: uuid.UUID
    id_number: str = Field(description="masked unless the caller has pii:read")
    name: str
    sex: str
    birth_date: date
    hukou_division: str
    in_district: bool
    status: str
    date_of_death: date | None
    household_id: uuid.UUID | None
    marital_status: str = Field("unmarried", description="unmarried | married | divorced | widowed")
    created_at: datetime


class DeathIn(IdNumberIn):
    model_config = ConfigDict(extra="forbid")

    date_of_death: CivilDate
    source: DeathSource
    reference: str = Field(min_length=1, max_length=100, description="the reporting source's own record number")
    name: str | None = Field(None, max_length=100)


class DeathOut(BaseModel):
    outcome: str = Field(description="recorded | confirmed | corroborated | duplicate | conflict | pending")
    explanation: str
    report_id: uuid.UUID
    death_id: uuid.UUID | None
    person_id: uuid.UUID | None
    date_of_death: date | None
    status: str | None = Field(None, description="reported | confirmed | conflict | revoked")
    sources: list[str] = []
    conflicting_dates: list[date] = []
    review_id: uuid.UUID | None = Field(None, description="when the report waits in the review queue")


class HukouChangeIn(IdNumberIn):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=100, description="checked against the person on file")
    kind: HukouKind
    from_division: str | None = Field(None, max_length=12)
    to_division: str | None = Field(None, max_length=12)
    effective_date: CivilDate
    source: str = Field("public_security", max_length=30)
    reference: str = Field(min_length=1, max_length=100)


class HukouChangeOut(BaseModel):
    change_id: uuid.UUID | None
    person_id: uuid.UUID | None
    outcome: str = Field(description="recorded | duplicate | review | pending (the person is not registered yet)")
    explanation: str | None = None
    hukou_division: str | None
    in_district: bool | None
    review_id: uuid.UUID | None = None


MAX_MEMBERS = 100  # a household register (户口簿) has far fewer pages; bounds the work one request can ask for


class MemberIn(IdNumberIn):
    relation: Literal["head", "spouse", "child", "parent", "grandchild", "grandparent", "sibling", "other"]


class HouseholdIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hukou_division: DivisionCode
    address: str | None = Field(None, max_length=300)
    members: list[MemberIn] = Field(
        min_length=1, max_length=MAX_MEMBERS, description="exactly one member has relation 'head'"
    )

    @field_validator("members")
    @classmethod
    def _one_head(cls, members: list[MemberIn]) -> list[MemberIn]:
        if sum(m.relation == "head" for m in members) != 1:
            raise ValueError("exactly one member must be the head")
        if len({m.id_number for m in members}) != len(members):
            raise ValueError("a person is listed twice")
        return members


class MemberOut(BaseModel):
    person_id: uuid.UUID
    id_number: str
    name: str
    relation: str
    status: str


class HouseholdOut(BaseModel):
    household_id: uuid.UUID
    hukou_division: str
    address: str | None
    head_person_id: uuid.UUID | None
    status: str = "active"
    members: list[MemberOut]


class PersonEventOut(BaseModel):
    seq: int
    kind: str
    occurred_on: date | None
    summary: str
    ref_id: uuid.UUID | None
    recorded_at: datetime


class DeathDetailOut(BaseModel):
    death_id: uuid.UUID
    person_id: uuid.UUID
    date_of_death: date
    status: str = Field(description="reported | confirmed | conflict | revoked")
    sources: list[str]
    reports: list[dict[str, object]]
    confirmed_at: datetime | None
    confirmed_by: str | None
    revoked_at: datetime | None
    revoked_reason: str | None


class DeathConfirmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date_of_death: CivilDate | None = Field(
        None, description="required when the sources disagree: the date the registrar confirms"
    )
    note: str | None = Field(None, max_length=300)


class DeathRevokeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=3, max_length=300, description="why the death was recorded in error")


Relation = Literal["head", "spouse", "child", "parent", "grandchild", "grandparent", "sibling", "other"]


class JoinIn(IdNumberIn):
    model_config = ConfigDict(extra="forbid")

    relation: Relation
    reason: Literal["birth", "marriage", "adoption", "move_in", "return", "other"]


class LeaveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Literal["death", "marriage", "adoption", "move_out", "other"]
    new_head_person_id: uuid.UUID | None = Field(None, description="required when the head leaves and others remain")


class SplitMember(BaseModel):
    person_id: uuid.UUID
    relation: Relation


class SplitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    members: list[SplitMember] = Field(
        min_length=1, max_length=MAX_MEMBERS, description="who forms the new household, with relations to its head"
    )
    address: str | None = Field(None, max_length=300)
    new_head_person_id: uuid.UUID | None = Field(None, description="required when the head moves to the new household")


class SplitOut(BaseModel):
    household: HouseholdOut
    new_household: HouseholdOut


class MergeRelation(BaseModel):
    person_id: uuid.UUID
    relation: Relation


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    from_household_id: uuid.UUID
    relations: list[MergeRelation] = Field(
        default_factory=list,
        max_length=MAX_MEMBERS,
        description="relations to this household's head; others become 'other'",
    )


class HouseholdSummary(BaseModel):
    household_id: uuid.UUID
    hukou_division: str
    address: str | None
    head_person_id: uuid.UUID | None
    status: str


class MarriageHousehold(BaseModel):
    household_id: uuid.UUID
    joining: Literal["party_a", "party_b"] = Field(description="the party who joins the other's household as spouse")


class MarriageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    party_a: IdNumberText = Field(description="identity number of one party")
    party_b: IdNumberText = Field(description="identity number of the other party")
    registered_on: CivilDate
    registration_division: str = Field(
        max_length=12, description="the registering office's division: any district of the city (3402xx)"
    )
    certificate_no: str = Field(min_length=1, max_length=50)
    household: MarriageHousehold | None = Field(None, description="join one party to the other's household")


class MarriageOut(BaseModel):
    marriage_id: uuid.UUID
    party_a: uuid.UUID
    party_b: uuid.UUID
    registered_on: date
    registration_division: str
    certificate_no: str
    status: str
    divorced_on: date | None
    divorce_certificate_no: str | None


class DivorceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    marriage_id: uuid.UUID
    divorced_on: CivilDate
    certificate_no: str = Field(min_length=1, max_length=50)


class ReissueIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["marriage", "divorce"]
    applicant_id_number: IdNumberText
    reason: str = Field(min_length=1, max_length=200)
    certificate_no: str = Field(min_length=1, max_length=50)
    issued_on: CivilDate


class ReissueOut(BaseModel):
    reissue_id: uuid.UUID
    marriage_id: uuid.UUID
    kind: str
    applicant_person_id: uuid.UUID
    certificate_no: str
    issued_on: date


class AdoptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    child_id_number: IdNumberText
    adopters: list[IdNumberText] = Field(
        min_length=1, max_length=2, description="identity numbers of one adopter or a married couple"
    )
    registered_on: CivilDate
    certificate_no: str = Field(min_length=1, max_length=50)
    household_id: uuid.UUID | None = Field(
        None, description="an adopter's household the child joins (default: the first adopter's)"
    )

    @field_validator("adopters")
    @classmethod
    def _adopters(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("an adopter is listed twice")
        return v


class AdoptionOut(BaseModel):
    adoption_id: uuid.UUID
    child_person_id: uuid.UUID
    adopter_person_ids: list[uuid.UUID]
    registered_on: date
    certificate_no: str
    household_id: uuid.UUID | None


class ReviewOut(BaseModel):
    review_id: uuid.UUID
    kind: str
    source: str
    reference: str
    channel: str
    id_number: str
    name: str | None
    reason_code: str = Field(description="unknown_person | name_mismatch | policy")
    reason: str
    confidence: int = Field(description="0-100: how likely the candidate is the person the report means")
    candidate_person_id: uuid.UUID | None
    status: str = Field(description="open | waiting | matched | rejected | applied")
    hukou_division: str
    report: dict[str, object]
    resolved_person_id: uuid.UUID | None
    resolution_note: str | None
    created_at: datetime


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["match", "reject", "wait"]
    person_id: uuid.UUID | None = Field(None, description="for match: the person the report is about")
    note: str | None = Field(None, max_length=300)


class MilestoneRunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_of: date = Field(ge=date(1900, 1, 1), le=LATEST, description="the day the run is for; not in the future")


class MilestoneRunOut(BaseModel):
    as_of: date
    persons_checked: int = Field(description="living residents with an age reached and not recorded yet")
    recorded: int
    published: int


class IntakeLineOut(BaseModel):
    line_no: int
    status: str = Field(description="accepted | duplicate | rejected")
    outcome: str | None = Field(
        None, description="recorded | confirmed | corroborated | conflict | review | pending | duplicate"
    )
    record_type: str | None
    reference: str | None
    field: str | None
    reason: str | None
    person_id: uuid.UUID | None
    review_id: uuid.UUID | None


class IntakeBatchOut(BaseModel):
    batch_id: uuid.UUID
    status: str
    format: str
    filename: str | None
    lines: int
    accepted: int
    duplicate: int
    rejected: int
    in_review: int
    started_at: datetime | None
    finished_at: datetime | None
    lines_url: str
    report: list[IntakeLineOut] | None = Field(
        None, description="the per-line report, when asked for with include_lines (up to 10,000 lines)"
    )
