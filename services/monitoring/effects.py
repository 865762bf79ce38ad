"""What the other services' events, partners' reports and staff imports do to records and alerts, a chunk at a time.

Every event about a person keeps their record in step (made on first
hearing of them): a death marks it deceased and a revocation restores it, a
move out of the district marks it moved away, a case or allowance changes
the programs, amounts and categories, a partner's income or medical bill is
recorded, an imported list adds a category; each change leaves a history row
and a `monitoring.record.changed` event.

After each event the person's situation goes through the warning rules
(domain/warnings.py) and is reconciled with their open alerts: a new finding
raises one alert (one per person and kind, however many events describe
it), a finding gone closes the alert with the rule's reason. Rules that
depend on the calendar only (review overdue, an elder without the allowance,
a child turning 18) are raised by the warnings run, never by an event, but an
event may close them (the allowance enrolled). A death, or a benefit stopped
because of one, raises the person's `beneficiary_died` alert, whose list of
benefits grows as later news arrives, whichever order it comes in.

A chunk takes a fixed number of statements whatever its size: the records
are made where missing and locked at once, the open alerts and thresholds
read at once, each person's events folded in order in Python (`Fold`, no
I/O), and the records, history rows, alerts and events written in bulk.
Folding after every event, not once per chunk, is what makes a chunk give
exactly what the same events one by one give.
"""

from __future__ import annotations

import functools
import operator
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson
from pydantic import BaseModel
from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    String,
    Table,
    Text,
    any_,
    bindparam,
    cast,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.domain import alerts as rules
from services.monitoring.domain import leads as discovery
from services.monitoring.domain import records as categories
from services.monitoring.domain import warnings as w
from services.monitoring.domain.reconciliation import PERSON, Repair
from services.monitoring.models import Alert, Lead, Record, WarningThresholds
from shared import bulk, clock, divisions, identity
from shared import event_types as ev
from shared.db import new_id, utcnow
from shared.events import ReceivedEvent, publish_many

ALLOWANCE = "old_age_allowance"
DEATH_ALERT = rules.AlertKind.BENEFICIARY_DIED
# Raised only by the warnings run (they change with the calendar, not with news); any event may close them.
CALENDAR_KINDS = frozenset({"review_overdue", "elder_without_allowance", "child_turning_18"})
LISTED_TYPE = "monitoring.list.imported"  # a line of a staff import, folded like an event (never published)
REPAIRED_TYPE = "monitoring.reconciliation.repaired"  # a benefit set as its owner holds it (history only)
REPAIRED_SOURCE = "/minzheng/monitoring/reconciliations"
PAID_AFTER_DEATH = "paid_after_death"
OVERPAYMENT_CLOSED = {"recovered": "overpayment recovered", "written_off": "overpayment written off"}


class ListedPerson(ev.PersonRef):
    """A person named on a list staff imported (not a catalogue event: it stays inside monitoring)."""

    list: str
    reference: str


SERVICE_HANDLED = (
    "registry.person.registered",
    "registry.person.died",
    "registry.death.revoked",
    "registry.hukou.moved-in",
    "registry.hukou.moved-out",
    "registry.hukou.transferred",
    "assistance.case.enrolled",
    "assistance.case.amount-changed",
    "assistance.case.resumed",
    "assistance.case.suspended",
    "assistance.case.terminated",
    "assistance.review.due",
    "assistance.overpayment.detected",
    "assistance.overpayment.resolved",
    "registry.household.changed",
    "eldercare.allowance.enrolled",
    "eldercare.allowance.stopped",
    "eldercare.overpayment.detected",
    "eldercare.overpayment.resolved",
)
PARTNER_HANDLED = ("partner.income.reported", "partner.medical-expense.reported")
HANDLED = SERVICE_HANDLED  # kept for the per-event fallback of the service consumer
APPLIED = frozenset(SERVICE_HANDLED + PARTNER_HANDLED + (LISTED_TYPE,))
PARTNER_MODELS = (ev.PartnerIncome, ev.PartnerMedicalExpense)
UNKNOWN_PERSON = "id_number: no person with this identity number is known to monitoring"

