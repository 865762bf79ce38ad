"""/v1/rosters/insurance: the two accident-insurance rosters with their premium totals, JSON or CSV."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from services.eldercare.care import rosters as usecases
from services.eldercare.domain.allowance import age_on
from services.eldercare.schemas import Roster, RosterEntry, Rosters
from shared import identity
from shared.app import Session
from shared.audit import record_read
from shared.auth import Principal, require
from shared.fields import CivilDate
from shared.money import round_yuan
from shared.paging import Offset

router = APIRouter(prefix="/v1/rosters", tags=["rosters"])
CSV_COLUMNS = ["roster", "person_id", "id_number", "name", "hukou_division", "age", "annual_premium"]


def entry(row: dict, scheme: usecases.Scheme, as_of: date, principal: Principal) -> RosterEntry:
    return RosterEntry(
        person_id=row["person_id"],
        id_number=row["id_number"] if principal.sees_pii else identity.mask(row["id_number"]),
        name=row["name"],
        hukou_division=row["hukou_division"],
        age=age_on(row["birth_date"], as_of),
        basis=scheme.code,
    )


@router.get(
    "/insurance",
    response_model=Rosters,
    responses={200: {"content": {"text/csv": {}}, "description": "the rosters (JSON, or CSV with `format=csv`)"}},
    summary="Accident-insurance rosters on a date (60+ dibao and dispersed tekun; 80+) with premium totals",
)
async def insurance(
    request: Request,
    session: Session,
    principal: Annotated[Principal, require("eldercare:read")],
    as_of: Annotated[CivilDate, Query()],
    format: Literal["json", "csv"] = "json",
    limit: Annotated[int, Query(ge=0, le=500, description="entries of each roster in the JSON answer")] = 100,
    offset: Offset = 0,
) -> Rosters | Response:
    schemes = await usecases.schemes_on(session, as_of)
    if format == "csv":
        return await _csv(request, session, principal, schemes, as_of)
    rosters, seen = [], []
    for scheme in schemes:
        insured = await usecases.count(session, scheme, as_of)
        items = [
            entry(r, scheme, as_of, principal)
            async for r in usecases.rows(session, scheme, as_of, limit=limit, offset=offset)
        ]
        seen += [i.person_id for i in items]
        rosters.append(
            Roster(
                code=scheme.code,
                rule=scheme.rule,
                annual_premium=scheme.annual_premium,
                insured=insured,
                premium_total=round_yuan(scheme.annual_premium * insured),
                items=items,
            )
        )
    await record_read(session, principal, request, seen, subject="insurance roster")
    await session.commit()
    return Rosters(
        as_of=as_of, rosters=rosters, premium_total=sum((r.premium_total for r in rosters), start=Decimal("0.00"))
    )


async def _csv(
    request: Request, session: Session, principal: Principal, schemes: list[usecases.Scheme], as_of: date
) -> Response:
    """Every entry of both rosters, then one total line per roster; audited before it is sent."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    seen = []
    for scheme in schemes:
        n = 0
        async for r in usecases.rows(session, scheme, as_of):
            e = entry(r, scheme, as_of, principal)
            writer.writerow(
                [
                    scheme.code,
                    e.person_id,
                    e.id_number,
                    e.name or "",
                    e.hukou_division,
                    e.age,
                    f"{scheme.annual_premium:.2f}",
                ]
            )
            seen.append(e.person_id)
            n += 1
        writer.writerow(
            [f"{scheme.code} total", "", "", f"{n} insured", "", "", f"{round_yuan(scheme.annual_premium * n):.2f}"]
        )
    await record_read(session, principal, request, seen, subject="insurance roster")
    await session.commit()
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="insurance-rosters-{as_of}.csv"'},
    )
