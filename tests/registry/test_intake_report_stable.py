"""The per-line report of a mixed batch, line by line, as the per-line intake answered it before the set-based one.

EXPECTED (intake_report_expected.jsonl) was captured from the earlier implementation (Python rules a line at
a time) on this very batch; ids are replaced by who they name, so the
comparison is exact in everything else: status, outcome, type, reference,
field and reason of every line.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from tests.registry.helpers import register
from tests.support import Stack, new_id_number, token

DAY = lambda n: (date.today() - timedelta(days=n)).isoformat()  # noqa: E731


def _lines(run: str, n: dict[str, str]) -> list[str]:
    def death(who: str, ref: str, source: str = "hospital", name: str | None = None, days: int = 3) -> str:
        line = {"type": "death", "id_number": n[who], "date_of_death": DAY(days), "source": source}
        return json.dumps({**line, "reference": f"{run}-{ref}", **({"name": name} if name else {})}, ensure_ascii=False)

    def hukou(who: str, ref: str, frm: str, to: str, days: int, source: str = "public_security") -> str:
        line = {"type": "hukou", "id_number": n[who], "kind": "transfer", "from_division": frm, "to_division": to}
        return json.dumps({**line, "effective_date": DAY(days), "source": source, "reference": f"{run}-{ref}"})

    def person(who: str, name: str, division: str, **kw: str) -> str:
        line = {"type": "person", "id_number": n[who], "name": name, "hukou_division": division}
        return json.dumps({**line, **kw}, ensure_ascii=False)

    return [
        death("a", "1", name="甲一"),  # recorded
        death("a", "2", source="funeral_home", name="甲一"),  # confirmed by a second source
        death("a", "2", source="funeral_home"),  # the same report again: duplicate
        death("a", "3", source="public_security", days=9),  # a third source, another date: conflict
        death("b", "4", name="乙二错"),  # name mismatch: review
        death("unknown", "5", name="丙"),  # unknown number: pending
        death("c", "6", source="civil_affairs", name="丙三"),  # policy
        hukou("d", "7", "340207003001", "340207003002", 5),  # recorded
        hukou("d", "8", "340207003003", "340207003001", 20),  # earlier change arriving later: recorded
        hukou("d", "9", "340207003002", "340207003004", 1, source="police_station"),  # no policy: review
        hukou("other", "10", "340207005", "340207004", 2),  # another town's resident: unknown to the caller
        death("other", "11", name="戊五"),  # likewise
        "{broken",
        '{"type": "death", "id_number": "12345"}',
        json.dumps(
            {
                "type": "death",
                "id_number": n["c"],
                "date_of_death": "2999-01-01",
                "source": "hospital",
                "reference": f"{run}-12",
            }
        ),
        json.dumps({"type": "marriage", "id_number": n["c"]}),
        person("e", "己六", "340207003001", household=f"{run}-H", relation="head"),  # registered
        person("f", "庚七", "340207003001", household=f"{run}-H", relation="child"),  # registered
        person("e", "己六", "340207003001"),  # duplicate
        person("c", "别名", "340207003"),  # a known number under another name
        person("g", "辛八", "340207005"),  # not the caller's division
        death("e", "13", name="己六"),  # a person registered earlier in the same file dies
    ]


def _normal(report: list[dict[str, Any]], run: str, ids: dict[str, str], n: dict[str, str]) -> list[list[Any]]:
    names = {v: k for k, v in ids.items()}
    numbers = {v: k for k, v in n.items()}
    out = []
    for x in report:
        reason = (x["reason"] or "").replace(run, "<run>")
        for number, who in numbers.items():
            reason = reason.replace(number, f"<{who}>")
        for days in (1, 3, 5, 9, 20):
            reason = reason.replace(DAY(days), f"<day-{days}>")
        person = names.get(x["person_id"], "new" if x["person_id"] else None)
        reference = (x["reference"] or "").replace(run, "<run>") or None
        out.append(
            [
                x["line_no"],
                x["status"],
                x["outcome"],
                x["record_type"],
                reference,
                x["field"],
                reason,
                person,
                bool(x["review_id"]),
            ]
        )
    return out


# Captured from the per-line implementation on this batch (one JSON array a line).
EXPECTED: list[list[Any]] = [
    json.loads(line) for line in (Path(__file__).parent / "intake_report_expected.jsonl").read_text().splitlines()
]


async def test_mixed_batch_report_is_unchanged(stack: Stack) -> None:
    run = uuid.uuid4().hex[:8]
    n = {k: new_id_number(min_age=30) for k in ("a", "b", "c", "d", "other", "unknown", "e", "f", "g")}
    ids: dict[str, str] = {}
    async with stack["registry"].client() as c:
        for who, name, division in (
            ("a", "甲一", "340207003001"),
            ("b", "乙二", "340207003"),
            ("c", "丙三", "340207003002"),
            ("d", "丁四", "340207003001"),
            ("other", "戊五", "340207005"),
        ):
            ids[who], _ = await register(c, name, division=division, id_number=n[who])
    async with stack["registry"].client(token(division="340207003")) as town:
        body = ("\n".join(_lines(run, n)) + "\n").encode()
        r = await town.post(
            "/v1/intake/batches",
            content=body,
            headers={"Content-Type": "application/x-ndjson"},
            params={"include_lines": True},
        )
    assert r.status_code == 201, r.text
    got = _normal(r.json()["report"], run, ids, n)
    if os.environ.get("CAPTURE_INTAKE_REPORT"):
        print("\n".join("CAPTURED " + json.dumps(x, ensure_ascii=False) for x in got))
    assert got == EXPECTED