RECORD_COLUMNS = {
    "id": "uuid",
    "name": "text",
    "status": "text",
    "hukou_division": "text",
    "date_of_death": "date",
    "categories": "jsonb",
    "programs": "jsonb",
    "amounts": "jsonb",
    "listed": "jsonb",
    "markers": "jsonb",
    "birth_date": "date",
    "in_district": "boolean",
    "household_id": "uuid",
    "review_due_on": "date",
    "monthly_income": "numeric",
    "per_capita_income": "numeric",
    "medical_expense": "numeric",
    "open_overpayments": "numeric",
    "household_changed_on": "date",
    "last_review_on": "date",
}
NEW_RECORD_COLUMNS = {
    "id": "uuid",
    "person_id": "uuid",
    "id_number": "text",
    "hukou_division": "text",
    "birth_date": "date",
    "status": "text",
    "categories": "jsonb",
    "programs": "jsonb",
}
HISTORY_COLUMNS = {"record_id": "uuid", "event_id": "text", "event_type": "text", "change": "jsonb"}
ALERT_COLUMNS = {
    "id": "uuid",
    "kind": "text",
    "status": "text",
    "severity": "text",
    "person_id": "uuid",
    "id_number": "text",
    "hukou_division": "text",
    "benefits": "jsonb",
    "summary": "text",
    "details": "jsonb",
    "resolution": "text",
    "resolved_at": "timestamptz",
}
# A new alert also records the business day it was raised on (a replayed year's alerts belong to that year).
ALERT_INSERT_COLUMNS = ALERT_COLUMNS | {"raised_on": "date"}
ALERT_CHANGE_COLUMNS = {
    "id": "uuid",
    "status": "text",
    "benefits": "jsonb",
    "summary": "text",
    "resolution": "text",
    "resolved_at": "timestamptz",
}


@dataclass
class RecordRow:
    id: uuid.UUID
    person_id: uuid.UUID
    id_number: str
    hukou_division: str
    name: str | None
    status: str
    date_of_death: date | None
    categories: list[str]
    programs: dict[str, str]
    amounts: dict[str, str]
    listed: list[str]
    markers: list[str]
    birth_date: date | None
    in_district: bool
    household_id: uuid.UUID | None
    review_due_on: date | None
    monthly_income: Decimal | None
    per_capita_income: Decimal | None
    medical_expense: Decimal | None
    open_overpayments: Decimal
    household_changed_on: date | None
    last_review_on: date | None
    changed: bool = False


@dataclass
class AlertRow:
    id: uuid.UUID
    kind: str
    status: str
    severity: str
    person_id: uuid.UUID
    id_number: str
    hukou_division: str
    benefits: list[str]
    summary: str
    details: dict[str, Any]
    resolution: str | None = None
    resolved_at: datetime | None = None
    raised_on: date | None = None
    new: bool = False
    changed: bool = False


@dataclass
class LeadRow:
    id: uuid.UUID
    person_id: uuid.UUID
    id_number: str
    hukou_division: str
    reason: str
    program: str
    summary: str
    figures: dict[str, str]
    status: str = "open"
    closed_at: datetime | None = None
    closed_reason: str | None = None
    new: bool = False
    changed: bool = False


LEAD_COLUMNS = {
    "id": "uuid",
    "person_id": "uuid",
    "id_number": "text",
    "hukou_division": "text",
    "reason": "text",
    "program": "text",
    "summary": "text",
    "figures": "jsonb",
    "status": "text",
}
LEAD_CHANGE_COLUMNS = {
    "id": "uuid",
    "summary": "text",
    "figures": "jsonb",
    "status": "text",
    "closed_at": "timestamptz",
    "closed_reason": "text",
}
HOUSEHOLD_INCOME_TYPE = "monitoring.household.income-recomputed"  # per capita after a member's income or the members


