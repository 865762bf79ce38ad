"""The event catalogue: every event type of CONTRACT.md, its topic and its payload schema.

Producers build these models; consumers validate incoming `data` with them;
docs/asyncapi.yaml and docs/events/*.json are generated from them.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared import identity
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


class _DeathFacts(PersonRef):
    death_id: uuid.UUID
    date_of_death: date
    source: DeathSource
    status: Literal["reported", "confirmed", "conflict"]


class PersonDied(_DeathFacts):
    """registry.person.died: a death recorded (from its first report)."""


class DeathConfirmed(_DeathFacts):
    """registry.death.confirmed: a second source or a registrar confirms a recorded death.

    Not a PersonDied (a handler testing for a death must not take a confirmation for one).
    """

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


class HukouMovedIn(HukouChanged):
    """registry.hukou.moved-in: a person's household registration moved into the district."""


class HukouMovedOut(HukouChanged):
    """registry.hukou.moved-out: a person's household registration moved out of the district."""


class HukouTransferred(HukouChanged):
    """registry.hukou.transferred: a person's household registration moved within the district."""


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


class CaseEnrolled(CaseEvent):
    """assistance.case.enrolled: a person enrolled in a program."""


class CaseAmountChanged(CaseEvent):
    """assistance.case.amount-changed: a case's monthly amount changed."""


class CaseSuspended(CaseEvent):
    """assistance.case.suspended: a case suspended (reason `death` when the person died)."""


class CaseResumed(CaseEvent):
    """assistance.case.resumed: a suspended case active again."""


class CaseTerminated(CaseEvent):
    """assistance.case.terminated: a case ended."""


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


class OverpaymentResolved(PersonRef):
    """An open overpayment closed: the money recovered, or written off (a death revoked writes its months off)."""

    overpayment_id: uuid.UUID
    program: str
    amount: Money = Field(description="the overpayment's whole amount, now no longer owed")
    outcome: Literal["recovered", "written_off"]
    resolved_on: date = Field(description="the business day it was closed on")
    resolved_by: str = Field(description="who closed it: a caseworker's subject, or the event that did")


class AssistancePaymentIssued(PaymentIssued):
    """assistance.payment.issued: a month's assistance paid to a case."""


class AssistanceOverpaymentDetected(OverpaymentDetected):
    """assistance.overpayment.detected: assistance paid that was not due."""


class AssistanceOverpaymentResolved(OverpaymentResolved):
    """assistance.overpayment.resolved: an assistance overpayment recovered or written off."""


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


class AllowanceEnrolled(AllowanceEvent):
    """eldercare.allowance.enrolled: the old-age allowance granted (or restored after a revoked death)."""


class AllowanceStopped(AllowanceEvent):
    """eldercare.allowance.stopped: the old-age allowance stopped (reason `death` when the person died)."""


class AllowanceChanged(AllowanceEvent):
    """eldercare.allowance.changed: the old-age allowance's monthly amount changed (bracket raised at 90 or 100)."""


class EldercarePaymentIssued(PaymentIssued):
    """eldercare.payment.issued: a month's allowance paid."""


class EldercareOverpaymentDetected(OverpaymentDetected):
    """eldercare.overpayment.detected: allowance paid that was not due."""


class EldercareOverpaymentResolved(OverpaymentResolved):
    """eldercare.overpayment.resolved: an allowance overpayment recovered or written off."""


class AssessmentCompleted(PersonRef):
    assessment_id: uuid.UUID
    care_level: int
    assessed_on: date


class AdmissionEvent(PersonRef):
    institution_id: uuid.UUID
    bed_id: uuid.UUID | None = None
    on: date
    reason: str | None = None


class AdmissionRecorded(AdmissionEvent):
    """eldercare.admission.recorded: a person admitted to an institution."""


class DischargeRecorded(AdmissionEvent):
    """eldercare.discharge.recorded: a person discharged from an institution."""


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


class LeadRaised(PersonRef):
    """monitoring.lead.raised: proactive discovery (主动发现) found a program that may apply; the draft application.

    `application` is the body assistance's `POST /v1/applications` takes, pre-filled from what monitoring
    holds, so a finding becomes an application without anyone retyping it.
    """

    lead_id: uuid.UUID
    reason: str
    program: str
    summary: str
    figures: dict[str, str]
    application: dict[str, Any]


