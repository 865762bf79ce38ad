"""Bad input gets a 4xx problem naming the field, and nothing is written."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import httpx
import pytest
from sqlalchemy import text

from shared import identity
from tests.support import Stack, new_id_number, token


async def _counts(stack: Stack) -> dict[str, int]:
    async with stack["registry"].state.sessionmaker() as s:
        counts = (
            "SELECT (SELECT count(*) FROM persons), (SELECT count(*) FROM death_reports),"
            " (SELECT count(*) FROM deaths), (SELECT count(*) FROM outbox)"
        )
        row = (await s.execute(text(counts))).one()
    return dict(zip(("persons", "death_reports", "deaths", "outbox"), row, strict=True))


def _fields(problem: dict) -> set[str]:
    return {e["field"] for e in problem.get("errors") or []}


BAD_PERSONS = [
    (
        {"id_number": "340207194005011239", "name": "王", "hukou_division": "340207001"},
        "id_number",
    ),  # wrong check digit
    ({"id_number": "340207194013011231", "name": "王", "hukou_division": "340207001"}, "id_number"),  # month 13
    ({"id_number": "34020719400501123", "name": "王", "hukou_division": "340207001"}, "id_number"),  # 17 characters
    (
        {"id_number": identity.make("340207", date(1950, 1, 1), 11), "name": "王", "hukou_division": "340299001"},
        "hukou_division",
    ),
    ({"id_number": identity.make("340207", date(1950, 1, 1), 12), "hukou_division": "340207001"}, "name"),
    (
        {
            "id_number": identity.make("340207", date(1950, 1, 1), 13),
            "name": "王",
            "hukou_division": "340207001",
            "sex": "F",
        },
        "sex",
    ),
    (
        {
            "id_number": identity.make("340207", date(1950, 1, 1), 15),
            "name": "王",
            "hukou_division": "340207001",
            "birth_date": "1950-01-02",
        },
        "birth_date",
    ),
]


@pytest.mark.parametrize(("body", "field"), BAD_PERSONS)
async def test_bad_person_is_refused_naming_the_field_and_nothing_is_written(
    stack: Stack, body: dict, field: str
) -> None:
    before = await _counts(stack)
    async with stack["registry"].client() as c:
        r = await c.post("/v1/persons", json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["status"] == 422 and problem["title"]
    assert field in _fields(problem), problem
    assert await _counts(stack) == before


async def test_date_of_death_in_the_future_is_refused(stack: Stack) -> None:
    n = new_id_number()
    async with stack["registry"].client() as c:
        assert (
            await c.post("/v1/persons", json={"id_number": n, "name": "陈静", "hukou_division": "340207004"})
        ).status_code == 201
        before = await _counts(stack)
        tomorrow = (date.today() + timedelta(days=1)).isoformat()
        r = await c.post(
            "/v1/deaths", json={"id_number": n, "date_of_death": tomorrow, "source": "hospital", "reference": "FUT-1"}
        )
        assert r.status_code == 422
        assert "date_of_death" in _fields(r.json())
        r = await c.post(
            "/v1/deaths",
            json={"id_number": n, "date_of_death": "1900-01-01", "source": "hospital", "reference": "PAST-1"},
        )
        assert r.status_code == 422 and "date_of_death" in _fields(r.json())
        r = await c.post(
            "/v1/deaths", json={"id_number": n, "date_of_death": "2020-01-01", "source": "rumour", "reference": "X"}
        )
        assert r.status_code == 422 and "source" in _fields(r.json())
        r = await c.post("/v1/deaths", json={"id_number": n, "source": "hospital", "reference": "X"})
        assert r.status_code == 422 and "date_of_death" in _fields(r.json())
    assert await _counts(stack) == before


async def test_money_must_be_an_exact_decimal(stack: Stack) -> None:
    n = new_id_number()
    async with stack["registry"].client() as reg, stack["assistance"].client() as c:
        assert (
            await reg.post("/v1/persons", json={"id_number": n, "name": "刘伟", "hukou_division": "340207005"})
        ).status_code == 201
        for amount in (780.5, "780.555", "-1.00", "abc"):
            r = await c.post("/v1/cases", json={"id_number": n, "program": "dibao", "monthly_amount": amount})
            assert r.status_code == 422, (amount, r.text)
            assert "monthly_amount" in _fields(r.json())
        r = await c.post("/v1/cases", json={"id_number": n, "program": "lottery", "monthly_amount": "1.00"})
        assert r.status_code == 422 and "program" in _fields(r.json())
        assert (await c.get("/v1/cases", params={"id_number": n})).json()["total"] == 0
        r = await c.post("/v1/cases", json={"id_number": n, "program": "dibao", "monthly_amount": "780.5"})
        assert r.status_code == 201 and r.json()["monthly_amount"] == "780.50"


async def test_under_80_is_not_enrolled_in_the_old_age_allowance(stack: Stack) -> None:
    n = new_id_number(min_age=60, max_age=75)
    async with stack["registry"].client() as reg, stack["eldercare"].client() as c:
        assert (
            await reg.post("/v1/persons", json={"id_number": n, "name": "孙明", "hukou_division": "340207102"})
        ).status_code == 201
        r = await c.post("/v1/allowances", json={"id_number": n})
        assert r.status_code == 422
        assert "id_number" in _fields(r.json()) and "starts at 80" in r.json()["detail"]


async def test_auth_is_enforced(stack: Stack) -> None:
    async with stack["registry"].client() as c:
        r = await c.get("/v1/persons", headers={"Authorization": ""})
        assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")
        r = await c.get("/v1/persons", headers={"Authorization": "Bearer not-a-jwt"})
        assert r.status_code == 401
        forged = token(secret="another-key-entirely-0123456789abcdef")
        assert (await c.get("/v1/persons", headers={"Authorization": f"Bearer {forged}"})).status_code == 401
        read_only = token(scopes="registry:read")
        r = await c.post("/v1/persons", headers={"Authorization": f"Bearer {read_only}"}, json={})
        assert r.status_code == 403
    async with stack["monitoring"].client() as c:
        assert (await c.get("/healthz", headers={"Authorization": ""})).status_code == 200
        assert (await c.get("/metrics", headers={"Authorization": ""})).status_code == 200


async def test_callers_see_only_their_division_and_masked_numbers_without_pii(stack: Stack) -> None:
    n = new_id_number()
    town_a, town_b = "340207001", "340207104"
    async with stack["registry"].client() as c:
        r = await c.post("/v1/persons", json={"id_number": n, "name": "黄芳", "hukou_division": f"{town_a}002"})
        assert r.status_code == 201
        person_id = r.json()["person_id"]
        other_town = token(scopes="registry:read registry:write pii:read", division=town_b)
        h = {"Authorization": f"Bearer {other_town}"}
        assert (await c.get(f"/v1/persons/{person_id}", headers=h)).status_code == 404
        assert (await c.get("/v1/persons", params={"id_number": n}, headers=h)).json()["total"] == 0
        r = await c.post(
            "/v1/deaths",
            headers=h,
            json={"id_number": n, "date_of_death": "2024-01-01", "source": "hospital", "reference": f"D-{n}"},
        )
        assert r.status_code == 404
        r = await c.post(
            "/v1/persons", headers=h, json={"id_number": new_id_number(), "name": "x", "hukou_division": town_a}
        )
        assert r.status_code == 404  # another town's division answers as unknown, never 403
        same_town = token(scopes="registry:read", division=town_a)
        r = await c.get(f"/v1/persons/{person_id}", headers={"Authorization": f"Bearer {same_town}"})
        assert r.status_code == 200
        assert r.json()["id_number"] == identity.mask(n) and n not in r.text
        full = (await c.get(f"/v1/persons/{person_id}")).json()
        assert full["id_number"] == n
    async with stack["registry"].state.sessionmaker() as s:
        audited = (
            await s.execute(text("SELECT actor, endpoint FROM audit_log WHERE person_id = :p"), {"p": person_id})
        ).all()
    assert len(audited) >= 2 and all(e.startswith("GET /v1/persons") for _, e in audited)


async def test_every_service_scopes_its_lists_to_the_callers_division(stack: Stack) -> None:
    from tests.support import eventually

    n = new_id_number(min_age=81, max_age=85)
    async with stack["registry"].client() as reg, stack["assistance"].client() as a, stack["eldercare"].client() as e:
        assert (
            await reg.post("/v1/persons", json={"id_number": n, "name": "周德胜", "hukou_division": "340207103001"})
        ).status_code == 201
        assert (
            await a.post("/v1/cases", json={"id_number": n, "program": "tekun", "monthly_amount": "1065.00"})
        ).status_code == 201
        assert (await e.post("/v1/allowances", json={"id_number": n})).status_code == 201
    inside = {"Authorization": f"Bearer {token(division='340207103')}"}
    outside = {"Authorization": f"Bearer {token(division='340207104')}"}
    paths = {"assistance": "/v1/cases", "eldercare": "/v1/allowances", "monitoring": "/v1/records"}
    for service, path in paths.items():
        async with stack[service].client() as c:

            async def visible(c=c, path=path) -> bool:  # noqa: ANN001
                return (await c.get(path, params={"id_number": n}, headers=inside)).json()["total"] == 1

            await eventually(visible)
            assert (await c.get(path, params={"id_number": n}, headers=outside)).json()["total"] == 0, service


def _problem_fields(r: httpx.Response) -> set[str]:
    assert r.headers["content-type"].startswith("application/problem+json"), r.text
    return _fields(r.json())


NUL = "\x00"
LONE_SURROGATE_JSON = b'{"id_number": "%s", "name": "\\ud800", "hukou_division": "340207001"}'


async def test_nul_in_a_body_field_a_query_parameter_or_the_path_is_a_422_naming_it(stack: Stack) -> None:
    n = new_id_number()
    before = await _counts(stack)
    async with stack["registry"].client() as c:
        r = await c.post("/v1/persons", json={"id_number": n, "name": f"王{NUL}秀英", "hukou_division": "340207001"})
        assert r.status_code == 422 and _problem_fields(r) == {"name"}, r.text
        r = await c.post(
            "/v1/households",
            json={"hukou_division": "340207001", "members": [{"id_number": n, "relation": f"head{NUL}"}]},
        )
        assert r.status_code == 422 and _problem_fields(r) == {"members.0.relation"}, r.text
        r = await c.get("/v1/persons", params={"division": f"3402{NUL}"})
        assert r.status_code == 422 and _problem_fields(r) == {"division"}, r.text
        r = await c.get("/v1/persons/abc%00def")
        assert r.status_code == 422 and _problem_fields(r) == {"person_id"}, r.text
    for service, path, field in (
        ("assistance", "/v1/cases", "division"),
        ("eldercare", "/v1/allowances", "division"),
        ("monitoring", "/v1/alerts", "kind"),
    ):
        async with stack[service].client() as c:
            r = await c.get(path, params={field: NUL})
            assert r.status_code == 422 and _problem_fields(r) == {field}, (service, r.text)
    assert await _counts(stack) == before


async def test_a_lone_surrogate_in_json_is_a_422_naming_the_field(stack: Stack) -> None:
    before = await _counts(stack)
    async with stack["registry"].client() as c:
        body = LONE_SURROGATE_JSON % new_id_number().encode()
        r = await c.post("/v1/persons", content=body, headers={"content-type": "application/json"})
        assert r.status_code == 422 and _problem_fields(r) == {"name"}, r.text
        # A pair of surrogates is an ordinary character (here U+1F600) and is stored as such.
        n = new_id_number()
        body = b'{"id_number": "%s", "name": "\\ud83d\\ude00", "hukou_division": "340207001"}' % n.encode()
        r = await c.post("/v1/persons", content=body, headers={"content-type": "application/json"})
        assert r.status_code == 201 and r.json()["name"] == "\U0001f600", r.text
    assert (await _counts(stack))["persons"] == before["persons"] + 1


async def test_strings_longer_than_their_column_are_a_422_naming_the_field(stack: Stack) -> None:
    n = new_id_number()
    async with stack["registry"].client() as c:
        assert (
            await c.post("/v1/persons", json={"id_number": n, "name": "赵敏", "hukou_division": "340207002"})
        ).status_code == 201
        before = await _counts(stack)
        cases = [
            ("/v1/persons", {"id_number": new_id_number(), "name": "长" * 101, "hukou_division": "340207002"}, "name"),
            ("/v1/persons", {"id_number": n + " " * 100, "name": "赵敏", "hukou_division": "340207002"}, "id_number"),
            (
                "/v1/persons",
                {"id_number": new_id_number(), "name": "赵敏", "hukou_division": "3" * 1000},
                "hukou_division",
            ),
            (
                "/v1/deaths",
                {"id_number": n, "date_of_death": "2024-01-01", "source": "hospital", "reference": "R" * 101},
                "reference",
            ),
            (
                "/v1/marriages",
                {
                    "party_a": n,
                    "party_b": new_id_number(),
                    "registered_on": "2024-01-01",
                    "registration_division": "3" * 13,
                    "certificate_no": "C-1",
                },
                "registration_division",
            ),
        ]
        for path, body, field in cases:
            r = await c.post(path, json=body)
            assert r.status_code == 422 and field in _problem_fields(r), (path, field, r.text)
    assert await _counts(stack) == before


@pytest.mark.parametrize(
    "amount", ["1e309", "NaN", "Infinity", "-Infinity", "10000000000.00", "１２３.００", "0", "-0.01"]
)
async def test_money_beyond_the_column_or_not_positive_is_a_422_naming_the_field(stack: Stack, amount: str) -> None:
    async with stack["assistance"].client() as c:
        r = await c.post("/v1/cases", json={"id_number": new_id_number(), "program": "dibao", "monthly_amount": amount})
    assert r.status_code == 422 and "monthly_amount" in _problem_fields(r), r.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"date_of_death": "0001-01-01"}, "date_of_death"),
        ({"date_of_death": "9999-12-31"}, "date_of_death"),
        ({"date_of_death": "2024-02-30"}, "date_of_death"),
    ],
)
async def test_dates_out_of_range_are_a_422_naming_the_field(stack: Stack, body: dict, field: str) -> None:
    async with stack["registry"].client() as c:
        r = await c.post(
            "/v1/deaths", json={"id_number": new_id_number(), "source": "hospital", "reference": "X-1", **body}
        )
    assert r.status_code == 422 and field in _problem_fields(r), r.text


@pytest.mark.parametrize(
    ("params", "field"),
    [({"limit": 0}, "limit"), ({"limit": 10**6}, "limit"), ({"offset": -1}, "offset"), ({"offset": 10**30}, "offset")],
)
async def test_page_bounds_are_checked(stack: Stack, params: dict, field: str) -> None:
    async with stack["registry"].client() as c:
        r = await c.get("/v1/persons", params=params)
    assert r.status_code == 422 and field in _problem_fields(r), r.text


async def test_fullwidth_or_arabic_indic_digits_cannot_register_a_number_twice(stack: Stack) -> None:
    n = new_id_number()
    fullwidth = n[:17].translate(str.maketrans("0123456789", "０１２３４５６７８９")) + n[17]
    arabic_indic = n[:17].translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")) + n[17]
    async with stack["registry"].client() as c:
        assert (
            await c.post("/v1/persons", json={"id_number": n, "name": "钱红", "hukou_division": "340207003"})
        ).status_code == 201
        for spelled in (fullwidth, arabic_indic):
            r = await c.post("/v1/persons", json={"id_number": spelled, "name": "钱红", "hukou_division": "340207003"})
            assert r.status_code == 422 and _problem_fields(r) == {"id_number"}, r.text
        assert (await c.get("/v1/persons", params={"name": "钱红", "division": "340207003"})).json()["total"] >= 1
        found = (await c.post("/v1/persons/search", json={"id_number": n})).json()
        assert found["total"] == 1


async def test_a_long_or_odd_request_id_is_replaced_and_reads_are_still_audited(stack: Stack) -> None:
    n = new_id_number()
    async with stack["registry"].client() as c:
        person_id = (
            await c.post("/v1/persons", json={"id_number": n, "name": "孙丽", "hukou_division": "340207004"})
        ).json()["person_id"]
        kept = await c.get(f"/v1/persons/{person_id}", headers={"x-request-id": "partner-req.42"})
        assert kept.status_code == 200 and kept.headers["x-request-id"] == "partner-req.42"
        for odd in ("r" * 65, "r" * 10_000, "含中文", "has space", ""):
            r = await c.get(f"/v1/persons/{person_id}", headers={"x-request-id": odd.encode()})
            assert r.status_code == 200, (odd[:20], r.text)
            assert re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"]), "replaced by a fresh id, not truncated"
    async with stack["registry"].state.sessionmaker() as s:
        ids = (
            (await s.execute(text("SELECT request_id FROM audit_log WHERE person_id = :p"), {"p": person_id}))
            .scalars()
            .all()
        )
    assert "partner-req.42" in ids and len(ids) == 6 and all(len(i) <= 64 for i in ids)


@pytest.mark.parametrize("sub", ["s" * 201, "s" * 5_000, f"clerk{NUL}", ""])
async def test_a_token_whose_sub_no_column_can_hold_is_refused(stack: Stack, sub: str) -> None:
    async with stack["registry"].client(token(sub=sub)) as c:
        r = await c.get("/v1/persons", params={"division": "340207001"})
    assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json"), r.text


async def test_the_longest_sub_is_accepted_and_audited(stack: Stack) -> None:
    sub = "s" * 200
    async with stack["registry"].client(token(sub=sub)) as c:
        r = await c.get("/v1/persons", params={"division": "340207001", "limit": 1})
    assert r.status_code == 200, r.text


async def test_intake_lines_with_unstorable_text_are_rejected_naming_the_field(stack: Stack) -> None:
    n = new_id_number()
    good = {"type": "death", "id_number": n, "date_of_death": "2025-01-02", "source": "hospital"}
    lines = [
        json.dumps({**good, "reference": "NUL\x00REF"}),
        json.dumps({**good, "reference": "SUR-1", "name": "\ud800"}),  # json.dumps escapes it: "\ud800"
        json.dumps({**good, "reference": "WIDE-1", "date_of_death": "２０２５-01-02"}),
        json.dumps(
            {
                "type": "hukou",
                "id_number": n,
                "kind": "move_in",
                "to_division": "３４０２０７００１",
                "effective_date": "2025-01-02",
                "source": "public_security",
                "reference": "HK-WIDE",
            }
        ),
    ]
    csv = f"type,id_number,name,source,reference,date_of_death\ndeath,{n},王,hospital,CSV\x00NUL,2025-01-02\n"
    async with stack["registry"].client() as c:
        r = await c.post(
            "/v1/intake/batches",
            params={"include_lines": "true"},
            content="\n".join(lines).encode(),
            headers={"content-type": "application/x-ndjson"},
        )
        assert r.status_code == 201, r.text
        report = r.json()["report"]
        assert [line["status"] for line in report] == ["rejected"] * 4, report
        assert [line["field"] for line in report] == ["reference", "name", "date_of_death", "to_division"], report
        r = await c.post(
            "/v1/intake/batches",
            params={"include_lines": "true"},
            content=csv.encode(),
            headers={"content-type": "text/csv"},
        )
        assert r.status_code == 201, r.text
        assert [(line["status"], line["field"]) for line in r.json()["report"]] == [("rejected", "reference")], r.text
