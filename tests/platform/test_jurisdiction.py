"""Jurisdiction: staff of one town neither see nor change anything of another town, through any route.

Town A (340207001) holds residents, a household, a marriage, a death with its
reports, a review item, an intake batch, a case, an allowance, an alert, an
institution with a bed, a resident, an inspection, and an assessment. Staff of
town B (340207003), with every scope and `pii:read`, then call every operation
of the four OpenAPI documents naming A's data. Reads answer 404 or a page
without any of it; writes answer 404 (422 when the body is invalid anyway)
and change no row of A's in any of the four databases.

`CALLS` names every operation; `test_every_operation_has_a_jurisdiction_case`
fails when a route is added without one, so a new route cannot skip scoping.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from shared import divisions
from shared import event_types as ev
from shared.events import envelope
from tests.registry.helpers import born
from tests.support import Stack, eventually, new_id_number, produce, token

TOWN_A, TOWN_B = "340207001", "340207003"
SERVICES = ("registry", "assistance", "eldercare", "monitoring")
TODAY = date.today()
YESTERDAY = (TODAY - timedelta(days=1)).isoformat()
PUBLIC = {"/healthz", "/readyz", "/metrics"}  # no token, no division data
SHARED = {"provider", "payroll", "month"}  # the district's own data, which every town may see
ALL_SCORES_TOP: dict[str, int] | None = None


def hq() -> dict[str, str]:
    return {"Authorization": f"Bearer {token(division=divisions.DISTRICT)}"}


def staff_of(division: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(sub=f'staff-{division}', division=division)}"}


@dataclass
class TownA:
    """What town A holds: `ids` by name (the values B must never see), with the names of its residents."""

    ids: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> str:
        return self.ids[name]

    @property
    def secrets(self) -> set[str]:
        return {v for k, v in self.ids.items() if v and k not in SHARED}


def _ok(r: httpx.Response, *codes: int) -> dict[str, Any]:
    assert r.status_code in codes, f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text}"
    return r.json() if r.content else {}


async def _registry_data(stack: Stack, a: TownA) -> None:
    async with stack["registry"].client() as c:
        c.headers.update(hq())
        persons = {
            "p": (born(1940, 3, 3, "M"), "甲守业", f"{TOWN_A}001"),  # 80+: allowance, head of a household
            "s": (born(1950, 4, 4, "F"), "甲秀兰", f"{TOWN_A}001"),  # his wife
            "k": (born(TODAY.year - 8, 5, 5, "F"), "甲小妹", f"{TOWN_A}002"),  # a child, head of another household
            "q": (born(1955, 6, 6, "M"), "甲长顺", f"{TOWN_A}002"),  # a dibao beneficiary who dies
        }
        for key, (number, name, division) in persons.items():
            person = _ok(
                await c.post("/v1/persons", json={"id_number": number, "name": name, "hukou_division": division}), 201
            )
            a.ids |= {key: person["person_id"], f"{key}_number": number, f"{key}_name": name}
        h = _ok(
            await c.post(
                "/v1/households",
                json={
                    "hukou_division": f"{TOWN_A}001",
                    "address": "甲村一号",
                    "members": [
                        {"id_number": a["p_number"], "relation": "head"},
                        {"id_number": a["s_number"], "relation": "spouse"},
                    ],
                },
            ),
            201,
        )
        h2 = _ok(
            await c.post(
                "/v1/households",
                json={
                    "hukou_division": f"{TOWN_A}002",
                    "address": "甲村二号",
                    "members": [{"id_number": a["k_number"], "relation": "head"}],
                },
            ),
            201,
        )
        a.ids |= {"household": h["household_id"], "household2": h2["household_id"]}
        m = _ok(
            await c.post(
                "/v1/marriages",
                json={
                    "party_a": a["p_number"],
                    "party_b": a["s_number"],
                    "registered_on": "1975-05-01",
                    "registration_division": TOWN_A,
                    "certificate_no": f"JA-{uuid.uuid4().hex[:8]}",
                },
            ),
            201,
        )
        a.ids["marriage"] = m["marriage_id"]
        mismatch = _ok(
            await c.post(
                "/v1/deaths",
                json={
                    "id_number": a["p_number"],
                    "name": "乙某某",
                    "date_of_death": YESTERDAY,
                    "source": "hospital",
                    "reference": f"H-{uuid.uuid4().hex[:10]}",
                },
            ),
            202,
        )
        a.ids["review"] = mismatch["review_id"]
    async with stack["registry"].client() as c:
        c.headers.update(staff_of(TOWN_A))
        batch = _ok(
            await c.post(
                "/v1/intake/batches", content=b"{not json\n", headers={"Content-Type": "application/x-ndjson"}
            ),
            201,
        )
        a.ids["batch"] = batch["batch_id"]


async def _downstream_data(stack: Stack, a: TownA) -> None:
    async with stack["assistance"].client() as c:
        c.headers.update(hq())
        case = _ok(
            await c.post(
                "/v1/cases", json={"id_number": a["p_number"], "program": "dibao", "monthly_amount": "780.00"}
            ),
            201,
        )
        a.ids["case"] = case["case_id"]
        a.ids["q_case"] = _ok(
            await c.post(
                "/v1/cases", json={"id_number": a["q_number"], "program": "tekun", "monthly_amount": "1065.00"}
            ),
            201,
        )["case_id"]
    async with stack["eldercare"].client() as c:
        c.headers.update(hq())
        a.ids["allowance"] = _ok(await c.post("/v1/allowances", json={"id_number": a["p_number"]}), 201)["allowance_id"]
        institution = _ok(
            await c.post("/v1/institutions", json={"name": "甲镇敬老院", "ownership": "public", "division": TOWN_A}),
            201,
        )
        a.ids["institution"] = institution["institution_id"]
        [bed] = _ok(await c.post(f"/v1/institutions/{a['institution']}/beds", json={"codes": ["A-1"]}), 201)
        a.ids["bed"] = bed["bed_id"]
        a.ids["admission"] = _ok(
            await c.post(f"/v1/institutions/{a['institution']}/admissions", json={"id_number": a["s_number"]}), 201
        )["admission_id"]
        inspection = _ok(
            await c.post(
                f"/v1/institutions/{a['institution']}/inspections",
                json={
                    "month": TODAY.strftime("%Y-%m"),
                    "inspected_on": TODAY.isoformat(),
                    "inspector": "王检查",
                    "findings": [{"item": "fire exits", "severity": "major"}],
                },
            ),
            201,
        )
        a.ids["inspection"] = inspection["inspection_id"]
        a.ids["assessment"] = _ok(
            await c.post("/v1/assessments", json={"id_number": a["p_number"], "scores": _scores()}), 201
        )["assessment_id"]
    await _payroll(stack, a)
    async with stack["registry"].client() as c:  # q dies: his case is suspended and an alert raised
        c.headers.update(hq())
        a.ids["q_reference"] = f"H-{uuid.uuid4().hex[:10]}"
        d = _ok(
            await c.post(
                "/v1/deaths",
                json={
                    "id_number": a["q_number"],
                    "date_of_death": YESTERDAY,
                    "source": "hospital",
                    "reference": a["q_reference"],
                },
            ),
            201,
        )
        a.ids |= {"death": d["death_id"], "death_report": d["report_id"]}
        second = {
            "id_number": a["q_number"],
            "date_of_death": YESTERDAY,
            "source": "funeral_home",
            "reference": f"F-{a['q']}",
        }
        _ok(await c.post("/v1/deaths", json=second), 200)  # confirmed: the month paid ahead is an overpayment
    async with stack["assistance"].client() as c:
        c.headers.update(hq())

        async def overpayment() -> str | None:
            items = (await c.get("/v1/overpayments", params={"id_number": a["q_number"]})).json()["items"]
            return items[0]["id"] if items else None

        a.ids["overpayment"] = await eventually(overpayment, timeout=15)
    await _applications_and_orders(stack, a)
    async with stack["monitoring"].client() as c:
        c.headers.update(hq())

        async def alert() -> str | None:
            items = (await c.get("/v1/alerts", params={"id_number": a["q_number"]})).json()["items"]
            return items[0]["alert_id"] if items else None

        a.ids["alert"] = await eventually(alert, timeout=15)
        records = (await c.get("/v1/records", params={"id_number": a["q_number"]})).json()["items"]
        a.ids["record"] = records[0]["record_id"]


async def _payroll(stack: Stack, a: TownA) -> None:
    """A month's payroll built ahead, paying P and Q (the district's; its lines of A are A's)."""
    a.ids["month"] = f"{random.randint(2700, 2999)}-{random.randint(1, 12):02d}"  # a month no other test builds
    async with stack["assistance"].client() as c:
        c.headers.update(hq())
        a.ids["payroll"] = _ok(await c.post("/v1/payrolls", json={"month": a["month"]}), 201)["id"]
        lines = _ok(await c.get(f"/v1/payrolls/{a['payroll']}/lines", params={"id_number": a["p_number"]}), 200)
        a.ids["p_line"] = lines["items"][0]["id"]


