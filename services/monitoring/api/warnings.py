"""/v1/settings/warnings, /v1/warnings/run, /v1/imports and /v1/stats: the rules' figures, runs, lists and counts."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy import Date, Numeric, cast, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring import flows, usecases
from services.monitoring.models import Alert, Import, Record, WarningThresholds
from services.monitoring.schemas import (
    ImportOut,
    ProgramPaidOut,
    StatsOut,
    ThresholdsIn,
    ThresholdsOut,
    WarningsRunIn,
    WarningsRunOut,
)
from shared import clock, divisions
from shared.app import Session
from shared.auth import Principal, require
from shared.db import guard
from shared.problems import Invalid

router = APIRouter(prefix="/v1", tags=["warnings"])
Reader = Annotated[Principal, require("monitoring:read")]
Writer = Annotated[Principal, require("monitoring:write")]
_FORMATS = {
    "application/x-ndjson": "ndjson",
    "application/ndjson": "ndjson",
    "application/jsonl": "ndjson",
    "text/csv": "csv",
}


def _district_only(session: AsyncSession) -> None:
    """The thresholds are the district's policy: a town may read them, only the district changes them.

    A town's attempt answers 404 like every write outside the caller's division (existence does not leak).
    """
    guard(session, divisions.DISTRICT, field="effective_from", detail="the warning thresholds are the district's")


def thresholds_out(row: WarningThresholds) -> ThresholdsOut:
    return ThresholdsOut.model_validate(row, from_attributes=True)


@router.get("/settings/warnings", response_model=list[ThresholdsOut], summary="The warning thresholds, every row")
async def thresholds(session: Session, principal: Reader) -> list[ThresholdsOut]:
    rows = (await session.execute(select(WarningThresholds).order_by(WarningThresholds.effective_from))).scalars()
    return [thresholds_out(r) for r in rows]


@router.post(
    "/settings/warnings",
    response_model=ThresholdsOut,
    status_code=status.HTTP_201_CREATED,
    summary="Add thresholds in force from a date (the earlier rows stay, with who added each)",
)
async def add_thresholds(body: ThresholdsIn, session: Session, principal: Writer) -> ThresholdsOut:
    _district_only(session)
    row = await usecases.add_thresholds(session, body.model_dump(), by=principal.sub)
    await session.commit()
    return thresholds_out(row)


@router.post("/warnings/run", response_model=WarningsRunOut, summary="Every record of your division through every rule")
async def run(body: WarningsRunIn, session: Session, principal: Writer) -> WarningsRunOut:
    totals = await usecases.run_warnings(session, body.as_of, principal.division)
    return WarningsRunOut(as_of=body.as_of, **totals)


def import_out(row: Import) -> ImportOut:
    return ImportOut(
        import_id=row.id, reference=row.reference, kind=row.kind, created_at=row.created_at, counts=row.counts,
        lines=row.lines,
    )  # fmt: skip


@router.post(
    "/imports",
    response_model=ImportOut,
    status_code=status.HTTP_201_CREATED,
    summary="Import the anti-poverty monitoring list or marginal families (CSV with id_number, or NDJSON)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}, "example": "id_number\n340207194005011238\n"},
                "application/x-ndjson": {
                    "schema": {"type": "string"},
                    "example": '{"id_number":"340207194005011238"}\n',
                },
            },
        }
    },  # fmt: skip
)
async def import_list(
    request: Request,
    response: Response,
    session: Session,
    principal: Writer,
    kind: Annotated[Literal["anti_poverty_monitoring", "marginal", "rigid_expense"], Query()],
    reference: Annotated[str, Query(min_length=1, max_length=200, description="the list's own reference; sent once")],
) -> ImportOut:
    fmt = _FORMATS.get(request.headers.get("content-type", "").split(";")[0].strip().lower())
    if fmt is None:
        raise Invalid("send Content-Type text/csv or application/x-ndjson", field="body")
    lines = usecases.read_list(await request.body(), fmt)
    row, created = await usecases.import_list(
        session, request.app.state.settings, principal, kind=kind, reference=reference, lines=lines
    )
    await session.commit()
    if not created:
        response.status_code = status.HTTP_200_OK
    return import_out(row)


@router.get(
    "/stats",
    response_model=StatsOut,
    summary="People by category, program and division; amounts in force and paid by program; entries, exits; alerts",
)
async def stats(
    session: Session,
    principal: Reader,
    month: Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] = None,
    on: Annotated[date | None, Query(alias="date")] = None,
) -> StatsOut:
    """Today's population of records (living, in the district) and the alerts raised up to the end of the period.

    The population is the records as they stand (a record keeps no business date of entry, and its creation time is
    the machine's: bounding it by the period would drop every record of a replayed past year). What was paid and who
    entered or left a program are the month's own figures (services/monitoring/flows.py): the month asked for, or the
    one holding the date.
    """
    end = _period_end(month, on)
    scope = principal.division
    in_scope = divisions.covers_clause(Record.hukou_division, scope)
    living = select(Record).where(in_scope, Record.status == "active").subquery()
    category = func.jsonb_array_elements_text(living.c.categories).table_valued("value").alias("c")
    program = func.jsonb_each_text(living.c.programs).table_valued("key", "value").alias("p")
    by_category = (
        select(category.c.value, func.count()).select_from(living).join(category, true()).group_by(category.c.value)
    )
    by_program = (
        select(program.c.key, func.count()).select_from(living).join(program, true())
        .where(program.c.value == "active").group_by(program.c.key)
    )  # fmt: skip
    amount = func.jsonb_each_text(living.c.amounts).table_valued("key", "value").alias("a")
    by_amount = (
        select(amount.c.key, func.sum(cast(amount.c.value, Numeric(14, 2)))).select_from(living)
        .join(amount, true()).group_by(amount.c.key)
    )  # fmt: skip
    by_division = select(living.c.hukou_division, func.count()).group_by(living.c.hukou_division)
    # A household's members share a household id; a record without one is a household of its own.
    household = func.coalesce(living.c.household_id, living.c.id)
    households_by_category = (
        select(category.c.value, func.count(household.distinct())).select_from(living).join(category, true())
        .group_by(category.c.value)
    )  # fmt: skip
    alerts_in_scope = divisions.covers_clause(Alert.hukou_division, scope)
    raised_on = func.coalesce(Alert.raised_on, cast(Alert.raised_at, Date))  # the business day, else the machine's
    by_kind = select(Alert.kind, Alert.status, func.count()).where(alerts_in_scope, raised_on < end)
    by_kind = by_kind.group_by(Alert.kind, Alert.status)
    kinds: dict[str, dict[str, int]] = {}
    for kind, state, n in await session.execute(by_kind):
        kinds.setdefault(kind, {})[state] = n
    ages = select(raised_on).where(alerts_in_scope, raised_on < end, Alert.status == "open")
    open_by_age = dict.fromkeys(AGE_BANDS, 0)
    for (day,) in await session.execute(ages):
        open_by_age[age_band((end - day).days - 1)] += 1
    figures_month = flows.month_of(end - timedelta(days=1))  # the month asked for, or the one holding the date
    figures = await flows.month_figures(session, figures_month, scope)
    return StatsOut(
        month=month, date=on, division=principal.division,
        people_by_category=dict((await session.execute(by_category)).all()),
        people_by_program=dict((await session.execute(by_program)).all()),
        people_by_division=dict((await session.execute(by_division)).all()),
        households_by_category=dict((await session.execute(households_by_category)).all()),
        monthly_amounts_by_program={k: f"{v:.2f}" for k, v in (await session.execute(by_amount)).all()},
        alerts_by_kind=kinds,
        open_alerts_by_age=open_by_age,
        figures_month=figures_month,
        paid_by_program={p: _paid_out(t) for p, t in figures.paid.items()},
        people_entered_by_program=figures.entered,
        people_exited_by_program=figures.exited,
    )  # fmt: skip


def _paid_out(t: flows.Totals) -> ProgramPaidOut:
    return ProgramPaidOut(paid=f"{t.paid:.2f}", payments=t.payments, overpaid=f"{t.overpaid:.2f}",
                          overpayments=t.overpayments, recovered=f"{t.recovered:.2f}", recoveries=t.recoveries,
                          written_off=f"{t.written_off:.2f}", write_offs=t.write_offs)  # fmt: skip


# How long the open alerts have waited, in days at the end of the period: the bands a caseload review reads.
AGE_BANDS = ("0-7", "8-30", "31-90", "over 90")


def age_band(days: int) -> str:
    """The band of an alert open `days` days (0: raised on the last day of the period)."""
    if days <= 7:
        return "0-7"
    if days <= 30:
        return "8-30"
    return "31-90" if days <= 90 else "over 90"


def _period_end(month: str | None, on: date | None) -> date:
    """The first day after the period asked for (a month, a day, or today)."""
    if month:
        year, m = int(month[:4]), int(month[5:])
        return date(year + m // 12, m % 12 + 1, 1)
    day = on or clock.today()
    return date.fromordinal(day.toordinal() + 1)
