"""Response models of the monitoring API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.paging import Page  # noqa: F401 - re-exported for the routers


class RecordOut(BaseModel):
    record_id: uuid.UUID
    person_id: uuid.UUID
    id_number: str
    name: str | None
    hukou_division: str
    status: str
    date_of_death: date | None
    categories: list[str]
    programs: dict[str, str]
    updated_at: datetime


class AlertOut(BaseModel):
    alert_id: uuid.UUID
    kind: str
    status: str
    person_id: uuid.UUID | None
    id_number: str | None
    hukou_division: str | None
    summary: str
    benefits: list[str]
    details: dict[str, Any]
    raised_at: datetime
    assignee: str | None
    resolved_at: datetime | None
    resolution: str | None


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assignee: str = Field(min_length=1, max_length=200, description="the caseworker who follows the alert up")


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resolution: str = Field(min_length=1, max_length=2000, description="what was done (e.g. payments after death recovered)")
