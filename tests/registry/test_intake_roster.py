"""The household-register roster through /v1/intake/batches: persons registered, grouped into households, once."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta

from sqlalchemy import text

from tests.registry.helpers import events, register
from tests.support import Stack, new_id_number, token

YESTERDAY = (date.today() - timedelta(days=1)).isoformat()


async def _send(c, lines: list[dict[str, object]]) -> dict[str, object]:  # noqa: ANN001 - an httpx client
    body = "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines).encode()
    r = await c.post(
        "/v1/intake/batches",
        content=body,
        headers={"Content-Type": "application/x-ndjson"},
        params={"include_lines": True},
    )
    assert r.status_code == 201, r.text
    return r.json()


async def test_roster_registers_households_once_and_refuses_what_it_must(stack: Stack) -> None:
    head, spouse, child, other_town = (new_id_number() for _ in range(4))
    key = f"HH-{uuid.uuid4()}"
    unknown_death = {
        "type": "death",
        "id_number": child,
        "name": "周小明",
        "date_of_death": YESTERDAY,
        "source": "hospital",
        "reference": f"R-{child}",
    }
    roster = [
        {
            "type": "person",
            "id_number": spouse,
            "name": "李娟",
            "hukou_division": "340207003001",
            "household": key,
            "relation": "spouse",
            "sex": "F" if int(spouse[16]) % 2 == 0 else "M",
        },
        {
            "type": "person",
            "id_number": head,
            "name": "周强",
            "hukou_division": "340207003001",
            "household": key,
            "relation": "head",
        },
        {
            "type": "person",
            "id_number": child,
            "name": "周小明",
            "hukou_division": "340207003001",
            "household": key,
            "relation": "child",
        },
        {"type": "person", "id_number": other_town, "name": "吴刚", "hukou_division": "340207005"},
        {"type": "person", "id_number": head, "name": "周强", "hukou_division": "340207003001"},  # again: duplicate
        {"type": "person", "id_number": new_id_number(), "name": "X", "hukou_division": "999999"},
        {
            "type": "person",
            "id_number": new_id_number(),
            "name": "X",
            "hukou_division": "340207003",
            "relation": "boss",
            "household": key,
        },
    ]
    async with stack["registry"].client(token(division="340207003")) as town:
        waiting = await _send(town, [unknown_death])  # a death reported before the person is registered
        assert waiting["report"][0]["outcome"] == "pending"
        batch = await _send(town, roster)
        report = {x["line_no"]: x for x in batch["report"]}
        assert [report[i]["outcome"] for i in (1, 2, 3)] == ["registered"] * 3
        assert report[4]["status"] == "rejected" and report[4]["field"] == "hukou_division"  # not the caller's town
        assert report[5]["status"] == "duplicate" and report[5]["person_id"] == report[2]["person_id"]
        assert report[6]["status"] == "rejected" and report[6]["field"] == "hukou_division"
        assert report[7]["status"] == "rejected" and report[7]["field"] == "relation"
        assert (batch["accepted"], batch["duplicate"], batch["rejected"]) == (3, 1, 3)

        head_id, spouse_id, child_id = report[2]["person_id"], report[1]["person_id"], report[3]["person_id"]
        household_id = (await town.get(f"/v1/persons/{head_id}")).json()["household_id"]
        assert household_id
        hh = (await town.get(f"/v1/households/{household_id}")).json()
        assert hh["head_person_id"] == head_id
        assert {m["person_id"]: m["relation"] for m in hh["members"]} == {
            head_id: "head",
            spouse_id: "spouse",
            child_id: "child",
        }
        [changed] = await events(stack, household_id, "registry.household.changed")
        assert changed["data"]["reason"] == "created" and changed["data"]["members_before"] == []
        assert changed["data"]["members_after"][0] == {"person_id": head_id, "relation": "head"}
        [registered] = await events(stack, child_id, "registry.person.registered")
        assert registered["data"]["household_id"] == household_id
        # The death that waited for the child applies now that the child is registered.
        assert len(await events(stack, child_id, "registry.person.died")) == 1

        # The same roster again changes nothing; a known number under another name is a mismatch.
        again = await _send(town, roster[:3] + [{**roster[0], "name": "王芳"}])
        assert [x["status"] for x in again["report"]] == ["duplicate"] * 3 + ["rejected"]
        assert again["report"][3]["field"] == "name"
        assert len(await events(stack, household_id, "registry.household.changed")) == 1

        # A later batch adds a member to the same household: one change, with the members before.
        late = await _send(
            town,
            [
                {
                    "type": "person",
                    "id_number": new_id_number(),
                    "name": "周奶奶",
                    "hukou_division": "340207003001",
                    "household": key,
                    "relation": "parent",
                }
            ],
        )
        assert late["report"][0]["outcome"] == "registered"
        changes = await events(stack, household_id, "registry.household.changed")
        assert len(changes) == 2 and len(changes[1]["data"]["members_before"]) == 3
        assert len(changes[1]["data"]["members_after"]) == 4

    # Another town cannot add to this household, nor learn who is registered under a number.
    async with stack["registry"].client(token(division="340207005")) as other:
        b = await _send(
            other,
            [
                {
                    "type": "person",
                    "id_number": new_id_number(),
                    "name": "赵六",
                    "hukou_division": "340207005",
                    "household": key,
                    "relation": "child",
                },
                {"type": "person", "id_number": head, "name": "别人", "hukou_division": "340207005"},
            ],
        )
        assert b["report"][0]["status"] == "rejected" and b["report"][0]["field"] == "household"
        assert b["report"][1]["status"] == "rejected" and b["report"][1]["person_id"] is None
        assert "周强" not in json.dumps(b, ensure_ascii=False)


async def test_roster_as_csv_and_a_person_registered_over_http_is_a_duplicate(stack: Stack) -> None:
    async with stack["registry"].client() as c:
        pid, known = await register(c, "孙丽", division="340207101")
        fresh = new_id_number()
        csv = (
            "type,id_number,name,hukou_division,sex,household,relation\n"
            f"person,{known},孙丽,340207101,,,\n"
            f"person,{fresh},钱多,340207101,,,\n"
        )
        r = await c.post(
            "/v1/intake/batches",
            content=csv.encode(),
            headers={"Content-Type": "text/csv"},
            params={"include_lines": True},
        )
        assert r.status_code == 201, r.text
        report = r.json()["report"]
        assert report[0]["status"] == "duplicate" and report[0]["person_id"] == pid
        assert report[1]["outcome"] == "registered"
        found = (await c.get("/v1/persons", params={"id_number": fresh})).json()
        assert found["total"] == 1 and found["items"][0]["household_id"] is None
    async with stack["registry"].state.sessionmaker() as s:
        n = (await s.execute(text("SELECT count(*) FROM persons WHERE id_number = :n"), {"n": fresh})).scalar_one()
    assert n == 1


def test_roster_line_parsing() -> None:
    from services.registry.domain import intake as rules

    today = date.today()
    number = new_id_number()
    sex = "M" if int(number[16]) % 2 else "F"
    base = {"type": "person", "id_number": number, "name": " 周强 ", "hukou_division": "340207003001"}
    record = rules.read(base, today=today, roster=True)
    assert isinstance(record, rules.PersonRecord)
    assert (record.name, record.sex, record.household, record.relation) == ("周强", sex, None, None)
    member = rules.read({**base, "household": "HH-1"}, today=today, roster=True)
    assert isinstance(member, rules.PersonRecord) and member.relation == "other"
    refusals = {
        "sex": {**base, "sex": "F" if sex == "M" else "M"},
        "hukou_division": {**base, "hukou_division": "340208001"},
        "relation": {**base, "relation": "head"},  # a relation needs a household
        "name": {**base, "name": "\x00"},
        "id_number": {**base, "id_number": number[:17] + ("0" if number[17] != "0" else "1")},
    }
    for field, line in refusals.items():
        refused = rules.read(line, today=today, roster=True)
        assert isinstance(refused, rules.LineError) and refused.field == field, (field, refused)
    bad_relation = rules.read({**base, "household": "HH-1", "relation": "boss"}, today=today, roster=True)
    assert isinstance(bad_relation, rules.LineError) and bad_relation.field == "relation"
    # Outside a batch file (the partner topics) a roster line is no report at all.
    outside = rules.read(base, today=today)
    assert isinstance(outside, rules.LineError) and outside.field == "type"
