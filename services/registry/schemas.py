"""Request and response models of the registry's HTTP API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.paging import Page  # noqa: F401 - re-exported for the routers
from shared import divisions, identity
from shared.event_types import DeathSource, HukouKind


class IdNumberIn(BaseModel):
    id_number: str = Field(description="18-character resident identity number", examples=["340207194005011238"])

    @field_validator("id_number")
    @classmethod
    def _id(cls, v: str) -> str:
        try:
            return identity.parse(v).value
        except identity.InvalidIdNumber as exc:
            raise ValueError(f"invalid identity number: {exc}") from exc


def _division(v: str) -> str:
    try:
        return divisions.validate(v)
    except divisions.UnknownDivision as exc:
        raise ValueError(str(exc)) from exc


class PersonIn(IdNumberIn):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    hukou_division: str = Field(description="division of the household registration (district, town or community code)")
    sex: Literal["M", "F"] | None = Field(None, description="checked against the identity number if given")
    birth_date: date | None = Field(None, description="checked against the identity number if given")

    _hukou = field_validator("hukou_division")(_division)


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
    created_at: datetime


class DeathIn(IdNumberIn):
    model_config = ConfigDict(extra="forbid")

    date_of_death: date
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


class HukouChangeIn(IdNumberIn):
    model_config = ConfigDict(extra="forbid")

    kind: HukouKind
    from_division: str | None = Field(None, max_length=12)
    to_division: str | None = Field(None, max_length=12)
    effective_date: date
    source: str = Field("public_security", max_length=30)
    reference: str = Field(min_length=1, max_length=100)


class HukouChangeOut(BaseModel):
    change_id: uuid.UUID
    person_id: uuid.UUID
    outcome: str = Field(description="recorded | duplicate")
    hukou_division: str
    in_district: bool


class MemberIn(IdNumberIn):
    relation: Literal["head", "spouse", "child", "parent", "grandchild", "grandparent", "sibling", "other"]


class HouseholdIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hukou_division: str
    address: str | None = Field(None, max_length=300)
    members: list[MemberIn] = Field(min_length=1, description="exactly one member has relation 'head'")

    _hukou = field_validator("hukou_division")(_division)

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
    members: list[MemberOut]