async def _applications_and_orders(stack: Stack, a: TownA) -> None:
    """A's assistance application (in its public notice, with an objection) and a home-care order for P."""
    async with stack["assistance"].client() as c:
        c.headers.update(hq())
        app = _ok(
            await c.post(
                "/v1/applications",
                json={"program": "dibao", "members": [{"id_number": a["s_number"], "relation": "self"}]},
            ),
            201,
        )
        a.ids["application"] = app["id"]
        _ok(await c.post(f"/v1/applications/{app['id']}/review", json={"survey_notes": "visited"}), 200)
        a.ids["objection"] = _ok(
            await c.post(f"/v1/applications/{app['id']}/objections", json={"content": "a neighbour objects"}), 201
        )["id"]
        a.ids["draft"] = await _lead_draft(stack, c, a)
    async with stack["eldercare"].client() as c:
        c.headers.update(hq())
        code = "91340207" + uuid.uuid4().hex[:10].upper().replace("I", "1").replace("O", "0")
        provider = _ok(
            await c.post("/v1/providers", json={"name": "甲镇居家养老", "credit_code": code, "services": ["meals"]}),
            201,
        )
        a.ids["provider"] = provider["provider_id"]  # district data: every town may see the provider, not A's orders

        async def order() -> str | None:  # once eldercare has heard of P's dibao case
            r = await c.post(
                "/v1/service-orders",
                json={
                    "id_number": a["p_number"],
                    "provider_id": a["provider"],
                    "service": "meals",
                    "scheduled_on": TODAY.isoformat(),
                    "amount": "10.00",
                },
            )
            return r.json()["order_id"] if r.status_code == 201 else None

        a.ids["order"] = await eventually(order, timeout=10)


async def _lead_draft(stack: Stack, c: httpx.AsyncClient, a: TownA) -> str:
    """A lead monitoring raised for K (a child of A), as assistance keeps it: a draft application of A."""
    lead = ev.LeadRaised(
        person_id=uuid.UUID(a["k"]), id_number=a["k_number"], hukou_division=f"{TOWN_A}002", lead_id=uuid.uuid4(),
        reason="uncovered_listed", program="dibao", summary="listed and covered by no program: assess dibao",
        figures={}, application={"program": "dibao", "members": [{"id_number": a["k_number"], "relation": "self"}]},
    )  # fmt: skip
    event = envelope(service="monitoring", type="monitoring.lead.raised", subject=a["k"], data=lead)
    await produce(stack.infra.broker.bootstrap, ev.MONITORING_LOW_INCOME, event, key=a["k_number"])

    async def draft() -> str | None:
        items = (await c.get("/v1/applications/drafts", params={"id_number": a["k_number"]})).json()["items"]
        return items[0]["id"] if items else None

    return await eventually(draft, timeout=10)


def _scores() -> dict[str, int]:
    from services.eldercare.domain.assessment import ITEMS

    return dict(ITEMS)


# -- what "unchanged" means: every row of A's, in every database -------------------------------------------------

LINKS = (
    "id",
    "person_id",
    "id_number",
    "key",
    "household_id",
    "party_a",
    "party_b",
    "child_person_id",
    "adopter_a",
    "adopter_b",
    "candidate_person_id",
    "resolved_person_id",
    "applicant_person_id",
    "death_id",
    "marriage_id",
    "batch_id",
    "institution_id",
    "case_id",
    "allowance_id",
    "alert_id",
    "bed_id",
    "admission_id",
    "inspection_id",
)
VOLATILE = {
    "published_at",
    "attempts",
    "last_error",
    "updated_at",
}  # the relay's bookkeeping; a cache refreshed unchanged


async def fingerprint(stack: Stack, a: TownA) -> dict[str, tuple[int, str]]:
    """(rows, digest) of every table's rows that name any of A's ids or numbers, per service and table."""
    out: dict[str, tuple[int, str]] = {}
    values = sorted(a.secrets)
    for service in SERVICES:
        async with stack[service].state.sessionmaker() as s:
            columns: dict[str, list[str]] = {}
            for table, column in (
                await s.execute(
                    text(
                        "SELECT table_name, column_name FROM information_schema.columns"
                        " WHERE table_schema = 'public' ORDER BY ordinal_position"
                    )
                )
            ).all():
                columns.setdefault(table, []).append(column)
            for table, cols in columns.items():
                links = [c for c in LINKS if c in cols]
                if not links or table == "audit_log":
                    continue
                where = " OR ".join(f'"{c}"::text = ANY(:v)' for c in links)
                row = "row(" + ", ".join(f'"{c}"' for c in cols if c not in VOLATILE) + ")::text"
                hashed = f"md5(coalesce(string_agg({row}, '|' ORDER BY {row}), ''))"
                sql = f'SELECT count(*), {hashed} FROM "{table}" WHERE {where}'  # noqa: S608 - names from the catalog
                count, digest = (await s.execute(text(sql), {"v": values})).one()
                out[f"{service}.{table}"] = (count, digest)
    return out


async def settled(stack: Stack, a: TownA) -> dict[str, tuple[int, str]]:
    """A's rows once the consumers have applied everything A's setup published (two equal readings in a row)."""
    last: dict[str, tuple[int, str]] = {}

    async def stable() -> dict[str, tuple[int, str]] | None:
        nonlocal last
        now = await fingerprint(stack, a)
        same, last = now == last, now
        return now if same else None

    return await eventually(stable, timeout=20, interval=0.5)