@dataclass
class Fold:
    """A chunk's events applied in order to the records and open alerts read for it (pure: no I/O)."""

    records: dict[uuid.UUID, RecordRow]
    alerts: dict[uuid.UUID, dict[str, AlertRow]]  # a person's open alerts, by kind
    thresholds: w.Thresholds
    today: date
    raise_calendar: bool = False  # the warnings run raises the calendar rules; events only close them
    leads: dict[uuid.UUID, dict[str, LeadRow]] = field(default_factory=dict)  # a person's open leads, by reason
    touched_leads: dict[uuid.UUID, LeadRow] = field(default_factory=dict)
    households: set[uuid.UUID] = field(default_factory=set)  # whose per-capita income may have changed
    history: list[dict[str, Any]] = field(default_factory=list)
    emitted: list[BaseModel] = field(default_factory=list)
    touched: dict[uuid.UUID, AlertRow] = field(default_factory=dict)  # alerts raised or changed, by id
    refused: dict[str, str] = field(default_factory=dict)  # event id -> why it cannot apply
    raised: int = 0
    closed: int = 0
    by_number: dict[str, RecordRow] | None = None

    def record_of(self, event: ReceivedEvent) -> RecordRow | None:
        p = event.payload
        if isinstance(p, ev.PersonRef):
            return self.records[p.person_id]
        if self.by_number is None:  # partners name persons by identity number: indexed once per chunk
            self.by_number = {r.id_number: r for r in self.records.values()}
        return self.by_number.get(p.id_number)

    def apply(self, event: ReceivedEvent) -> None:
        if isinstance(event.payload, ev.HouseholdChanged):
            self._household(event, event.payload)
            return
        record = self.record_of(event)
        if record is None:
            self.refused[event.id] = UNKNOWN_PERSON
            return
        self._apply(record, event, event.payload)
        self.review(record)

    def _apply(self, record: RecordRow, event: ReceivedEvent, p: Any) -> None:  # noqa: ANN401 - a catalogue payload
        if isinstance(p, ev.PersonRef):
            record.hukou_division = p.hukou_division
        kind = _branch(type(p))
        if kind is ev.PersonRegistered:
            record.name, record.birth_date, record.changed = p.name, p.birth_date, True
            record.household_id = p.household_id or record.household_id
        elif kind is ev.PersonDied:
            self._died(record, event, p)
        elif kind is ev.DeathRevoked:
            self._revoked(record, event)
        elif kind is ev.HukouChanged:
            self._moved(record, event, p)
        elif kind is ev.CaseEvent:
            self._benefit(record, event, p.program, p)
        elif kind is ev.AllowanceEvent:
            self._benefit(record, event, ALLOWANCE, p)
        elif kind is ev.OverpaymentDetected:
            record.open_overpayments += p.amount
            change = {"overpayment": f"{p.amount:.2f}", "program": p.program, "reason": p.reason}
            self._changed(record, event, change)
        elif kind is ev.OverpaymentResolved:
            self._overpayment_resolved(record, event, p)
        elif kind is ev.ReviewDue:
            record.review_due_on = p.due_on
            self._changed(record, event, {"review_due_on": p.due_on.isoformat(), "program": p.program})
        elif kind is ev.PartnerIncome:
            record.monthly_income = p.monthly_amount
            if record.household_id is None:  # a household of one: the person's income is the per-capita income
                record.per_capita_income = p.monthly_amount
                self._recount(record)
            else:
                self.households.add(record.household_id)
            self._changed(
                record, event, {"income": f"{p.monthly_amount:.2f}", "period": p.period, "reference": p.reference}
            )
        elif kind is ev.PartnerMedicalExpense:
            record.medical_expense = p.amount
            change = {"medical_expense": f"{p.amount:.2f}", "date": p.date.isoformat(), "reference": p.reference}
            self._changed(record, event, change)
        elif kind is ListedPerson and p.list not in record.listed:
            record.listed = sorted({*record.listed, p.list})
            self._recount(record)
            self._changed(record, event, {"listed": p.list, "import": p.reference})

    def repair(self, record: RecordRow, fix: Repair, origin: ReceivedEvent) -> None:
        """A benefit the owning service holds otherwise (a lost event): set as it holds it, with what it said before."""
        if fix.program == PERSON:
            self._restate(record, fix, origin)
            return
        amount = Decimal(fix.after.get("monthly_amount") or "0")
        self._set_program(record, origin, fix.program, fix.after["status"], amount)
        self.history[-1]["change"] |= {"repaired_from": fix.before, "source": fix.source}
        self.review(record)

    def _restate(self, record: RecordRow, fix: Repair, origin: ReceivedEvent) -> None:
        """The registry holds the person otherwise (a lost death, revocation or move): set as it holds them."""
        after, was_dead = fix.after, record.status == "deceased"
        record.status, record.in_district = after["status"], after["in_district"]
        record.hukou_division = after["hukou_division"]
        record.date_of_death = date.fromisoformat(after["date_of_death"]) if after["date_of_death"] else None
        self._changed(record, origin, {**after, "repaired_from": fix.before, "source": fix.source})
        benefits = rules.active_benefits(record.programs)
        if record.status == "deceased" and not was_dead and benefits:
            self._death_alert(record, benefits)
        self.review(record)

    def _overpayment_resolved(self, record: RecordRow, event: ReceivedEvent, p: ev.OverpaymentResolved) -> None:
        """An overpayment closed by its service: no longer owed; the last one closed closes `paid_after_death`.

        Never below zero: a caseworker who resolved the alert by hand already set what is owed to zero, and a
        later overpayment must raise its own alert. Closed here, not by the rules after it, to say how it ended.
        """
        record.open_overpayments = max(Decimal("0"), record.open_overpayments - p.amount)
        change = {"overpayment_resolved": f"{p.amount:.2f}", "outcome": p.outcome, "program": p.program,
                  "open_overpayments": f"{record.open_overpayments:.2f}"}  # fmt: skip
        self._changed(record, event, change)
        alert = self.alerts.get(record.person_id, {}).get(PAID_AFTER_DEATH)
        if alert is None:
            return
        if record.open_overpayments == 0:
            self._close(alert, OVERPAYMENT_CLOSED[p.outcome])
            return
        owed = w.paid_after_death(w.Situation(today=self.today, open_overpayments=record.open_overpayments),
                                  self.thresholds)  # fmt: skip
        if owed is not None:  # part of it still owed: the alert says how much
            alert.summary, alert.changed = owed.summary, True
            self.touched[alert.id] = alert

    def _household(self, event: ReceivedEvent, p: ev.HouseholdChanged) -> None:
        """Members who stay or join: a changed household, to reassess; members who leave: no longer of it."""
        after = {m.person_id for m in p.members_after}
        for person_id in sorted(after | {m.person_id for m in p.members_before}):
            record = self.records.get(person_id)
            if record is None:
                continue  # monitoring has not heard of this member: nothing of theirs to keep in step
            staying = person_id in after
            record.household_id = p.household_id if staying else None
            self.households.add(p.household_id)
            record.household_changed_on = self.today if staying else record.household_changed_on
            change = {"household_id": str(record.household_id) if staying else None, "reason": p.reason}
            self._changed(record, event, change)
            self.review(record)

    def _died(self, record: RecordRow, event: ReceivedEvent, p: ev.PersonDied) -> None:
        record.status, record.date_of_death = "deceased", p.date_of_death
        self._changed(record, event, {"status": "deceased", "date_of_death": p.date_of_death.isoformat()})
        benefits = rules.active_benefits(record.programs)
        if benefits:
            self._death_alert(record, benefits)

    def _revoked(self, record: RecordRow, event: ReceivedEvent) -> None:
        """A death recorded in error: alive again, as registered; the programs follow as the services report."""
        record.status = "active" if record.in_district else "moved_away"
        record.date_of_death = None
        self._changed(record, event, {"status": record.status, "date_of_death": None, "death_revoked": True})

    def _moved(self, record: RecordRow, event: ReceivedEvent, p: ev.HukouChanged) -> None:
        record.in_district = p.in_district
        if record.status != "deceased":
            record.status = "active" if p.in_district else "moved_away"
        change = {"in_district": p.in_district, "status": record.status, "hukou_division": p.hukou_division,
                  "effective_date": p.effective_date.isoformat()}  # fmt: skip
        self._changed(record, event, change)

    def _benefit(
        self, record: RecordRow, event: ReceivedEvent, program: str, p: ev.CaseEvent | ev.AllowanceEvent
    ) -> None:
        """A case or allowance changed: the program's status; a stop because of a death also raises the alert."""
        stopped = _stops(type(p))
        if stopped and p.reason == "death":
            self._set_program(record, event, program, "suspended", p.monthly_amount)
            record.date_of_death = record.date_of_death or p.effective_date
            self._death_alert(record, [program])
        elif _is_a(type(p), ev.AllowanceStopped):
            self._set_program(record, event, program, "stopped", p.monthly_amount)
        else:
            self._set_program(record, event, program, "active" if not stopped else p.status, p.monthly_amount)
        if _is_a(type(p), ev.CaseAmountChanged):
            record.last_review_on = max(record.last_review_on or p.effective_date, p.effective_date)

    def _set_program(self, record: RecordRow, event: ReceivedEvent, program: str, status: str, amount: Decimal) -> None:
        record.programs = {**record.programs, program: status}
        amounts = {k: v for k, v in record.amounts.items() if k != program}
        record.amounts = amounts | ({program: f"{amount:.2f}"} if status == "active" else {})
        self._recount(record)
        self._changed(record, event, {"program": program, "status": status, "monthly_amount": f"{amount:.2f}"})

    def _recount(self, record: RecordRow) -> None:
        # The income rule reads the per-capita income alone: no need for the whole situation (alerts, programs).
        by_income = w.marginal_by_income(record.per_capita_income, self.thresholds)
        record.categories = categories.categories(record.programs, record.listed, by_income)
        record.markers = categories.markers(record.programs, record.birth_date, self.today)

    def _changed(self, record: RecordRow, event: ReceivedEvent, change: dict[str, Any]) -> None:
        record.changed = True
        self.history.append({"record_id": record.id, "event_id": event.id, "event_type": event.type, "change": change})
        self.emitted.append(
            ev.RecordChanged(
                person_id=record.person_id,
                id_number=record.id_number,
                hukou_division=record.hukou_division,
                record_id=record.id,
                status=record.status,
                categories=list(record.categories),
                programs=sorted(record.programs),
            )
        )

    def _death_alert(self, record: RecordRow, benefits: list[str]) -> None:
        """One open alert per dead beneficiary; later news of stopped benefits joins it (no new event)."""
        dod = record.date_of_death.isoformat() if record.date_of_death else "unknown"
        alert = self.alerts.get(record.person_id, {}).get(DEATH_ALERT)
        if alert is not None:
            merged = sorted(set(alert.benefits) | set(benefits))
            if merged != alert.benefits:
                alert.benefits, alert.summary, alert.changed = merged, rules.death_summary(merged, dod), True
                self.touched[alert.id] = alert
            return
        summary = rules.death_summary(sorted(benefits), dod)
        finding = w.Finding(DEATH_ALERT, w.Severity.HIGH, summary, {"date_of_death": dod})
        self._raise(record, finding, sorted(benefits))

    # -- warnings ------------------------------------------------------------------------------------------------

    def situation(self, r: RecordRow) -> w.Situation:
        """What the rules see of a person: a benefit stopped for death counts as a death until it is revoked."""
        died = r.status == "deceased" or r.date_of_death is not None
        death = self.alerts.get(r.person_id, {}).get(DEATH_ALERT)
        return w.Situation(
            today=self.today,
            status="deceased" if died else r.status,
            date_of_death=r.date_of_death,
            birth_date=r.birth_date,
            in_district=r.in_district,
            programs=dict(r.programs),
            benefits_at_death=tuple(death.benefits) if death else (),
            categories=frozenset(r.listed),
            per_capita_income=r.per_capita_income,
            latest_medical_expense=r.medical_expense,
            open_overpayments=r.open_overpayments,
            household_changed_on=r.household_changed_on,
            last_review_on=r.last_review_on,
            review_due_on=r.review_due_on,
        )

    def review(self, record: RecordRow) -> None:
        """The rules over the person's situation now, reconciled with their open alerts."""
        open_alerts = self.alerts.get(record.person_id, {})
        situation = self.situation(record)
        plan = w.reconcile(open_alerts, w.evaluate(situation, self.thresholds))
        for kind, reason in sorted(plan.close.items()):
            self._close(open_alerts[kind], reason)
        for kind, finding in sorted(plan.raise_.items()):
            if self.raise_calendar or kind not in CALENDAR_KINDS:
                self._raise(record, finding, situation.benefits_at_stake)
        self.discover(record, situation)

    def discover(self, record: RecordRow, situation: w.Situation) -> None:
        """The person's leads now: new ones opened, gone ones closed (a case opened, say), figures kept fresh."""
        found = discovery.find(situation, self.thresholds)
        if not found and not self.leads.get(record.person_id):
            return  # none open, none found (the dead, the moved away, most of the living)
        open_leads = self.leads.setdefault(record.person_id, {})
        for reason in sorted(set(open_leads) - set(found)):
            lead = open_leads.pop(reason)
            lead.status, lead.closed_at, lead.closed_reason = "closed", utcnow(), discovery.closed_reason(situation)
            lead.changed = True
            self.touched_leads[lead.id] = lead
        for reason, new in sorted(found.items()):
            lead = open_leads.get(reason)
            if lead is None:
                lead = LeadRow(
                    id=new_id(), person_id=record.person_id, id_number=record.id_number,
                    hukou_division=record.hukou_division, reason=reason, program=new.program, summary=new.summary,
                    figures=dict(new.figures), new=True,
                )  # fmt: skip
                open_leads[reason] = lead
                self.touched_leads[lead.id] = lead
                self.emitted.append(_lead_event(lead))
            elif lead.figures != new.figures:
                lead.summary, lead.figures, lead.changed = new.summary, dict(new.figures), True
                self.touched_leads[lead.id] = lead

    def refresh(self, record: RecordRow, origin: ReceivedEvent) -> None:
        """The household's per-capita income changed under the person: categories, then rules and leads again."""
        before = list(record.categories)
        self._recount(record)
        record.changed = True
        if record.categories != before:
            self._changed(record, origin, {"per_capita_income": _money(record.per_capita_income),
                                           "categories": list(record.categories)})  # fmt: skip
        else:
            self.history.append({"record_id": record.id, "event_id": origin.id, "event_type": origin.type,
                                 "change": {"per_capita_income": _money(record.per_capita_income)}})  # fmt: skip
        self.review(record)

    def _raise(self, record: RecordRow, finding: w.Finding, benefits: list[str]) -> None:
        alert = AlertRow(
            id=new_id(), kind=finding.kind, status=rules.AlertStatus.OPEN, severity=finding.severity,
            person_id=record.person_id, id_number=record.id_number, hukou_division=record.hukou_division,
            benefits=list(benefits), summary=finding.summary, details=dict(finding.details), raised_on=self.today,
            new=True,
        )  # fmt: skip
        self.alerts.setdefault(record.person_id, {})[alert.kind] = alert
        self.touched[alert.id] = alert
        self.raised += 1
        self.emitted.append(_alert_event(ev.AlertRaised, alert))

    def _close(self, alert: AlertRow, reason: str) -> None:
        alert.status, alert.resolution, alert.resolved_at = rules.AlertStatus.RESOLVED, f"auto: {reason}", utcnow()
        alert.changed = True
        del self.alerts[alert.person_id][alert.kind]
        self.touched[alert.id] = alert
        self.closed += 1
        self.emitted.append(_alert_event(ev.AlertResolved, alert))