class AlertEvent(Payload):
    alert_id: uuid.UUID
    kind: str
    status: str
    person_id: uuid.UUID | None
    hukou_division: str | None
    summary: str
    benefits: list[str] = []


class AlertRaised(AlertEvent):
    """monitoring.alert.raised: an early warning raised."""


class AlertResolved(AlertEvent):
    """monitoring.alert.resolved: an early warning closed with what was done."""


class EventSpec(BaseModel):
    """One event type of the contract: where it goes, how it is keyed, what its data is."""

    type: str
    topic: str
    model: type[BaseModel]
    key: str = Field(description="what the Kafka key is, in words (for the contract documents)")
    key_field: str | None = Field(description="the payload field whose value is the Kafka key; None for partner events")
    subject_field: str | None = Field(description="the payload field whose value is the CloudEvent subject")
    summary: str

    @property
    def service(self) -> str:
        """The producing service: the topic's first part (`assistance.events.v1` → assistance)."""
        return self.topic.split(".", 1)[0]


def _spec(
    type: str, topic: str, model: type[BaseModel], key_field: str | None = "person_id", subject_field: str | None = None
) -> EventSpec:
    key = "as the partner chooses" if key_field is None else KEY_WORDS[key_field]
    summary = (model.__doc__ or type).strip().splitlines()[0]
    subject_field = subject_field or key_field
    return EventSpec(
        type=type, topic=topic, model=model, key=key, key_field=key_field, subject_field=subject_field, summary=summary
    )


KEY_WORDS = {
    "person_id": "person id",
    "household_id": "household id",
    "marriage_id": "marriage id",
    "child_person_id": "child's person id",
    "alert_id": "alert id",
}

# One spelling of every topic: the rest of the code names topics through these.
PARTNER_DEATHS = "partner.deaths.v1"
PARTNER_HUKOU = "partner.hukou.v1"
PARTNER_MEDICAL_EXPENSES = "partner.medical-expenses.v1"
PARTNER_INCOME = "partner.income.v1"
REGISTRY_EVENTS = "registry.events.v1"
ASSISTANCE_EVENTS = "assistance.events.v1"
ELDERCARE_EVENTS = "eldercare.events.v1"
MONITORING_LOW_INCOME = "monitoring.low-income.v1"
MONITORING_ALERTS = "monitoring.alerts.v1"

TOPICS: tuple[str, ...] = (
    PARTNER_DEATHS,
    PARTNER_HUKOU,
    PARTNER_MEDICAL_EXPENSES,
    PARTNER_INCOME,
    REGISTRY_EVENTS,
    ASSISTANCE_EVENTS,
    ELDERCARE_EVENTS,
    MONITORING_LOW_INCOME,
    MONITORING_ALERTS,
)