# -- the table: every operation, what town B sends, what it may answer ----------------------------------------------

READ = (200, 404)
WRITE = (404, 422)


@dataclass(frozen=True)
class Call:
    method: str
    path: str  # with {names} of A's ids
    json: Any = None
    params: dict[str, str] | None = None
    content: bytes | None = None
    headers: dict[str, str] | None = None
    expect: tuple[int, ...] = READ
    check: Callable[[dict[str, Any], TownA], None] | None = None


def _batch_lines_refused(body: dict[str, Any], a: TownA) -> None:
    assert body["report"], body
    for line in body["report"]:
        assert line["status"] == "rejected" and line["field"] == "id_number" and line["person_id"] is None, line


def _reconciled_own_town(body: dict[str, Any], a: TownA) -> None:
    assert body["hukou_division"] != TOWN_A and not body["hukou_division"].startswith(TOWN_A), body
    assert not {r["person_id"] for r in body["repairs"]} & a.secrets, body["repairs"]


def _ran_for_own_town(body: dict[str, Any], a: TownA) -> None:
    assert body["as_of"] == TODAY.isoformat()


def _compared_nothing(body: dict[str, Any], a: TownA) -> None:
    assert body["lines"] == 1 and body["matched"] == 0 and body["items"] == [], body


def _import_refused(body: dict[str, Any], a: TownA) -> None:
    assert body["counts"] == {"lines": 1, "listed": 0, "rejected": 1}, body


def _application_line(id_number: str) -> bytes:
    """One line of a caseload file: an application naming A's resident, submitted yesterday."""
    application = {"program": "dibao", "members": [{"id_number": id_number, "relation": "self"}]}
    return json.dumps({"application": application, "submitted_on": YESTERDAY}).encode() + b"\n"


def _line_not_found(body: dict[str, Any], a: TownA) -> None:
    assert body["status"] == 404 and "application_id" not in body, body


def _b_lines(a: TownA) -> bytes:
    """A partner file naming A's residents: a death, a repeated reference, a name mismatch, a move-out."""
    lines = [
        {
            "type": "death",
            "id_number": a["p_number"],
            "date_of_death": YESTERDAY,
            "source": "hospital",
            "reference": f"B-{uuid.uuid4().hex[:8]}",
        },
        {
            "type": "death",
            "id_number": a["q_number"],
            "date_of_death": YESTERDAY,
            "source": "hospital",
            "reference": a["q_reference"],
        },
        {
            "type": "death",
            "id_number": a["s_number"],
            "name": "丙某某",
            "date_of_death": YESTERDAY,
            "source": "hospital",
            "reference": f"B-{uuid.uuid4().hex[:8]}",
        },
        {
            "type": "hukou",
            "id_number": a["p_number"],
            "kind": "move_out",
            "from_division": TOWN_B,
            "to_division": "340202",
            "effective_date": YESTERDAY,
            "reference": f"B-{uuid.uuid4().hex[:8]}",
        },
    ]
    return ("\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n").encode()