# The payload classes `Fold._apply` tells apart, in the order it asks. Its questions are answered once per class
# (`_branch`, `_is_a`): pydantic's models have an ABC metaclass, whose isinstance took a dozen slow checks an event.
_BRANCHES = (
    ev.PersonRegistered, ev.PersonDied, ev.DeathRevoked, ev.HukouChanged, ev.CaseEvent, ev.AllowanceEvent,
    ev.OverpaymentDetected, ev.OverpaymentResolved, ev.ReviewDue, ev.PartnerIncome, ev.PartnerMedicalExpense,
    ListedPerson,
)  # fmt: skip
_is_a = functools.cache(issubclass)


@functools.cache
def _branch(cls: type) -> type | None:
    """The first of `_BRANCHES` a payload class is a kind of (None: the event changes nothing of the record)."""
    return next((branch for branch in _BRANCHES if issubclass(cls, branch)), None)


@functools.cache
def _stops(cls: type) -> bool:
    """Whether a benefit event of this class stops the benefit (a suspension, a termination, a stopped allowance)."""
    return issubclass(cls, ev.CaseSuspended | ev.CaseTerminated | ev.AllowanceStopped)


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _lead_event(lead: LeadRow) -> ev.LeadRaised:
    """A new lead for assistance, with the application it pre-fills."""
    draft = discovery.application_draft(lead.program, lead.id_number, lead.figures)
    return ev.LeadRaised(
        person_id=lead.person_id, id_number=lead.id_number, hukou_division=lead.hukou_division, lead_id=lead.id,
        reason=lead.reason, program=lead.program, summary=lead.summary, figures=lead.figures, application=draft,
    )  # fmt: skip


