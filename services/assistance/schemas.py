"""Request and response models of the assistance API."""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from services.assistance.domain.cases import Program
from shared.fields import IdNumberText
from shared.money import Money, PositiveMoney
from shared.paging import Page  # noqa: F401 - re-exported for the routers


class CaseIn(BaseModel):
    """Enrol a person in a program (a stand-in until the application workflow replaces it)."""

    model_config = ConfigDict(extra="forbid")

    id_number: IdNumberText
    program: Program
    monthly_amount: PositiveMoney = Field(description="decimal string, yuan per month")


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