def calls(a: TownA) -> dict[tuple[str, str, str], list[Call]]:
    """Every operation of every service -> what town B sends it."""
    p, s, k, q = a["p_number"], a["s_number"], a["k_number"], a["q_number"]
    ref = f"B-{uuid.uuid4().hex[:8]}"
    ndjson = {"Content-Type": "application/x-ndjson"}
    table: dict[tuple[str, str, str], list[Call]] = {
        ("registry", "POST", "/v1/persons"): [
            Call(
                "POST",
                "/v1/persons",
                {"id_number": new_id_number(), "name": "丁", "hukou_division": f"{TOWN_A}001"},
                expect=(404,),
            )
        ],
        ("registry", "GET", "/v1/persons"): [
            Call("GET", "/v1/persons", params={"id_number": p}),
            Call("GET", "/v1/persons", params={"division": TOWN_A}),
            Call("GET", "/v1/persons", params={"name": "甲"}),
            Call("GET", "/v1/persons", params={"household_id": a["household"]}),
        ],
        ("registry", "POST", "/v1/persons/search"): [
            Call("POST", "/v1/persons/search", {"id_number": p}),
            Call("POST", "/v1/persons/search", {"division": TOWN_A}),
        ],
        ("registry", "POST", "/v1/persons/snapshot"): [Call("POST", "/v1/persons/snapshot", {"person_ids": [a["p"]]})],
        ("registry", "GET", "/v1/persons/{person_id}"): [Call("GET", "/v1/persons/{p}")],
        ("registry", "GET", "/v1/persons/{person_id}/history"): [Call("GET", "/v1/persons/{p}/history")],
        ("registry", "POST", "/v1/households"): [
            Call(
                "POST",
                "/v1/households",
                {"hukou_division": f"{TOWN_A}001", "members": [{"id_number": k, "relation": "head"}]},
                expect=(404,),
            )
        ],
        ("registry", "GET", "/v1/households"): [
            Call("GET", "/v1/households"),
            Call("GET", "/v1/households", params={"division": TOWN_A}),
        ],
        ("registry", "GET", "/v1/households/{household_id}"): [Call("GET", "/v1/households/{household}")],
        ("registry", "POST", "/v1/households/{household_id}/members"): [
            Call(
                "POST",
                "/v1/households/{household}/members",
                {"id_number": k, "relation": "child", "reason": "birth"},
                expect=(404,),
            )
        ],
        ("registry", "POST", "/v1/households/{household_id}/members/{person_id}/leave"): [
            Call("POST", "/v1/households/{household}/members/{s}/leave", {"reason": "other"}, expect=(404,))
        ],
        ("registry", "POST", "/v1/households/{household_id}/split"): [
            Call(
                "POST",
                "/v1/households/{household}/split",
                {"members": [{"person_id": a["s"], "relation": "head"}]},
                expect=(404,),
            )
        ],
        ("registry", "POST", "/v1/households/{household_id}/merge"): [
            Call("POST", "/v1/households/{household}/merge", {"from_household_id": a["household2"]}, expect=(404,))
        ],
        ("registry", "POST", "/v1/deaths"): [
            Call(
                "POST",
                "/v1/deaths",
                {"id_number": p, "date_of_death": YESTERDAY, "source": "hospital", "reference": ref},
                expect=(404,),
            ),
            Call(
                "POST",
                "/v1/deaths",
                {"id_number": q, "date_of_death": YESTERDAY, "source": "hospital", "reference": a["q_reference"]},
                expect=(404,),
            ),
            Call(
                "POST",
                "/v1/deaths",
                {
                    "id_number": s,
                    "name": "丙某某",
                    "date_of_death": YESTERDAY,
                    "source": "hospital",
                    "reference": ref + "m",
                },
                expect=(404,),
            ),
        ],
        ("registry", "GET", "/v1/deaths"): [
            Call("GET", "/v1/deaths"),
            Call("GET", "/v1/deaths", params={"status": "confirmed"}),
        ],
        ("registry", "GET", "/v1/deaths/{death_id}"): [Call("GET", "/v1/deaths/{death}")],
        ("registry", "POST", "/v1/deaths/{death_id}/confirm"): [
            Call("POST", "/v1/deaths/{death}/confirm", {}, expect=(404,))
        ],
        ("registry", "POST", "/v1/deaths/{death_id}/revoke"): [
            Call("POST", "/v1/deaths/{death}/revoke", {"reason": "recorded in error"}, expect=(404,))
        ],
        ("registry", "POST", "/v1/hukou-changes"): [
            Call(
                "POST",
                "/v1/hukou-changes",
                {
                    "id_number": p,
                    "kind": "move_out",
                    "from_division": TOWN_B,
                    "to_division": "340202",
                    "effective_date": YESTERDAY,
                    "reference": ref,
                },
                expect=(404,),
            ),
            Call(
                "POST",
                "/v1/hukou-changes",
                {
                    "id_number": p,
                    "kind": "transfer",
                    "from_division": f"{TOWN_A}001",
                    "to_division": TOWN_B,
                    "effective_date": YESTERDAY,
                    "reference": ref + "t",
                },
                expect=(404,),
            ),
        ],
        ("registry", "GET", "/v1/reviews"): [
            Call("GET", "/v1/reviews"),
            Call("GET", "/v1/reviews", params={"reason_code": "name_mismatch"}),
        ],
        ("registry", "GET", "/v1/reviews/{review_id}"): [Call("GET", "/v1/reviews/{review}")],
        ("registry", "POST", "/v1/reviews/{review_id}/resolve"): [
            Call("POST", "/v1/reviews/{review}/resolve", {"action": "match", "person_id": a["p"]}, expect=(404,)),
            Call("POST", "/v1/reviews/{review}/resolve", {"action": "reject"}, expect=(404,)),
        ],
        ("registry", "POST", "/v1/intake/batches"): [
            Call(
                "POST",
                "/v1/intake/batches",
                content=_b_lines(a),
                headers=ndjson,
                params={"include_lines": "true"},
                expect=(201,),
                check=_batch_lines_refused,
            )
        ],
        ("registry", "GET", "/v1/intake/batches/{batch_id}"): [Call("GET", "/v1/intake/batches/{batch}")],
        ("registry", "GET", "/v1/intake/batches/{batch_id}/lines"): [Call("GET", "/v1/intake/batches/{batch}/lines")],
        ("registry", "POST", "/v1/marriages"): [
            Call(
                "POST",
                "/v1/marriages",
                {
                    "party_a": p,
                    "party_b": s,
                    "registered_on": "1975-05-01",
                    "registration_division": TOWN_B,
                    "certificate_no": ref,
                },
                expect=(404,),
            )
        ],
        ("registry", "GET", "/v1/marriages"): [
            Call("GET", "/v1/marriages"),
            Call("GET", "/v1/marriages", params={"person_id": a["p"]}),
        ],
        ("registry", "GET", "/v1/marriages/{marriage_id}"): [Call("GET", "/v1/marriages/{marriage}")],
        ("registry", "POST", "/v1/marriages/{marriage_id}/reissues"): [
            Call(
                "POST",
                "/v1/marriages/{marriage}/reissues",
                {
                    "kind": "marriage",
                    "applicant_id_number": p,
                    "reason": "lost",
                    "certificate_no": ref,
                    "issued_on": YESTERDAY,
                },
                expect=(404,),
            )
        ],
        ("registry", "POST", "/v1/divorces"): [
            Call(
                "POST",
                "/v1/divorces",
                {"marriage_id": a["marriage"], "divorced_on": YESTERDAY, "certificate_no": ref},
                expect=(404,),
            )
        ],
        ("registry", "POST", "/v1/adoptions"): [
            Call(
                "POST",
                "/v1/adoptions",
                {"child_id_number": k, "adopters": [p, s], "registered_on": YESTERDAY, "certificate_no": ref},
                expect=(404,),
            )
        ],
        ("registry", "POST", "/v1/milestones/run"): [
            Call("POST", "/v1/milestones/run", {"as_of": TODAY.isoformat()}, expect=(200,), check=_ran_for_own_town)
        ],
        ("assistance", "POST", "/v1/cases"): [
            Call("POST", "/v1/cases", {"id_number": p, "program": "tekun", "monthly_amount": "100.00"}, expect=(404,))
        ],
        ("assistance", "GET", "/v1/cases"): [
            Call("GET", "/v1/cases", params={"id_number": p}),
            Call("GET", "/v1/cases", params={"division": TOWN_A}),
        ],
        ("assistance", "POST", "/v1/cases/{case_id}/gradual-exit"): [
            Call("POST", "/v1/cases/{case}/gradual-exit", {"reason": "乙乙乙"}, expect=(404,))
        ],
        ("assistance", "GET", "/v1/standards"): [
            Call("GET", "/v1/standards")
        ],  # district policy figures: no one's data
        ("assistance", "POST", "/v1/standards"): [
            Call(
                "POST",
                "/v1/standards",
                {"key": "dibao.urban_standard", "value": "1.00", "effective_from": TODAY.isoformat(), "source": "x"},
                expect=WRITE,
            )
        ],
        ("assistance", "GET", "/v1/standards/changes"): [Call("GET", "/v1/standards/changes")],
        ("assistance", "GET", "/v1/one-off-subsidies"): [Call("GET", "/v1/one-off-subsidies")],  # district policy
        ("assistance", "POST", "/v1/one-off-subsidies"): [
            Call(
                "POST",
                "/v1/one-off-subsidies",
                {"program": "dibao", "month": a["month"], "amount_per_person": "1.00", "decision": "x"},
                expect=(404,),
            )
        ],
        ("eldercare", "POST", "/v1/allowances"): [Call("POST", "/v1/allowances", {"id_number": p}, expect=(404,))],
        ("eldercare", "GET", "/v1/allowances"): [
            Call("GET", "/v1/allowances", params={"id_number": p}),
            Call("GET", "/v1/allowances", params={"division": TOWN_A}),
        ],
        ("eldercare", "POST", "/v1/assessments"): [
            Call("POST", "/v1/assessments", {"id_number": p, "scores": _scores()}, expect=(404,))
        ],
        ("eldercare", "GET", "/v1/assessments"): [
            Call("GET", "/v1/assessments", params={"id_number": p}),
            Call("GET", "/v1/assessments", params={"division": TOWN_A}),
        ],
        ("eldercare", "GET", "/v1/assessments/{assessment_id}"): [Call("GET", "/v1/assessments/{assessment}")],
        ("eldercare", "POST", "/v1/institutions"): [
            Call(
                "POST",
                "/v1/institutions",
                {"name": "乙镇敬老院", "ownership": "public", "division": TOWN_A},
                expect=(404,),
            )
        ],
        ("eldercare", "GET", "/v1/institutions"): [
            Call("GET", "/v1/institutions"),
            Call("GET", "/v1/institutions", params={"division": TOWN_A}),
        ],
        ("eldercare", "GET", "/v1/institutions/occupancy"): [Call("GET", "/v1/institutions/occupancy")],
        ("eldercare", "GET", "/v1/institutions/{institution_id}"): [Call("GET", "/v1/institutions/{institution}")],
        ("eldercare", "POST", "/v1/institutions/{institution_id}/beds"): [
            Call("POST", "/v1/institutions/{institution}/beds", {"codes": ["B-9"]}, expect=(404,))
        ],
        ("eldercare", "GET", "/v1/institutions/{institution_id}/beds"): [
            Call("GET", "/v1/institutions/{institution}/beds")
        ],
        ("eldercare", "POST", "/v1/institutions/{institution_id}/admissions"): [
            Call("POST", "/v1/institutions/{institution}/admissions", {"id_number": p}, expect=(404,))
        ],
        ("eldercare", "GET", "/v1/institutions/{institution_id}/admissions"): [
            Call("GET", "/v1/institutions/{institution}/admissions")
        ],
        ("eldercare", "POST", "/v1/institutions/{institution_id}/discharges"): [
            Call(
                "POST", "/v1/institutions/{institution}/discharges", {"id_number": s, "reason": "other"}, expect=(404,)
            )
        ],
        ("eldercare", "POST", "/v1/institutions/{institution_id}/inspections"): [
            Call(
                "POST",
                "/v1/institutions/{institution}/inspections",
                {"month": TODAY.strftime("%Y-%m"), "inspected_on": TODAY.isoformat(), "inspector": "乙"},
                expect=(404,),
            )
        ],
        ("eldercare", "GET", "/v1/institutions/{institution_id}/inspections"): [
            Call("GET", "/v1/institutions/{institution}/inspections")
        ],
        ("eldercare", "POST", "/v1/institutions/{institution_id}/inspections/{inspection_id}/follow-up"): [
            Call(
                "POST",
                "/v1/institutions/{institution}/inspections/{inspection}/follow-up",
                {"done_on": TODAY.isoformat(), "note": "fixed"},
                expect=(404,),
            )
        ],
        ("assistance", "POST", "/v1/applications"): [
            Call(
                "POST",
                "/v1/applications",
                {"program": "dibao", "members": [{"id_number": s, "relation": "self"}]},
                expect=(404,),
            )
        ],
        ("assistance", "POST", "/v1/applications/batch"): [
            Call(
                "POST",
                "/v1/applications/batch",
                content=_application_line(s),
                headers=ndjson,
                expect=(200,),
                check=_line_not_found,
            )
        ],
        ("assistance", "GET", "/v1/applications"): [Call("GET", "/v1/applications")],
        ("assistance", "GET", "/v1/applications/{application_id}"): [Call("GET", "/v1/applications/{application}")],
        ("assistance", "POST", "/v1/applications/{application_id}/review"): [
            Call("POST", "/v1/applications/{application}/review", {"survey_notes": "乙"}, expect=(404,))
        ],
        ("assistance", "POST", "/v1/applications/{application_id}/objections"): [
            Call("POST", "/v1/applications/{application}/objections", {"content": "乙"}, expect=(404,))
        ],
        ("assistance", "POST", "/v1/applications/{application_id}/objections/{objection_id}/settle"): [
            Call(
                "POST",
                "/v1/applications/{application}/objections/{objection}/settle",
                {"outcome": "upheld", "settlement": "乙"},
                expect=(404,),
            )
        ],
        ("assistance", "POST", "/v1/applications/{application_id}/confirm"): [
            Call("POST", "/v1/applications/{application}/confirm", {}, expect=(404,))
        ],
        ("assistance", "POST", "/v1/applications/{application_id}/reject"): [
            Call("POST", "/v1/applications/{application}/reject", {"reason": "乙"}, expect=(404,))
        ],
        ("assistance", "GET", "/v1/applications/drafts"): [
            Call("GET", "/v1/applications/drafts", params={"id_number": k}),
            Call("GET", "/v1/applications/drafts", params={"division": TOWN_A}),
        ],
        ("assistance", "GET", "/v1/applications/drafts/{draft_id}"): [Call("GET", "/v1/applications/drafts/{draft}")],
        ("assistance", "POST", "/v1/applications/drafts/{draft_id}/submit"): [
            Call("POST", "/v1/applications/drafts/{draft}/submit", {}, expect=(404,)),
            Call(
                "POST",
                "/v1/applications/drafts/{draft}/submit",
                {"application": {"program": "dibao", "members": [{"id_number": k, "relation": "self"}]}},
                expect=(404,),
            ),
        ],
        ("assistance", "POST", "/v1/applications/drafts/{draft_id}/dismiss"): [
            Call("POST", "/v1/applications/drafts/{draft}/dismiss", {"reason": "乙"}, expect=(404,))
        ],
        ("eldercare", "POST", "/v1/providers"): [
            Call(
                "POST",
                "/v1/providers",
                {"name": "乙", "credit_code": "91340207ABCDEFGH12", "services": ["meals"]},
                expect=(404,),
            )
        ],
        ("eldercare", "GET", "/v1/providers"): [Call("GET", "/v1/providers")],
        ("eldercare", "GET", "/v1/providers/{provider_id}"): [Call("GET", "/v1/providers/{provider}")],
        ("eldercare", "POST", "/v1/providers/{provider_id}/settlements"): [
            Call("POST", "/v1/providers/{provider}/settlements", {"month": TODAY.strftime("%Y-%m")}, expect=(404,))
        ],
        ("eldercare", "GET", "/v1/providers/{provider_id}/settlements"): [
            Call("GET", "/v1/providers/{provider}/settlements")
        ],
        ("eldercare", "POST", "/v1/service-orders"): [
            Call(
                "POST",
                "/v1/service-orders",
                {
                    "id_number": p,
                    "provider_id": a["provider"],
                    "service": "meals",
                    "scheduled_on": TODAY.isoformat(),
                    "amount": "5.00",
                },
                expect=(404,),
            )
        ],
        ("eldercare", "GET", "/v1/service-orders"): [Call("GET", "/v1/service-orders")],
        ("eldercare", "GET", "/v1/service-orders/{order_id}"): [Call("GET", "/v1/service-orders/{order}")],
        ("eldercare", "POST", "/v1/service-orders/{order_id}/delivery"): [
            Call(
                "POST",
                "/v1/service-orders/{order}/delivery",
                {
                    "started_at": f"{TODAY.isoformat()}T09:00:00+08:00",
                    "ended_at": f"{TODAY.isoformat()}T10:00:00+08:00",
                },
                expect=(404,),
            )
        ],
        ("eldercare", "POST", "/v1/service-orders/{order_id}/cancel"): [
            Call("POST", "/v1/service-orders/{order}/cancel", {"reason": "乙"}, expect=(404,))
        ],
        ("eldercare", "GET", "/v1/rosters/insurance"): [
            Call("GET", "/v1/rosters/insurance", params={"as_of": TODAY.isoformat()}),
            Call("GET", "/v1/rosters/insurance", params={"as_of": TODAY.isoformat(), "format": "csv"}),
        ],
        ("eldercare", "GET", "/v1/elders"): [
            Call("GET", "/v1/elders"),
            Call("GET", "/v1/elders", params={"division": TOWN_A}),
        ],
        ("eldercare", "POST", "/v1/allowances/discover"): [
            Call("POST", "/v1/allowances/discover", {"as_of": TODAY.isoformat()}, expect=(404,))
        ],
        ("eldercare", "POST", "/v1/payrolls"): [Call("POST", "/v1/payrolls", {"month": a["month"]}, expect=(404,))],
        ("eldercare", "GET", "/v1/payrolls"): [Call("GET", "/v1/payrolls", params={"month": a["month"]})],
        ("eldercare", "GET", "/v1/payrolls/{payroll_id}"): [Call("GET", "/v1/payrolls/{payroll}")],
        ("eldercare", "GET", "/v1/payrolls/{payroll_id}/lines"): [
            Call("GET", "/v1/payrolls/{payroll}/lines", params={"id_number": p}),
        ],
        ("eldercare", "GET", "/v1/payrolls/{payroll_id}/export"): [Call("GET", "/v1/payrolls/{payroll}/export")],
        ("eldercare", "GET", "/v1/overpayments"): [
            Call("GET", "/v1/overpayments"),
            Call("GET", "/v1/overpayments", params={"id_number": q}),
        ],
        ("eldercare", "POST", "/v1/overpayments/{overpayment_id}/recover"): [
            Call("POST", "/v1/overpayments/{overpayment}/recover", {"note": "乙"}, expect=(404,))
        ],
        ("eldercare", "POST", "/v1/overpayments/{overpayment_id}/write-off"): [
            Call("POST", "/v1/overpayments/{overpayment}/write-off", expect=(404,))
        ],
        ("assistance", "POST", "/v1/payrolls"): [Call("POST", "/v1/payrolls", {"month": a["month"]}, expect=(404,))],
        ("assistance", "GET", "/v1/payrolls"): [Call("GET", "/v1/payrolls", params={"month": a["month"]})],
        ("assistance", "GET", "/v1/payrolls/{payroll_id}"): [Call("GET", "/v1/payrolls/{payroll}")],
        ("assistance", "GET", "/v1/payrolls/{payroll_id}/lines"): [
            Call("GET", "/v1/payrolls/{payroll}/lines"),
            Call("GET", "/v1/payrolls/{payroll}/lines", params={"id_number": p}),
        ],
        ("assistance", "GET", "/v1/payrolls/{payroll_id}/export"): [Call("GET", "/v1/payrolls/{payroll}/export")],
        ("assistance", "GET", "/v1/overpayments"): [
            Call("GET", "/v1/overpayments"),
            Call("GET", "/v1/overpayments", params={"id_number": q}),
        ],
        ("assistance", "POST", "/v1/overpayments/{overpayment_id}/recover"): [
            Call("POST", "/v1/overpayments/{overpayment}/recover", {"note": "乙"}, expect=(404,))
        ],
        ("assistance", "POST", "/v1/overpayments/{overpayment_id}/write-off"): [
            Call("POST", "/v1/overpayments/{overpayment}/write-off", expect=(404,))
        ],
        ("monitoring", "GET", "/v1/records"): [
            Call("GET", "/v1/records", params={"id_number": q}),
            Call("GET", "/v1/records", params={"division": TOWN_A}),
        ],
        ("monitoring", "GET", "/v1/alerts"): [
            Call("GET", "/v1/alerts", params={"id_number": q}),
            Call("GET", "/v1/alerts"),
        ],
        ("monitoring", "POST", "/v1/alerts/{alert_id}/assign"): [
            Call("POST", "/v1/alerts/{alert}/assign", {"assignee": "乙"}, expect=(404,))
        ],
        ("monitoring", "POST", "/v1/alerts/{alert_id}/resolve"): [
            Call("POST", "/v1/alerts/{alert}/resolve", {"resolution": "乙"}, expect=(404,))
        ],
        ("monitoring", "POST", "/v1/alerts/{alert_id}/comments"): [
            Call("POST", "/v1/alerts/{alert}/comments", {"text": "乙"}, expect=(404,))
        ],
        ("monitoring", "GET", "/v1/alerts/{alert_id}/comments"): [Call("GET", "/v1/alerts/{alert}/comments")],
        ("monitoring", "GET", "/v1/records/{record_id}/history"): [Call("GET", "/v1/records/{record}/history")],
        ("monitoring", "GET", "/v1/households/{household_id}"): [Call("GET", "/v1/households/{household}")],
        ("monitoring", "GET", "/v1/settings/warnings"): [Call("GET", "/v1/settings/warnings", expect=(200,))],
        ("monitoring", "POST", "/v1/settings/warnings"): [
            Call(
                "POST",
                "/v1/settings/warnings",
                {
                    "effective_from": "2098-01-01",
                    "dibao_standard": "1.00",
                    "marginal_multiplier": "1.5",
                    "medical_expense_threshold": "1.00",
                    "source": "乙",
                },
                expect=(404,),
            )
        ],
        ("monitoring", "POST", "/v1/warnings/run"): [
            Call("POST", "/v1/warnings/run", {"as_of": TODAY.isoformat()}, expect=(200,))
        ],
        ("monitoring", "POST", "/v1/imports"): [
            Call(
                "POST",
                "/v1/imports",
                params={"kind": "marginal", "reference": f"B-{uuid.uuid4().hex[:8]}"},
                content=f"id_number\n{a['p_number']}\n".encode(),
                headers={"content-type": "text/csv"},
                expect=(201,),
                check=_import_refused,
            )
        ],
        ("monitoring", "GET", "/v1/stats"): [Call("GET", "/v1/stats")],
        ("monitoring", "POST", "/v1/comparisons"): [
            Call(
                "POST",
                "/v1/comparisons",
                params={"source": "cremation"},
                content=f"id_number\n{a['q_number']}\n".encode(),
                headers={"content-type": "text/csv"},
                expect=(201,),
                check=_compared_nothing,
            )
        ],
        ("monitoring", "GET", "/v1/comparisons/{comparison_id}"): [
            Call("GET", "/v1/comparisons/{alert}", expect=(404,))  # an id of A's (a comparison of B's is B's own)
        ],
        ("monitoring", "POST", "/v1/reconciliations"): [
            Call("POST", "/v1/reconciliations", expect=(201,), check=_reconciled_own_town)
        ],
        ("monitoring", "GET", "/v1/reconciliations"): [Call("GET", "/v1/reconciliations")],
        ("monitoring", "GET", "/v1/leads"): [
            Call("GET", "/v1/leads", params={"id_number": q}),
            Call("GET", "/v1/leads", params={"division": TOWN_A}),
        ],
        ("monitoring", "GET", "/v1/leads/{lead_id}"): [Call("GET", "/v1/leads/{alert}", expect=(404,))],
        ("monitoring", "GET", "/v1/reconciliations/{reconciliation_id}"): [
            Call("GET", "/v1/reconciliations/{alert}", expect=(404,))  # an id of A's kind (B's own are B's)
        ],
    }
    for service in SERVICES:
        for path in PUBLIC:
            table[(service, "GET", path)] = [Call("GET", path, expect=(200, 503))]  # not ready is an answer too
    return table