CATALOGUE: dict[str, EventSpec] = {
    s.type: s
    for s in [
        _spec("partner.death.reported", PARTNER_DEATHS, PartnerDeathReported, None),
        _spec("partner.hukou.changed", PARTNER_HUKOU, PartnerHukouChanged, None),
        _spec("partner.medical-expense.reported", PARTNER_MEDICAL_EXPENSES, PartnerMedicalExpense, None),
        _spec("partner.income.reported", PARTNER_INCOME, PartnerIncome, None),
        _spec("registry.person.registered", REGISTRY_EVENTS, PersonRegistered),
        _spec("registry.person.died", REGISTRY_EVENTS, PersonDied),
        _spec("registry.death.confirmed", REGISTRY_EVENTS, DeathConfirmed),
        _spec("registry.death.revoked", REGISTRY_EVENTS, DeathRevoked),
        _spec("registry.person.milestone", REGISTRY_EVENTS, PersonMilestone),
        _spec("registry.hukou.moved-in", REGISTRY_EVENTS, HukouMovedIn),
        _spec("registry.hukou.moved-out", REGISTRY_EVENTS, HukouMovedOut),
        _spec("registry.hukou.transferred", REGISTRY_EVENTS, HukouTransferred),
        _spec("registry.household.changed", REGISTRY_EVENTS, HouseholdChanged, "household_id"),
        _spec("registry.marriage.registered", REGISTRY_EVENTS, MarriageRegistered, "marriage_id"),
        _spec("registry.divorce.registered", REGISTRY_EVENTS, DivorceRegistered, "marriage_id"),
        _spec("registry.adoption.registered", REGISTRY_EVENTS, AdoptionRegistered, "child_person_id"),
        _spec("registry.certificate.reissued", REGISTRY_EVENTS, CertificateReissued, "marriage_id"),
        _spec("assistance.application.submitted", ASSISTANCE_EVENTS, ApplicationSubmitted),
        _spec("assistance.case.enrolled", ASSISTANCE_EVENTS, CaseEnrolled, subject_field="case_id"),
        _spec("assistance.case.amount-changed", ASSISTANCE_EVENTS, CaseAmountChanged, subject_field="case_id"),
        _spec("assistance.case.suspended", ASSISTANCE_EVENTS, CaseSuspended, subject_field="case_id"),
        _spec("assistance.case.resumed", ASSISTANCE_EVENTS, CaseResumed, subject_field="case_id"),
        _spec("assistance.case.terminated", ASSISTANCE_EVENTS, CaseTerminated, subject_field="case_id"),
        _spec("assistance.payment.issued", ASSISTANCE_EVENTS, AssistancePaymentIssued),
        _spec("assistance.overpayment.detected", ASSISTANCE_EVENTS, AssistanceOverpaymentDetected),
        _spec("assistance.overpayment.resolved", ASSISTANCE_EVENTS, AssistanceOverpaymentResolved),
        _spec("assistance.review.due", ASSISTANCE_EVENTS, ReviewDue),
        _spec("eldercare.allowance.enrolled", ELDERCARE_EVENTS, AllowanceEnrolled, subject_field="allowance_id"),
        _spec("eldercare.allowance.stopped", ELDERCARE_EVENTS, AllowanceStopped, subject_field="allowance_id"),
        _spec("eldercare.allowance.changed", ELDERCARE_EVENTS, AllowanceChanged, subject_field="allowance_id"),
        _spec("eldercare.payment.issued", ELDERCARE_EVENTS, EldercarePaymentIssued),
        _spec("eldercare.overpayment.detected", ELDERCARE_EVENTS, EldercareOverpaymentDetected),
        _spec("eldercare.overpayment.resolved", ELDERCARE_EVENTS, EldercareOverpaymentResolved),
        _spec("eldercare.assessment.completed", ELDERCARE_EVENTS, AssessmentCompleted),
        _spec("eldercare.admission.recorded", ELDERCARE_EVENTS, AdmissionRecorded),
        _spec("eldercare.discharge.recorded", ELDERCARE_EVENTS, DischargeRecorded),
        _spec("eldercare.service.delivered", ELDERCARE_EVENTS, ServiceDelivered),
        _spec("monitoring.record.changed", MONITORING_LOW_INCOME, RecordChanged),
        _spec("monitoring.alert.raised", MONITORING_ALERTS, AlertRaised, "alert_id"),
        _spec("monitoring.lead.raised", MONITORING_LOW_INCOME, LeadRaised),
        _spec("monitoring.alert.resolved", MONITORING_ALERTS, AlertResolved, "alert_id"),
    ]
}

# Each model names exactly one type: the publisher finds the type from the payload.
SPEC_OF_MODEL: dict[type[BaseModel], EventSpec] = {s.model: s for s in CATALOGUE.values()}
if len(SPEC_OF_MODEL) != len(CATALOGUE):
    raise RuntimeError("two event types share a payload model: give each type its own subclass")
if {s.topic for s in CATALOGUE.values()} != set(TOPICS):
    raise RuntimeError("the catalogue's topics and TOPICS differ")


def spec_of(payload: BaseModel) -> EventSpec:
    """The catalogue entry of a payload, by its exact model (a subclass is another type)."""
    spec = SPEC_OF_MODEL.get(type(payload))
    if spec is None:
        raise TypeError(f"{type(payload).__name__} is not the payload model of any event type in the catalogue")
    return spec


def model_for(event_type: str) -> type[BaseModel]:
    """The payload model of an event type (for code that picks the type by a rule, e.g. the hukou change's kind)."""
    return CATALOGUE[event_type].model
