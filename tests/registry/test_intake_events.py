"""The events of a batch, assembled by PostgreSQL, are the catalogue's events: every field, nothing more, in order."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from typing import Any

from shared import event_types as ev
from tests.registry.helpers import events, register
from tests.support import Stack, new_id_number

DAY = lambda n: (date.today() - timedelta(days=n)).isoformat()  # noqa: E731


def _checked(envelope: dict[str, Any], row_id: str | None = None) -> dict[str, Any]:
    """The envelope's data, after checking it against the catalogue model of its type, field for field."""
    assert envelope["specversion"] == "1.0" and envelope["source"] == "/minzheng/registry"
    assert envelope["datacontenttype"] == "application/json" and envelope["time"]
    assert envelope["subject"] == envelope["data"]["person_id"]
    uuid.UUID(envelope["id"])
    model = ev.CATALOGUE[envelope["type"]].model
    data = envelope["data"]
    assert set(data) == set(model.model_fields), (envelope["type"], sorted(data), sorted(model.model_fields))
    assert json.loads(model.model_validate(data).model_dump_json()) == data  # what publish() would have written
    return data


async def test_batch_events_fit_the_catalogue_in_order(stack: Stack) -> None:
    run = uuid.uuid4().hex[:8]
    newcomer = new_id_number(min_age=30)
    async with stack["registry"].client() as c:
        died, died_number = await register(c, "赵一", division="340207003001")
        mover, mover_number = await register(c, "钱二", division="340207003001")
        lines = [
            {"type": "person", "id_number": newcomer, "name": "孙三", "hukou_division": "340207003001"},
            {"type": "death", "id_number": died_number, "name": "赵一", "date_of_death": DAY(3)},
            {"type": "death", "id_number": died_number, "date_of_death": DAY(3)},
            {"type": "hukou", "id_number": mover_number, "kind": "transfer", "effective_date": DAY(2)},
        ]
        lines[1] |= {"source": "hospital", "reference": f"{run}-1"}
        lines[2] |= {"source": "funeral_home", "reference": f"{run}-2"}
        lines[3] |= {"from_division": "340207003001", "to_division": "340207004", "reference": f"{run}-3"}
        body = "\n".join(json.dumps(x, ensure_ascii=False) for x in lines).encode()
        r = await c.post(
            "/v1/intake/batches",
            content=body,
            headers={"Content-Type": "application/x-ndjson"},
            params={"include_lines": True},
        )
        assert r.status_code == 201, r.text
        report = r.json()["report"]
        assert [x["outcome"] for x in report] == ["registered", "recorded", "confirmed", "recorded"]

    [registered] = await events(stack, report[0]["person_id"])
    assert registered["type"] == "registry.person.registered"
    data = _checked(registered)
    assert (data["id_number"], data["name"], data["hukou_division"], data["household_id"]) == (
        newcomer,
        "孙三",
        "340207003001",
        None,
    )

    recorded, confirmed = [e for e in await events(stack, died) if e["type"] != "registry.person.registered"]
    assert (recorded["type"], confirmed["type"]) == ("registry.person.died", "registry.death.confirmed")
    first, second = _checked(recorded), _checked(confirmed)
    assert first["death_id"] == second["death_id"] and first["date_of_death"] == DAY(3)
    assert (first["source"], first["status"]) == ("hospital", "reported")
    assert (second["source"], second["status"], second["sources"]) == (
        "funeral_home",
        "confirmed",
        ["funeral_home", "hospital"],
    )
    assert recorded["id"] != confirmed["id"]

    [moved] = [e for e in await events(stack, mover) if e["type"] != "registry.person.registered"]
    assert moved["type"] == "registry.hukou.transferred"
    data = _checked(moved)
    assert (data["from_division"], data["to_division"], data["hukou_division"], data["in_district"]) == (
        "340207003001",
        "340207004",
        "340207004",
        True,
    )
    assert data["effective_date"] == DAY(2) and data["kind"] == "transfer"