def operations(stack: Stack) -> set[tuple[str, str, str]]:
    return {
        (service, method.upper(), path)
        for service in SERVICES
        for path, ops in stack[service].app.openapi()["paths"].items()
        for method in ops
    }


@pytest.fixture(scope="module")
async def town_a(stack: Stack) -> TownA:
    a = TownA()
    await _registry_data(stack, a)
    await _downstream_data(stack, a)
    return a


async def test_every_operation_has_a_jurisdiction_case(stack: Stack) -> None:
    """A route added without a line in `calls()` fails here: it must say what another town may get from it."""
    listed = set(calls(TownA({name: str(uuid.uuid4()) for name in _NAMES})))
    assert operations(stack) - listed == set(), "operations without a jurisdiction case"
    assert listed - operations(stack) == set(), "cases for operations that no longer exist"


_NAMES = (
    "p",
    "s",
    "k",
    "q",
    "p_number",
    "s_number",
    "k_number",
    "q_number",
    "household",
    "household2",
    "marriage",
    "q_reference",
    "death",
    "death_report",
    "review",
    "batch",
    "case",
    "q_case",
    "allowance",
    "institution",
    "bed",
    "admission",
    "inspection",
    "assessment",
    "alert",
    "record",
    "p_name",
    "s_name",
    "k_name",
    "q_name",
    "application",
    "objection",
    "provider",
    "order",
    "month",
    "payroll",
    "p_line",
    "overpayment",
)