def _alert_event(model: type[ev.AlertEvent], a: AlertRow) -> ev.AlertEvent:
    return model(
        alert_id=a.id, kind=a.kind, status=a.status, person_id=a.person_id, hukou_division=a.hukou_division,
        summary=a.summary, benefits=list(a.benefits),
    )  # fmt: skip


async def apply(session: AsyncSession, events: Sequence[ReceivedEvent], today: date | None = None) -> Fold:
    """Apply a chunk of events to records and alerts, in order, in a fixed number of statements."""
    relevant = [e for e in events if e.type in APPLIED]
    today = today or clock.today()
    fold = Fold(records={}, alerts={}, thresholds=await thresholds_on(session, today), today=today)
    if not relevant:
        return fold
    firsts = {e.payload.person_id: e.payload for e in reversed(relevant) if isinstance(e.payload, ev.PersonRef)}
    numbers = sorted({e.payload.id_number for e in relevant if isinstance(e.payload, PARTNER_MODELS)})
    members = {m.person_id for e in relevant if isinstance(e.payload, ev.HouseholdChanged) for m in _members(e.payload)}
    fold.records = await _lock_records(session, sorted(set(firsts) | members, key=bulk.uuid_order), numbers)
    missing = [firsts[pid] for pid in sorted(firsts, key=bulk.uuid_order) if pid not in fold.records]
    if missing:  # persons not heard of before: made, then locked like the others
        await _make_records(session, missing)
        fold.records |= await _lock_records(session, [p.person_id for p in missing], [])
    await _open_items(session, fold)
    for event in relevant:
        fold.apply(event)
    await _write(session, fold)
    if fold.households:
        await _household_incomes(session, fold)
    return fold


