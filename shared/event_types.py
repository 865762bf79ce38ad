"""The event catalogue: every event type of CONTRACT.md, its topic and its payload schema.

Producers build these models; consumers validate incoming `data` with them;
docs/asyncapi.yaml and docs/events/*.json are generated from them.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared import divisions, identity
from shared.money import Money

DeathSource = Literal["hospital", "public_security", "funeral_home", "civil_affairs"]
HukouKind = Literal["move_in", "move_out", "transfer"]


class Payload(BaseModel):
    model_config = ConfigDict(extra="allow")


class _IdNumberField(Payload):
    id_number: str = Field(description="18-character resident identity number (GB 11643)")

    @field_validator("id_number")
    @classmethod
    def _valid_id(cls, v: str) -> str:
        return identity.parse(v).value


# -- partner topics ------------------------------------------------------------


class PartnerDeathReported(_IdNumberField):
    """partner.death.reported: a partner's report of a death."""

    date_of_death: date
    source: DeathSource
    reference: str = Field(min_length=1, max_length=100, description="the partner's own record number")
    name: str | None = None


class PartnerHukouChanged(_IdNumberField):
    """partner.hukou.changed: public security's record of a household-registration change."""

    kind: HukouKind
    from_division: str | None = None
    to_division: str | None = None
    effective_date: date
    reference: str = Field(min_length=1, max_length=100)
    source: str = "public_security"


class PartnerMedicalExpense(_IdNumberField):
    """partner.medical-expense.reported: out-of-pocket medical expense after insurance."""

    amount: Money
    date: date
    reference: str


class PartnerIncome(_IdNumberField):
    """partner.income.reported: monthly income reported by HR or tax."""

    monthly_amount: Money
    period: str = Field(pattern=r"^\d{4}-\d{2}$")
    reference: str


# -- registry -----------------------------------------------------------------------


class PersonRef(Payload):
    person_id: uuid.UUID
    id_number: str
    hukou_division: str


class PersonRegistered(PersonRef):
    name: str
    sex: Literal["M", "F"]
    birth_date: date
    household_id: uuid.UUID | None = None


class PersonDied(PersonRef):
    death_id: uuid.UUID
    date_of_death: date
    source: DeathSource
    status: Literal["reported", "confirmed", "conflict"]


class DeathConfirmed(PersonDied):
    sources: list[str]
    confirmed_by: Literal["second_source", "registrar"] = "second_source"


class DeathRevoked(PersonRef):
    death_id: uuid.UUID
    date_of_death: date
    reason: str


class PersonMilestone(PersonRef):
    birth_date: date
    age: int
    as_of: date


class HukouChanged(PersonRef):
    change_id: uuid.UUID
    kind: HukouKind
    from_division: str | None
    to_division: str | None
    effective_date: date
    in_district: bool = Field(description="whether the person's registration is in the district afterwards")


class HouseholdMember(Payload):
    person_id: uuid.UUID
    relation: str


class HouseholdChanged(Payload):
    household_id: uuid.UUID
    hukou_division: str
    head_person_id: uuid.UUID | None
    reason: str
    members_before: list[HouseholdMember]
    members_after: list[HouseholdMember]


class MarriageRegistered(Payload):
    marriage_id: uuid.UUID
    party_a: uuid.UUID
    party_b: uuid.UUID
    registered_on: date
    division: str


class DivorceRegistered(MarriageRegistered):
    divorced_on: date


class AdoptionRegistered(Payload):
    adoption_id: uuid.UUID
    child_person_id: uuid.UUID
    adopter_person_ids: list[uuid.UUID]
    registered_on: date
    household_id: uuid.UUID | None = Field(None, description="the household the child joined, if any")


class CertificateReissued(Payload):
    """registry.certificate.reissued: a marriage or divorce certificate reissued (补领结婚证/离婚证)."""

    reissue_id: uuid.UUID
    marriage_id: uuid.UUID
    kind: Literal["marriage", "divorce"]
    applicant_person_id: uuid.UUID
    certificate_no: str
    issued_on: date


# -- assistance ---------------------------------------------------------------------


class CaseEvent(PersonRef):
    case_id: uuid.UUID
    program: str
    status: str
    monthly_amount: Money
    effective_date: date
    reason: str | None = None


class ApplicationSubmitted(PersonRef):
    application_id: uuid.UUID
    program: str


class PaymentIssued(PersonRef):
    payment_id: uuid.UUID
    case_id: uuid.UUID | None = None
    program: str
    month: str
    amount: Money


class OverpaymentDetected(PersonRef):
    overpayment_id: uuid.UUID
    program: str
    amount: Money
    reason: str


class ReviewDue(PersonRef):
    case_id: uuid.UUID
    program: str
    due_on: date


# -- eldercare ----------------------------------------------------------------------


class AllowanceEvent(PersonRef):
    allowance_id: uuid.UUID
    status: str
    monthly_amount: Money
    effective_date: date
    reason: str | None = None