async def test_another_town_reads_nothing_and_writes_nothing_of_a_town_through_any_route(
    stack: Stack, town_a: TownA
) -> None:
    a = town_a
    before = await settled(stack, a)
    assert before["registry.persons"][0] == 4 and before["eldercare.admissions"][0] == 1, (
        before
    )  # the fingerprint sees A's rows
    b = staff_of(TOWN_B)
    failures: list[str] = []
    for (service, _method, _path), cases in sorted(calls(a).items()):
        async with stack[service].client() as c:
            for call in cases:
                path = call.path.format(**a.ids)
                headers = {**b, **(call.headers or {})}
                r = await c.request(
                    call.method, path, json=call.json, params=call.params, content=call.content, headers=headers
                )
                sent = (
                    path + json.dumps(call.json, ensure_ascii=False) + str(call.params) + (call.content or b"").decode()
                )
                failures += _judge(call, r, a, sent=sent)
    assert not failures, "\n".join(failures)
    after = await fingerprint(stack, a)
    changed = {t: (before.get(t), after.get(t)) for t in set(before) | set(after) if before.get(t) != after.get(t)}
    assert not changed, f"town B changed A's rows: {changed}"


def _judge(call: Call, r: httpx.Response, a: TownA, *, sent: str) -> list[str]:
    """What is wrong with one answer to town B (nothing, when it is right)."""
    where = f"{call.method} {call.path} {call.params or ''}"
    wrong = []
    if r.status_code not in call.expect:
        wrong.append(f"{where}: {r.status_code}, expected {call.expect}: {r.text[:300]}")
    leaked = sorted(s for s in a.secrets if s in r.text and s not in sent)
    if leaked:
        wrong.append(f"{where}: the answer carries A's {leaked}")
    if call.method == "GET" and call.path not in PUBLIC and f'"{TOWN_A}' in r.text:
        wrong.append(f"{where}: the answer carries a row of division {TOWN_A}")
    if call.check is not None and not wrong:
        try:
            call.check(r.json(), a)
        except AssertionError as exc:
            wrong.append(f"{where}: {exc}")
    return wrong