async def repair(session: AsyncSession, fixes: Sequence[Repair], reference: str, today: date | None = None) -> Fold:
    """Apply a reconciliation's repairs like events (records made where missing, history, alerts), set-based."""
    today = today or clock.today()
    fold = Fold(records={}, alerts={}, thresholds=await thresholds_on(session, today), today=today)
    if not fixes:
        return fold
    ids = sorted({f.person_id for f in fixes})
    fold.records = await _lock_records(session, ids, [])
    missing = {f.person_id: f for f in fixes if f.person_id not in fold.records and f.new_record}
    if missing:
        refs = [ev.PersonRef(person_id=f.person_id, id_number=f.id_number, hukou_division=f.hukou_division)
                for _, f in sorted(missing.items())]  # fmt: skip
        await _make_records(session, refs)
        fold.records |= await _lock_records(session, sorted(missing), [])
    await _open_items(session, fold)
    for n, fix in enumerate(fixes, start=1):
        record = fold.records.get(fix.person_id)
        if record is not None:
            origin = ReceivedEvent(id=f"{reference}:{n}", type=REPAIRED_TYPE, source=REPAIRED_SOURCE,
                                   subject=None, time=None, data={}, key=None, payload=None)  # fmt: skip
            fold.repair(record, fix, origin)
    await _write(session, fold)
    return fold


async def review_all(
    session: AsyncSession, today: date, after: uuid.UUID | None, limit: int, scope: str = divisions.DISTRICT
) -> tuple[Fold, uuid.UUID | None]:
    """The warnings run over one page of the records in `scope` (by person id after `after`): every rule.

    Returns the fold and the last person id of the page (None when there are no more).
    """
    t = Record.__table__
    stmt = select(t.c.person_id).where(divisions.covers_clause(t.c.hukou_division, scope))
    stmt = stmt.order_by(t.c.person_id).limit(limit)
    if after is not None:
        stmt = stmt.where(t.c.person_id > after)
    ids = list((await session.execute(stmt)).scalars())
    fold = Fold(records={}, alerts={}, thresholds=await thresholds_on(session, today), today=today, raise_calendar=True)
    if not ids:
        return fold, None
    fold.records = await _lock_records(session, ids, [])
    await _open_items(session, fold)
    for person_id in ids:
        fold.review(fold.records[person_id])
    await _write(session, fold)
    return fold, ids[-1]


# The reads of every chunk are built once: SQLAlchemy keeps a statement's cache key on the statement object, and
# computing it again for a statement built per chunk cost more than compiling ever did.
_THRESHOLDS_IN_FORCE = (
    select(WarningThresholds)
    .where(WarningThresholds.effective_from <= bindparam("day", type_=Date()))
    .order_by(WarningThresholds.effective_from.desc())
    .limit(1)
)
_EARLIEST_THRESHOLDS = select(WarningThresholds).order_by(WarningThresholds.effective_from).limit(1)