class AssessmentCompleted(PersonRef):
    assessment_id: uuid.UUID
    care_level: int
    assessed_on: date


class AdmissionEvent(PersonRef):
    institution_id: uuid.UUID
    bed_id: uuid.UUID | None = None
    on: date
    reason: str | None = None


class ServiceDelivered(PersonRef):
    order_id: uuid.UUID
    service: str
    delivered_on: date
    amount: Money


# -- monitoring ---------------------------------------------------------------------


class RecordChanged(PersonRef):
    record_id: uuid.UUID
    status: str
    categories: list[str]
    programs: list[str]


class AlertEvent(Payload):
    alert_id: uuid.UUID
    kind: str
    status: str
    person_id: uuid.UUID | None
    hukou_division: str | None
    summary: str
    benefits: list[str] = []


class EventSpec(BaseModel):
    type: str
    topic: str
    model: type[BaseModel]
    key: str
    summary: str


def _spec(type: str, topic: str, model: type[BaseModel], key: str = "person id") -> EventSpec:
    return EventSpec(type=type, topic=topic, model=model, key=key, summary=(model.__doc__ or type).strip().splitlines()[0])


CATALOGUE: dict[str, EventSpec] = {
    s.type: s
    for s in [
        _spec("partner.death.reported", "partner.deaths.v1", PartnerDeathReported, "as the partner chooses"),
        _spec("partner.hukou.changed", "partner.hukou.v1", PartnerHukouChanged, "as the partner chooses"),
        _spec("partner.medical-expense.reported", "partner.medical-expenses.v1", PartnerMedicalExpense, "as the partner chooses"),
        _spec("partner.income.reported", "partner.income.v1", PartnerIncome, "as the partner chooses"),
        _spec("registry.person.registered", "registry.events.v1", PersonRegistered),
        _spec("registry.person.died", "registry.events.v1", PersonDied),
        _spec("registry.death.confirmed", "registry.events.v1", DeathConfirmed),
        _spec("registry.death.revoked", "registry.events.v1", DeathRevoked),
        _spec("registry.person.milestone", "registry.events.v1", PersonMilestone),
        _spec("registry.hukou.moved-in", "registry.events.v1", HukouChanged),
        _spec("registry.hukou.moved-out", "registry.events.v1", HukouChanged),
        _spec("registry.hukou.transferred", "registry.events.v1", HukouChanged),
        _spec("registry.household.changed", "registry.events.v1", HouseholdChanged, "household id"),
        _spec("registry.marriage.registered", "registry.events.v1", MarriageRegistered, "marriage id"),
        _spec("registry.divorce.registered", "registry.events.v1", DivorceRegistered, "marriage id"),
        _spec("registry.adoption.registered", "registry.events.v1", AdoptionRegistered, "child's person id"),
        _spec("registry.certificate.reissued", "registry.events.v1", CertificateReissued, "marriage id"),
        _spec("assistance.application.submitted", "assistance.events.v1", ApplicationSubmitted),
        _spec("assistance.case.enrolled", "assistance.events.v1", CaseEvent),
        _spec("assistance.case.amount-changed", "assistance.events.v1", CaseEvent),
        _spec("assistance.case.suspended", "assistance.events.v1", CaseEvent),
        _spec("assistance.case.resumed", "assistance.events.v1", CaseEvent),
        _spec("assistance.case.terminated", "assistance.events.v1", CaseEvent),
        _spec("assistance.payment.issued", "assistance.events.v1", PaymentIssued),
        _spec("assistance.overpayment.detected", "assistance.events.v1", OverpaymentDetected),
        _spec("assistance.review.due", "assistance.events.v1", ReviewDue),
        _spec("eldercare.allowance.enrolled", "eldercare.events.v1", AllowanceEvent),
        _spec("eldercare.allowance.stopped", "eldercare.events.v1", AllowanceEvent),
        _spec("eldercare.payment.issued", "eldercare.events.v1", PaymentIssued),
        _spec("eldercare.overpayment.detected", "eldercare.events.v1", OverpaymentDetected),
        _spec("eldercare.assessment.completed", "eldercare.events.v1", AssessmentCompleted),
        _spec("eldercare.admission.recorded", "eldercare.events.v1", AdmissionEvent),
        _spec("eldercare.discharge.recorded", "eldercare.events.v1", AdmissionEvent),
        _spec("eldercare.service.delivered", "eldercare.events.v1", ServiceDelivered),
        _spec("monitoring.record.changed", "monitoring.low-income.v1", RecordChanged),
        _spec("monitoring.alert.raised", "monitoring.alerts.v1", AlertEvent, "alert id"),
        _spec("monitoring.alert.resolved", "monitoring.alerts.v1", AlertEvent, "alert id"),
    ]
}


def check_division(code: str) -> str:
    return divisions.validate(code)