# -- the findings of the probe, each as its own case --------------------------------------------------------------


async def test_a_repeated_death_report_from_another_town_reveals_nothing(stack: Stack, town_a: TownA) -> None:
    a = town_a
    async with stack["registry"].client() as c:
        c.headers.update(staff_of(TOWN_B))
        own = new_id_number()
        assert (
            await c.post("/v1/persons", json={"id_number": own, "name": "乙居民", "hukou_division": f"{TOWN_B}001"})
        ).status_code == 201
        same = await c.post(
            "/v1/deaths",
            json={
                "id_number": a["q_number"],
                "date_of_death": YESTERDAY,
                "source": "hospital",
                "reference": a["q_reference"],
            },
        )
        assert same.status_code == 404 and not [
            s for s in a.secrets - {a["q_number"], a["q_reference"]} if s in same.text
        ], same.text
        # The same reference naming B's own resident: refused as another report's, without a word of it.
        other = await c.post(
            "/v1/deaths",
            json={"id_number": own, "date_of_death": YESTERDAY, "source": "hospital", "reference": a["q_reference"]},
        )
        assert other.status_code == 409 and not [s for s in a.secrets - {a["q_reference"]} if s in other.text], (
            other.text
        )
    async with stack["registry"].client() as c:  # A itself still gets the duplicate answer, with the death
        c.headers.update(staff_of(TOWN_A))
        again = _ok(
            await c.post(
                "/v1/deaths",
                json={
                    "id_number": a["q_number"],
                    "date_of_death": YESTERDAY,
                    "source": "hospital",
                    "reference": a["q_reference"],
                },
            ),
            200,
        )
        assert again["outcome"] == "duplicate" and again["death_id"] == a["death"]


async def test_a_name_mismatch_from_another_town_shows_neither_the_name_on_file_nor_the_person(
    stack: Stack, town_a: TownA
) -> None:
    a = town_a
    async with stack["registry"].client() as c:
        c.headers.update(staff_of(TOWN_B))
        r = await c.post(
            "/v1/deaths",
            json={
                "id_number": a["s_number"],
                "name": "丙某某",
                "date_of_death": YESTERDAY,
                "source": "hospital",
                "reference": f"NM-{uuid.uuid4().hex[:8]}",
            },
        )
        assert r.status_code == 404 and a["s_name"] not in r.text and a["s"] not in r.text, r.text
        line = json.dumps(
            {
                "type": "death",
                "id_number": a["s_number"],
                "name": "丙某某",
                "date_of_death": YESTERDAY,
                "source": "hospital",
                "reference": f"NM-{uuid.uuid4().hex[:8]}",
            }
        )
        r = await c.post(
            "/v1/intake/batches",
            content=(line + "\n").encode(),
            headers={"Content-Type": "application/x-ndjson"},
            params={"include_lines": True},
        )
        [report] = _ok(r, 201)["report"]
        assert (
            report["status"] == "rejected"
            and report["person_id"] is None
            and a["s_name"] not in r.text
            and a["s"] not in r.text
        ), report
        lines = _ok(await c.get(f"/v1/intake/batches/{r.json()['batch_id']}/lines"), 200)
        assert a["s_name"] not in json.dumps(lines, ensure_ascii=False) and a["s"] not in json.dumps(lines)


