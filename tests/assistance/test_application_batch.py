"""POST /v1/applications/batch: a caseload taken on by the single path's rules, each step on its date."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from tests.assistance.test_applications import dibao_application, family, next_month, sql
from tests.support import Stack, token

TOWN = "340207003"


def line(application: dict[str, Any], submitted: date, reviewed: date | None, confirmed: date | None) -> bytes:
    body: dict[str, Any] = {"application": application, "submitted_on": submitted.isoformat()}
    if reviewed:
        body["reviewed_on"] = reviewed.isoformat()
    if confirmed:
        body["confirmed_on"] = confirmed.isoformat()
    return json.dumps(body).encode() + b"\n"


async def test_a_caseload_is_taken_on_line_by_line_by_the_rules_of_the_single_path(stack: Stack) -> None:
    today = date.today()
    reviewed, confirmed = today - timedelta(days=10), today - timedelta(days=2)
    clerk = token(sub="guandou-clerk", division=TOWN)
    async with stack["registry"].client() as reg, stack["assistance"].client(clerk) as c:
        first, second = await family(reg), await family(reg)
        body = b"".join(
            [
                line(dibao_application(first), reviewed, reviewed, confirmed),
                line(dibao_application(first), reviewed, reviewed, confirmed),  # the same household again
                line(dibao_application(second), today - timedelta(days=3), today - timedelta(days=3), today),
                b"{not json\n",
                line(dibao_application(second), today, today, today + timedelta(days=8)),
            ]
        )
        r = await c.post("/v1/applications/batch", content=body, headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 200, r.text
    answers = [json.loads(x) for x in r.text.splitlines()]
    assert [a["line"] for a in answers] == [1, 2, 3, 4, 5]
    assert [a["status"] for a in answers] == [201, 422, 409, 422, 422], answers
    done = answers[0]
    # The worked example of test_applications: the same assessment as the single path.
    assert (done["application_status"], done["eligible"], done["monthly_total"]) == ("confirmed", True, "1790.01")
    assert done["paid_from"] == next_month(confirmed).isoformat()
    assert "public notice runs until" in answers[2]["detail"]
    assert "after today" in answers[4]["detail"]
    steps = await sql(
        stack,
        "SELECT step, actor FROM application_steps WHERE application_id = :id ORDER BY id",
        id=done["application_id"],
    )
    assert steps == [
        ("submitted", "guandou-clerk"),
        ("reviewed", "guandou-clerk"),
        ("notice_started", "guandou-clerk"),
        ("confirmed", "guandou-clerk"),
    ]
    dates = await sql(
        stack,
        "SELECT submitted_on, notice_from, notice_until, confirmed_on FROM applications WHERE id = :id",
        id=done["application_id"],
    )
    assert dates == [(reviewed, reviewed, reviewed + timedelta(days=7), confirmed)]
    cases = await sql(
        stack, "SELECT count(*), min(started_on) FROM cases WHERE application_id = :id", id=done["application_id"]
    )
    assert cases == [(3, next_month(confirmed))]
    refused = await sql(
        stack,
        "SELECT count(*) FROM applications WHERE applicant_id_number = :n",
        n=second[0],
    )
    assert refused == [(0,)], "a refused line leaves nothing behind"
