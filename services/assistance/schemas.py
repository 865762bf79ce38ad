"""Request and response models of the assistance API."""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.assistance.domain.cases import Program
from shared import identity
from shared.money import Money
from shared.paging import Page  # noqa: F401 - re-exported for the routers


class CaseIn(BaseModel):
    """Enrol a person in a program (a stand-in until the application workflow replaces it)."""

    model_config = ConfigDict(extra="forbid")

    id_number: str
    program: Program
    monthly_amount: Money = Field(description="decimal string, yuan per month")

    @field_validator("id_number")
    @classmethod
    def _id(cls, v: str) -> str:
        try:
            return identity.parse(v).value
        except identity.InvalidIdNumber as exc:
            raise ValueError(f"invalid identity number: {exc}") from exc

    @field_validator("monthly_amount")
    @classmethod
    def _positive(cls, v: object) -> object:
        if v is not None and v <= 0:  # type: ignore[operator]
            raise ValueError("must be more than zero")
        return v


class CaseOut(BaseModel):
    case_id: uuid.UUID
    person_id: uuid.UUID
    id_number: str
    program: str
    monthly_amount: Money
    status: str
    status_reason: str | None
    status_changed_on: date | None
    started_on: date
    hukou_division: str