async def thresholds_on(session: AsyncSession, day: date) -> w.Thresholds:
    """The warning thresholds in force on a day (the latest row not after it).

    A day before the first row (an event dated before the seeded thresholds, a replayed past year) is judged by the
    earliest thresholds: the record must be kept in step whatever its date, and a consumer never stalls on an event
    that is not at fault. Staff who want earlier days judged differently add rows effective from earlier dates.
    """
    row = (await session.execute(_THRESHOLDS_IN_FORCE, {"day": day})).scalar_one_or_none()
    if row is None:
        row = (await session.execute(_EARLIEST_THRESHOLDS)).scalar_one_or_none()
    if row is None:
        raise LookupError("no warning thresholds at all: the monitoring migrations seed one row")
    return thresholds_of(row)


def thresholds_of(row: WarningThresholds) -> w.Thresholds:
    return w.Thresholds(
        effective_from=row.effective_from,
        dibao_standard=row.dibao_standard,
        marginal_multiplier=row.marginal_multiplier,
        medical_expense_threshold=row.medical_expense_threshold,
        allowance_age=row.allowance_age,
        child_exit_age=row.child_exit_age,
        review_grace_days=row.review_grace_days,
    )  # fmt: skip


def _members(p: ev.HouseholdChanged) -> list[ev.HouseholdMember]:
    return [*p.members_before, *p.members_after]


def _birth_date(id_number: str) -> date | None:
    try:
        return identity.parse(id_number).birth_date
    except identity.InvalidIdNumber:
        return None


async def _make_records(session: AsyncSession, firsts: list[ev.PersonRef]) -> None:
    """A record for each person (sorted by person, so concurrent chunks lock in one order); one made meanwhile stays."""
    rows = [
        {"id": new_id(), "person_id": p.person_id, "id_number": p.id_number, "hukou_division": p.hukou_division,
         "birth_date": _birth_date(p.id_number), "status": "active", "categories": [], "programs": {}}
        for p in firsts
    ]  # fmt: skip
    await bulk.insert(session, "records", NEW_RECORD_COLUMNS, rows, on_conflict="ON CONFLICT (person_id) DO NOTHING")


async def _lock_records(
    session: AsyncSession, person_ids: list[uuid.UUID], id_numbers: list[str]
) -> dict[uuid.UUID, RecordRow]:
    # Plain rows, positional (the columns are the dataclass's fields in order): a mapping per row cost more
    rows = await session.execute(_LOCK_RECORDS.statement, {"person_ids": person_ids, "id_numbers": id_numbers})
    records = (RecordRow(*_LOCK_RECORDS.decode(row)) for row in rows)
    return {r.person_id: r for r in records}


@dataclass(frozen=True)
class _Read:
    """A select of some fields of a table, built once, and what turns each row it fetches into the fields' values.

    jsonb columns travel as text and are parsed here by orjson: the driver's json.loads was the largest single
    cost of reading a chunk's records and alerts.
    """

    statement: Select[Any]
    json_at: tuple[int, ...]  # the places of the jsonb fields

    @classmethod
    def of(cls, table: Table, fields: list[str], where: ColumnElement[bool], *, lock: bool = False) -> _Read:
        """The fields of the rows `where` holds; `lock`: in person order, locked (FOR UPDATE) in that order."""
        columns = [
            cast(table.c[f], Text).label(f) if isinstance(table.c[f].type, JSONB) else table.c[f] for f in fields
        ]
        at = tuple(i for i, f in enumerate(fields) if isinstance(table.c[f].type, JSONB))
        statement = select(*columns).where(where)
        if lock:
            statement = statement.order_by(table.c.person_id).with_for_update()
        return cls(statement, at)

    def decode(self, row: Sequence[Any]) -> list[Any]:
        values = list(row)
        for i in self.json_at:
            if values[i] is not None:
                values[i] = orjson.loads(values[i])
        return values


def _ids(name: str) -> ColumnElement[Any]:
    return cast(bindparam(name, type_=ARRAY(UUID())), ARRAY(UUID()))


_records, _alerts, _leads = Record.__table__, Alert.__table__, Lead.__table__
_LOCK_RECORDS = _Read.of(
    _records,
    [f for f in RecordRow.__dataclass_fields__ if f != "changed"],
    or_(
        _records.c.person_id == any_(_ids("person_ids")),
        _records.c.id_number == any_(cast(bindparam("id_numbers", type_=ARRAY(String())), ARRAY(String()))),
    ),
    lock=True,
)
_OPEN_ALERTS = _Read.of(
    _alerts,
    [f for f in AlertRow.__dataclass_fields__ if f not in ("new", "changed")],
    (_alerts.c.person_id == any_(_ids("person_ids"))) & (_alerts.c.status != "resolved"),
)
_OPEN_LEADS = _Read.of(
    _leads,
    [f for f in LeadRow.__dataclass_fields__ if f not in ("new", "changed")],
    (_leads.c.person_id == any_(_ids("person_ids"))) & (_leads.c.status == "open"),
)


