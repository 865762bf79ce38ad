"""The small demo data set `make run` loads, through the public HTTP API (idempotent).

Invented people (names and numbers are made up, the numbers valid by
GB 11643): residents in four towns, two households, dibao and tekun cases,
elders on the old-age allowance, and one death reported by a hospital, so
every service has something to show.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

import httpx

from services import ADMIN_SCOPES
from shared import clock, identity, settings
from shared.auth import issue_token

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["秀英", "桂兰", "建国", "志强", "玉梅", "国华", "明", "静", "伟", "芳", "德胜", "淑珍"]
TOWNS = ["340207001", "340207003", "340207101", "340207102"]


def people() -> list[dict[str, str]]:
    out = []
    for i in range(24):
        born = date(1936 + i * 3, 1 + i % 12, 1 + (i * 7) % 27)
        number = identity.make("340207", born, 100 + i * 2 + (i % 2))
        division = TOWNS[i % 4] + f"{(i % 3) + 1:03d}"
        out.append(
            {
                "id_number": number,
                "name": SURNAMES[i % len(SURNAMES)] + GIVEN[i % len(GIVEN)],
                "hukou_division": division,
            }
        )
    return out


async def load(url: Mapping[str, str]) -> str:
    """Load the data set through the services at `url` (service name → base URL); say what was added."""
    token = issue_token(
        settings.load("registry"), sub="demo-loader", scopes=ADMIN_SCOPES, division="340207", ttl_seconds=600
    )
    headers = {"Authorization": f"Bearer {token}"}
    made = {"persons": 0, "cases": 0, "allowances": 0, "deaths": 0}
    async with httpx.AsyncClient(headers=headers, timeout=10) as c:
        persons = people()
        for p in persons:
            r = await c.post(f"{url['registry']}/v1/persons", json=p)
            made["persons"] += r.status_code == 201
        for i, p in enumerate(persons):
            if i % 4 == 1:
                existing = (await c.get(f"{url['assistance']}/v1/cases", params={"id_number": p["id_number"]})).json()
                if not existing.get("items"):
                    program, amount = ("tekun", "1065.00") if i % 8 == 1 else ("dibao", "560.00")
                    r = await c.post(
                        f"{url['assistance']}/v1/cases",
                        json={"id_number": p["id_number"], "program": program, "monthly_amount": amount},
                    )
                    made["cases"] += r.status_code == 201
            born = identity.parse(p["id_number"]).birth_date
            if (clock.today() - born).days >= 80 * 365.25:
                r = await c.post(f"{url['eldercare']}/v1/allowances", json={"id_number": p["id_number"]})
                made["allowances"] += r.status_code == 201
        first = persons[1]
        r = await c.post(
            f"{url['registry']}/v1/deaths",
            json={
                "id_number": first["id_number"],
                "date_of_death": (clock.today() - timedelta(days=3)).isoformat(),
                "source": "hospital",
                "reference": "DEMO-H-0001",
            },
        )
        made["deaths"] += r.status_code == 201
    return "demo data: " + ", ".join(f"{v} {k} added" for k, v in made.items())
