"""Request and response models of the eldercare API."""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, ConfigDict, field_validator

from shared import identity
from shared.money import Money
from shared.paging import Page  # noqa: F401 - re-exported for the routers


class AllowanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id_number: str

    @field_validator("id_number")
    @classmethod
    def _id(cls, v: str) -> str:
        try:
            return identity.parse(v).value
        except identity.InvalidIdNumber as exc:
            raise ValueError(f"invalid identity number: {exc}") from exc


class AllowanceOut(BaseModel):
    allowance_id: uuid.UUID
    person_id: uuid.UUID
    id_number: str
    status: str
    monthly_amount: Money
    explanation: str
    started_on: date
    stopped_on: date | None
    stop_reason: str | None
    hukou_division: str