async def _open_items(session: AsyncSession, fold: Fold) -> None:
    """The open alerts and leads of the fold's persons (their records are locked: nobody adds one meanwhile)."""
    ids = list(fold.records)
    fold.alerts = await _open_alerts(session, ids)
    fold.leads = {}
    for row in await session.execute(_OPEN_LEADS.statement, {"person_ids": ids}):  # positional, as the fields
        lead = LeadRow(*_OPEN_LEADS.decode(row))
        fold.leads.setdefault(lead.person_id, {})[lead.reason] = lead


async def _household_incomes(session: AsyncSession, fold: Fold) -> None:
    """Per-capita income of the households the chunk touched, from their living members' own incomes.

    A member without a reported income counts as earning nothing; a household where nobody's income is
    known has none. The members whose per-capita income changed go through the rules and leads again.
    """
    changed = text("""
        WITH h AS (
            SELECT household_id, bool_or(monthly_income IS NOT NULL) AS known,
                   round(sum(coalesce(monthly_income, 0)) / count(*), 2) AS per_capita
            FROM records WHERE household_id = ANY(:ids) AND status <> 'deceased' GROUP BY household_id
        )
        UPDATE records r SET per_capita_income = CASE WHEN h.known THEN h.per_capita END, updated_at = now()
        FROM h WHERE r.household_id = h.household_id
          AND r.per_capita_income IS DISTINCT FROM (CASE WHEN h.known THEN h.per_capita END)
        RETURNING r.person_id, r.household_id
    """)
    rows = (await session.execute(changed, {"ids": sorted(fold.households)})).all()
    if not rows:
        return
    again = Fold(records={}, alerts={}, thresholds=fold.thresholds, today=fold.today)
    again.records = await _lock_records(session, sorted({r.person_id for r in rows}, key=bulk.uuid_order), [])
    await _open_items(session, again)
    for person_id, household_id in rows:
        origin = ReceivedEvent(id=f"household-income:{household_id}", type=HOUSEHOLD_INCOME_TYPE,
                               source="/minzheng/monitoring", subject=None, time=None, data={}, key=None)  # fmt: skip
        again.refresh(again.records[person_id], origin)
    await _write(session, again)
    fold.raised += again.raised
    fold.closed += again.closed


async def _open_alerts(session: AsyncSession, person_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, AlertRow]]:
    """The persons' open alerts by kind (their records are locked, so nobody else adds one meanwhile)."""
    found: dict[uuid.UUID, dict[str, AlertRow]] = {}
    for row in await session.execute(_OPEN_ALERTS.statement, {"person_ids": person_ids}):  # positional, as the fields
        alert = AlertRow(*_OPEN_ALERTS.decode(row))
        found.setdefault(alert.person_id, {})[alert.kind] = alert
    return found


# A chunk's records, history and new alerts travel as one JSON parameter each (shared.bulk's second form): the
# records' twenty columns, the history's four and the alerts' fourteen were most of what the driver checked.
_UPDATE_RECORDS = bulk.json_update("records", "id", RECORD_COLUMNS, also="updated_at = now()")
_INSERT_HISTORY = bulk.json_insert("record_history", HISTORY_COLUMNS)
_INSERT_ALERTS = bulk.json_insert("alerts", ALERT_INSERT_COLUMNS)
# A row's values in its statement's order, read in one C call (operator's getters) per row.
_RECORD_VALUES = operator.attrgetter(*RECORD_COLUMNS)
_HISTORY_VALUES = operator.itemgetter(*HISTORY_COLUMNS)
_ALERT_VALUES = operator.attrgetter(*ALERT_INSERT_COLUMNS)


async def _write(session: AsyncSession, fold: Fold) -> None:
    await bulk.execute_json(session, _UPDATE_RECORDS, [_RECORD_VALUES(r) for r in fold.records.values() if r.changed])
    await bulk.execute_json(session, _INSERT_HISTORY, [_HISTORY_VALUES(h) for h in fold.history])
    await bulk.execute_json(session, _INSERT_ALERTS, [_ALERT_VALUES(a) for a in fold.touched.values() if a.new])
    merged = [vars(a) for a in fold.touched.values() if a.changed and not a.new]
    await bulk.update(session, "alerts", "id", ALERT_CHANGE_COLUMNS, merged)
    leads = fold.touched_leads.values()
    await bulk.insert(session, "leads", LEAD_COLUMNS, [vars(x) for x in leads if x.new],
                      on_conflict="ON CONFLICT (person_id, reason) WHERE status = 'open' DO NOTHING")  # fmt: skip
    await bulk.update(session, "leads", "id", LEAD_CHANGE_COLUMNS, [vars(x) for x in leads if x.changed and not x.new])
    await publish_many(session, fold.emitted)