async def test_a_town_cannot_move_another_towns_resident_whatever_divisions_it_declares(stack: Stack) -> None:
    async with stack["registry"].client() as c:
        c.headers.update(hq())
        number = new_id_number()
        pid = _ok(
            await c.post("/v1/persons", json={"id_number": number, "name": "甲迁", "hukou_division": f"{TOWN_A}003"}),
            201,
        )["person_id"]
    async with stack["registry"].client() as c:
        c.headers.update(staff_of(TOWN_B))
        for kind, frm, to in (
            ("move_out", TOWN_B, "340202"),
            ("transfer", TOWN_B, f"{TOWN_B}001"),
            ("transfer", f"{TOWN_A}003", TOWN_B),
        ):
            r = await c.post(
                "/v1/hukou-changes",
                json={
                    "id_number": number,
                    "kind": kind,
                    "from_division": frm,
                    "to_division": to,
                    "effective_date": YESTERDAY,
                    "reference": f"MV-{uuid.uuid4().hex[:8]}",
                },
            )
            assert r.status_code == 404 and pid not in r.text, r.text
    async with stack["registry"].client() as c:
        c.headers.update(staff_of(TOWN_A))  # A moves its resident out of the district ...
        r = await c.post(
            "/v1/hukou-changes",
            json={
                "id_number": number,
                "kind": "move_out",
                "from_division": f"{TOWN_A}003",
                "to_division": "340202",
                "effective_date": (TODAY - timedelta(days=20)).isoformat(),
                "reference": f"MV-{uuid.uuid4().hex[:8]}",
            },
        )
        assert r.status_code == 201, r.text
    async with stack["registry"].client() as c:
        c.headers.update(staff_of(TOWN_B))  # ... and B may then take them in: a move-in from elsewhere
        move_in = {
            "id_number": number,
            "kind": "move_in",
            "from_division": "340202",
            "to_division": f"{TOWN_B}001",
            "effective_date": (TODAY - timedelta(days=12)).isoformat(),
        }
        misnamed = await c.post(
            "/v1/hukou-changes", json={**move_in, "name": "乙某某", "reference": f"MV-{uuid.uuid4().hex[:8]}"}
        )
        assert misnamed.status_code == 202 and misnamed.json()["outcome"] == "review", misnamed.text
        assert "甲迁" not in misnamed.text and pid not in misnamed.text  # not the name on file, not the person
        r = await c.post(
            "/v1/hukou-changes",
            json={
                "id_number": number,
                "kind": "move_in",
                "from_division": "340202",
                "to_division": f"{TOWN_B}001",
                "effective_date": (TODAY - timedelta(days=10)).isoformat(),
                "reference": f"MV-{uuid.uuid4().hex[:8]}",
            },
        )
        assert r.status_code == 201 and r.json()["hukou_division"] == f"{TOWN_B}001", r.text
        assert _ok(await c.get(f"/v1/persons/{pid}"), 200)["in_district"] is True


async def test_a_waiting_report_applies_on_registration_only_when_its_sender_covers_the_registration(
    stack: Stack,
) -> None:
    from_b, from_a = new_id_number(), new_id_number()
    async with stack["registry"].client() as c:
        c.headers.update(staff_of(TOWN_B))
        r = await c.post(
            "/v1/deaths",
            json={"id_number": from_b, "date_of_death": YESTERDAY, "source": "hospital", "reference": f"W-{from_b}"},
        )
        assert r.status_code == 202 and r.json()["outcome"] == "pending", r.text
    async with stack["registry"].client() as c:
        c.headers.update(staff_of(TOWN_A))
        r = await c.post(
            "/v1/deaths",
            json={"id_number": from_a, "date_of_death": YESTERDAY, "source": "hospital", "reference": f"W-{from_a}"},
        )
        assert r.status_code == 202 and r.json()["outcome"] == "pending", r.text
        b_person = _ok(
            await c.post("/v1/persons", json={"id_number": from_b, "name": "甲等", "hukou_division": f"{TOWN_A}001"}),
            201,
        )
        a_person = _ok(
            await c.post("/v1/persons", json={"id_number": from_a, "name": "甲候", "hukou_division": f"{TOWN_A}001"}),
            201,
        )
        assert _ok(await c.get(f"/v1/persons/{b_person['person_id']}"), 200)["status"] == "alive"  # B does not cover A
        assert _ok(await c.get(f"/v1/persons/{a_person['person_id']}"), 200)["status"] == "deceased"  # A covers itself
        kept = _ok(await c.get("/v1/reviews", params={"reason_code": "out_of_division", "limit": 500}), 200)["items"]
        [item] = [i for i in kept if i["reference"] == f"W-{from_b}"]
        assert (
            item["candidate_person_id"] == b_person["person_id"]
            and item["hukou_division"] == f"{TOWN_A}001"
            and item["status"] == "open"
        )
        # A registrar of A decides: the report is about their resident.
        r = await c.post(
            f"/v1/reviews/{item['review_id']}/resolve", json={"action": "match", "person_id": b_person["person_id"]}
        )
        assert r.status_code == 200 and r.json()["status"] == "matched", r.text
        assert _ok(await c.get(f"/v1/persons/{b_person['person_id']}"), 200)["status"] == "deceased"


@pytest.mark.parametrize(
    ("service", "path", "body"),
    [
        ("assistance", "/v1/cases", {"program": "dibao", "monthly_amount": "780.00"}),
        ("eldercare", "/v1/allowances", {}),
    ],
)
async def test_enrolling_another_towns_resident_answers_exactly_like_an_unknown_number(
    stack: Stack, town_a: TownA, service: str, path: str, body: dict[str, str]
) -> None:
    unknown = new_id_number(min_age=81, max_age=90)
    async with stack[service].client() as c:
        c.headers.update(staff_of(TOWN_B))
        elsewhere = await c.post(path, json={**body, "id_number": town_a["p_number"]})
        nobody = await c.post(path, json={**body, "id_number": unknown})
    assert elsewhere.status_code == nobody.status_code == 404
    strip = ("instance", "request_id", "trace_id")
    assert {k: v for k, v in elsewhere.json().items() if k not in strip} == {
        k: v for k, v in nobody.json().items() if k not in strip
    }


def test_the_rule_a_division_covers_itself_and_what_lies_under_it() -> None:
    assert (
        divisions.covers(divisions.DISTRICT, f"{TOWN_A}001")
        and divisions.covers(TOWN_A, TOWN_A)
        and divisions.covers(TOWN_A, f"{TOWN_A}001")
    )
    assert (
        not divisions.covers(TOWN_A, TOWN_B)
        and not divisions.covers(f"{TOWN_A}001", TOWN_A)
        and not divisions.covers(TOWN_A, None)
    )
    assert not divisions.covers(TOWN_A, "340207010001") and not divisions.covers("340207010", f"{TOWN_A}001")
    assert divisions.covers(None, TOWN_B)  # the platform's own work (consumers, the daily run) is district-wide


async def test_the_session_filter_scopes_orm_updates_and_deletes_too(stack: Stack, town_a: TownA) -> None:
    """A statement that forgot its division check still cannot reach another town's rows."""
    from sqlalchemy import delete, select, update

    from services.registry.models import Household, Person

    async with stack["registry"].state.sessionmaker() as s:
        s.info["division"] = TOWN_B
        assert (await s.execute(select(Person).where(Person.id == uuid.UUID(town_a["p"])))).first() is None
        changed = await s.execute(update(Person).where(Person.id == uuid.UUID(town_a["p"])).values(name="乙改"))
        removed = await s.execute(delete(Household).where(Household.id == uuid.UUID(town_a["household2"])))
        assert changed.rowcount == 0 and removed.rowcount == 0  # type: ignore[attr-defined]
        s.info["division"] = TOWN_A  # the same statement from A reaches its own row
        mine = await s.execute(update(Person).where(Person.id == uuid.UUID(town_a["p"])).values(name="甲改"))
        assert mine.rowcount == 1  # type: ignore[attr-defined]
        await s.rollback()
