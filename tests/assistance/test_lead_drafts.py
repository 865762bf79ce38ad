"""Monitoring's leads become draft applications in assistance, on the real broker: nobody retypes them.

A lead raised in monitoring (income under the standard) arrives as a draft of
the household's town; a caseworker there submits it into the normal workflow,
staff of another town neither see nor decide it. The same lead twice gives one
draft; a lead whose program is already covered for the person is kept as
covered, naming what covers it; a caseworker may dismiss a draft instead.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from shared import event_types as ev
from shared.events import envelope
from tests.monitoring.test_dynamic_record import income
from tests.support import Stack, eventually, new_id_number, produce, token

TOWN = "340207005"
COMMUNITY = f"{TOWN}004"


def staff_of(division: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(sub=f'caseworker-{division}', division=division)}"}


async def _registered(stack: Stack, *numbers: str) -> None:
    async with stack["registry"].client() as reg:
        for n in numbers:
            r = await reg.post("/v1/persons", json={"id_number": n, "name": "孙家人", "hukou_division": COMMUNITY})
            assert r.status_code == 201, r.text


async def _drafts(a: httpx.AsyncClient, n: str, **params: str) -> list[dict[str, Any]]:
    r = await a.get("/v1/applications/drafts", params={"id_number": n, **params})
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def test_a_lead_raised_in_monitoring_is_a_draft_a_caseworker_of_the_town_submits_into_the_workflow(
    stack: Stack,
) -> None:
    poor = new_id_number()
    await _registered(stack, poor)
    async with stack["monitoring"].client() as m:  # monitoring knows the person before the income arrives
        await eventually(lambda: _known(m, poor))
    await produce(stack.infra.broker.bootstrap, "partner.income.v1", income(poor, "300.00"), key=poor)
    async with stack["assistance"].client() as a, stack["monitoring"].client() as m:
        (draft,) = await eventually(lambda: _drafts(a, poor, status="open"), timeout=15)
        (lead,) = (await m.get("/v1/leads", params={"id_number": poor})).json()["items"]
        assert draft["lead_id"] == lead["lead_id"] and draft["application"] == lead["application"]
        assert (draft["reason"], draft["program"], draft["hukou_division"]) == (
            "income_below_standard",
            "dibao",
            COMMUNITY,
        )

        other = staff_of("340207001")
        assert (await a.get("/v1/applications/drafts", params={"id_number": poor}, headers=other)).json()["items"] == []
        assert (await a.get(f"/v1/applications/drafts/{draft['id']}", headers=other)).status_code == 404
        refused = await a.post(f"/v1/applications/drafts/{draft['id']}/submit", json={}, headers=other)
        assert refused.status_code == 404, refused.text

        caseworker = staff_of(TOWN)
        r = await a.post(f"/v1/applications/drafts/{draft['id']}/submit", json={"note": "visited"}, headers=caseworker)
        assert r.status_code == 201, r.text
        app = r.json()
        assert (app["program"], app["status"], app["hukou_division"]) == ("dibao", "submitted", COMMUNITY)
        assert [s["step"] for s in app["steps"]] == ["submitted", "from_lead"]
        assert lead["lead_id"] in app["steps"][1]["note"]

        decided = (await a.get(f"/v1/applications/drafts/{draft['id']}", headers=caseworker)).json()
        assert (decided["status"], decided["application_id"]) == ("submitted", app["id"])
        assert decided["decided_by"] == f"caseworker-{TOWN}" and decided["decision_note"] == "visited"
        again = await a.post(f"/v1/applications/drafts/{draft['id']}/submit", json={}, headers=caseworker)
        assert again.status_code == 409, again.text

        reviewed = await a.post(f"/v1/applications/{app['id']}/review", json={"survey_notes": "as declared"})
        assert reviewed.status_code == 200 and reviewed.json()["status"] == "notice", reviewed.text


async def _known(m: httpx.AsyncClient, n: str) -> bool:
    return bool((await m.get("/v1/records", params={"id_number": n})).json()["items"])


def _lead(person: uuid.UUID, n: str, program: str = "dibao", lead_id: uuid.UUID | None = None) -> ev.LeadRaised:
    application = {"program": program, "members": [{"id_number": n, "relation": "self", "incomes": []}]}
    return ev.LeadRaised(
        person_id=person, id_number=n, hukou_division=COMMUNITY, lead_id=lead_id or uuid.uuid4(),
        reason="income_below_standard", program=program, summary="per-capita income under the standard",
        figures={"per_capita_income": "300.00"}, application=application,
    )  # fmt: skip


async def _raise(stack: Stack, *leads: ev.LeadRaised) -> None:
    """Leads as monitoring publishes them, each in an event of its own (a repeat is a new event id)."""
    for lead in leads:
        event = envelope(service="monitoring", type="monitoring.lead.raised", subject=str(lead.person_id), data=lead)
        await produce(stack.infra.broker.bootstrap, ev.MONITORING_LOW_INCOME, event, key=lead.id_number)


async def test_the_same_lead_twice_is_one_draft_and_a_covered_program_is_recorded_as_covered(stack: Stack) -> None:
    fresh, on_dibao = new_id_number(), new_id_number()
    await _registered(stack, fresh, on_dibao)
    async with stack["assistance"].client() as a:
        r = await a.post("/v1/cases", json={"id_number": on_dibao, "program": "dibao", "monthly_amount": "500.00"})
        assert r.status_code == 201, r.text
        case_id, on_dibao_person = r.json()["case_id"], uuid.UUID(r.json()["person_id"])
        fresh_person = uuid.uuid4()  # the draft keeps the person the lead names
        first = _lead(fresh_person, fresh)
        await _raise(stack, first, first)
        await eventually(lambda: _drafts(a, fresh))
        await _raise(stack, first, _lead(fresh_person, fresh), _lead(on_dibao_person, on_dibao))

        async def recorded() -> list[dict[str, Any]] | None:
            drafts = await _drafts(a, fresh) + await _drafts(a, on_dibao)
            return drafts if len(drafts) == 3 else None

        drafts = {(d["id_number"], d["status"]): d for d in await eventually(recorded, timeout=10)}
        opened = drafts[(fresh, "open")]
        assert opened["lead_id"] == str(first.lead_id)
        assert drafts[(fresh, "covered")]["covered_by"] == f"draft {opened['id']}"
        assert drafts[(on_dibao, "covered")]["covered_by"] == f"case {case_id}"

        masked = {"Authorization": f"Bearer {token(scopes='assistance:read assistance:write')}"}
        seen = (await a.get(f"/v1/applications/drafts/{opened['id']}", headers=masked)).json()
        assert fresh not in str(seen) and seen["id_number"].endswith(fresh[-4:])

        refused = await a.post(f"/v1/applications/drafts/{opened['id']}/dismiss", json={"reason": ""})
        assert refused.status_code == 422, refused.text
        r = await a.post(f"/v1/applications/drafts/{opened['id']}/dismiss", json={"reason": "income is seasonal"})
        assert r.status_code == 200 and r.json()["status"] == "dismissed", r.text
        assert (await a.post(f"/v1/applications/drafts/{opened['id']}/submit", json={})).status_code == 409
        assert await _drafts(a, fresh, status="open") == []


async def test_a_household_that_applies_directly_closes_its_open_draft_of_the_program(stack: Stack) -> None:
    n = new_id_number()
    async with stack["registry"].client() as reg:
        r = await reg.post("/v1/persons", json={"id_number": n, "name": "孙家人", "hukou_division": COMMUNITY})
        assert r.status_code == 201, r.text
        person = uuid.UUID(r.json()["person_id"])
    await _raise(stack, _lead(person, n), _lead(person, n, program="temporary"))
    async with stack["assistance"].client() as a:

        async def both_open() -> dict[str, dict[str, Any]] | None:
            drafts = {d["program"]: d for d in await _drafts(a, n, status="open")}
            return drafts if len(drafts) == 2 else None

        drafts = await eventually(both_open, timeout=15)
        body = {"program": "dibao", "members": [{"id_number": n, "relation": "self", "incomes": []}]}
        r = await a.post("/v1/applications", json=body, headers=staff_of(TOWN))
        assert r.status_code == 201, r.text
        app_id = r.json()["id"]

        closed = (await a.get(f"/v1/applications/drafts/{drafts['dibao']['id']}")).json()
        assert (closed["status"], closed["application_id"]) == ("dismissed", app_id)
        assert closed["decision_note"] == f"superseded by application {app_id}"
        assert closed["decided_by"] == f"caseworker-{TOWN}"
        other_program = (await a.get(f"/v1/applications/drafts/{drafts['temporary']['id']}")).json()
        assert other_program["status"] == "open"  # only the program applied for is answered
        assert (await a.post(f"/v1/applications/drafts/{drafts['dibao']['id']}/submit", json={})).status_code == 409
