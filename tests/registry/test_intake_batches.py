"""Partner files through /v1/intake/batches: a report per line, all-or-nothing per line, again by id."""

from __future__ import annotations

import gc
import json
import uuid
from datetime import date, timedelta

from sqlalchemy import text

from tests.registry.helpers import events, register
from tests.support import Stack, new_id_number

YESTERDAY = (date.today() - timedelta(days=1)).isoformat()


async def test_ndjson_batch_reports_each_line_and_a_bad_line_stops_nothing(stack: Stack) -> None:
    async with stack["registry"].client() as c:
        pid, n = await register(c, "陈平", division="340207005")
        _, mismatch = await register(c, "林涛", division="340207005")
        unknown = new_id_number()
        lines = [
            json.dumps(
                {
                    "type": "death",
                    "id_number": n,
                    "name": "陈平",
                    "date_of_death": YESTERDAY,
                    "source": "funeral_home",
                    "reference": f"B-{n}",
                }
            ),
            "{not json",
            json.dumps(
                {
                    "type": "death",
                    "id_number": n,
                    "date_of_death": YESTERDAY,
                    "source": "funeral_home",
                    "reference": f"B-{n}",
                }
            ),  # the same again
            "",
            json.dumps(
                {
                    "type": "death",
                    "id_number": mismatch,
                    "name": "林滔",
                    "date_of_death": YESTERDAY,
                    "source": "hospital",
                    "reference": f"B-{mismatch}",
                }
            ),
            json.dumps(
                {
                    "type": "hukou",
                    "id_number": unknown,
                    "kind": "move_in",
                    "from_division": "340202",
                    "to_division": "340207005",
                    "effective_date": YESTERDAY,
                    "reference": f"B-{unknown}",
                }
            ),
            json.dumps(
                {
                    "type": "death",
                    "id_number": n,
                    "date_of_death": "2999-01-01",
                    "source": "hospital",
                    "reference": "future",
                }
            ),
        ]
        body = ("\n".join(lines) + "\n").encode()
        r = await c.post(
            "/v1/intake/batches",
            content=body,
            headers={"Content-Type": "application/x-ndjson"},
            params={"include_lines": True, "filename": "fh.ndjson"},
        )
        assert r.status_code == 201, r.text
        batch = r.json()
        assert (batch["lines"], batch["accepted"], batch["duplicate"], batch["rejected"], batch["in_review"]) == (
            6,
            3,
            1,
            2,
            2,
        )
        report = {line["line_no"]: line for line in batch["report"]}
        assert (
            report[1]["status"] == "accepted" and report[1]["outcome"] == "recorded" and report[1]["person_id"] == pid
        )
        assert report[2]["status"] == "rejected" and report[2]["field"] == "line"
        assert report[3]["status"] == "duplicate"
        assert 4 not in report  # blank lines are skipped, numbering follows the file
        assert report[5]["outcome"] == "review" and report[5]["review_id"]
        assert report[6]["outcome"] == "pending"
        assert report[7]["status"] == "rejected" and report[7]["field"] == "date_of_death"
        assert len(await events(stack, pid, "registry.person.died")) == 1

        again = (await c.get(f"/v1/intake/batches/{batch['batch_id']}")).json()
        assert {k: again[k] for k in ("lines", "accepted", "duplicate", "rejected", "status")} == {
            k: batch[k] for k in ("lines", "accepted", "duplicate", "rejected", "status")
        }
        rejected = (await c.get(f"/v1/intake/batches/{batch['batch_id']}/lines", params={"status": "rejected"})).json()
        assert rejected["total"] == 2 and [x["line_no"] for x in rejected["items"]] == [2, 7]
        # Sending the same file again changes nothing.
        r = await c.post("/v1/intake/batches", content=body, headers={"Content-Type": "application/x-ndjson"})
        assert (r.json()["accepted"], r.json()["duplicate"], r.json()["rejected"]) == (0, 4, 2)
        assert len(await events(stack, pid, "registry.person.died")) == 1


async def test_csv_batch_of_hukou_changes_in_any_order(stack: Stack) -> None:
    async with stack["registry"].client() as c:
        pid, n = await register(c, "黄磊", division="340207104")
        d = lambda days: (date.today() - timedelta(days=days)).isoformat()  # noqa: E731
        csv = (
            "type,id_number,name,source,reference,date_of_death,kind,from_division,to_division,effective_date\n"
            f"hukou,{n},黄磊,public_security,C1-{n},,transfer,340207103,340207102,{d(5)}\n"
            f"hukou,{n},黄磊,public_security,C0-{n},,transfer,340207104,340207103,{d(20)}\n"
            f"hukou,{n},,police_station,C2-{n},,transfer,340207102,340207101,{d(1)}\n"
            "hukou,too,few\n"
        )
        r = await c.post(
            "/v1/intake/batches",
            content=csv.encode(),
            headers={"Content-Type": "text/csv"},
            params={"include_lines": True},
        )
        assert r.status_code == 201, r.text
        report = {x["line_no"]: x for x in r.json()["report"]}
        assert report[2]["outcome"] == report[3]["outcome"] == "recorded"
        assert report[4]["outcome"] == "review"  # no policy for this source: it waits
        assert report[5]["status"] == "rejected"
        assert (await c.get(f"/v1/persons/{pid}")).json()["hukou_division"] == "340207102"


async def test_a_batch_needs_a_format_and_write_scope(stack: Stack) -> None:
    from tests.support import token

    async with stack["registry"].client() as c:
        r = await c.post("/v1/intake/batches", content=b"{}", headers={"Content-Type": "application/octet-stream"})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "format"
        r = await c.post(
            "/v1/intake/batches",
            content=b"{}",
            headers={"Content-Type": "text/csv", "Authorization": f"Bearer {token(scopes='registry:read')}"},
        )
        assert r.status_code == 403
    async with stack["registry"].state.sessionmaker() as s:
        assert (
            await s.execute(
                text("SELECT count(*) FROM intake_batches WHERE format = 'csv' AND lines = 0 AND status <> 'done'")
            )
        ).scalar_one() == 0


async def test_a_chunk_that_fails_as_a_whole_is_replayed_line_by_line(stack: Stack) -> None:
    """A chunk the database refuses as a whole (here a trigger refuses one report) is applied again a line at a time:
    the refused line is rejected with the reason, and the lines around it still apply, each once."""
    run = uuid.uuid4().hex[:8]
    function, trigger = f"refuse_{run}", f"refuse_{run}"
    async with stack["registry"].state.sessionmaker() as s, s.begin():
        await s.execute(
            text(
                f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                f" IF NEW.reference = '{run}-boom' THEN RAISE EXCEPTION 'refused by the test'; END IF;"
                " RETURN NEW; END $$"
            )
        )
        await s.execute(
            text(f"CREATE TRIGGER {trigger} BEFORE INSERT ON death_reports FOR EACH ROW EXECUTE FUNCTION {function}()")
        )
    try:
        async with stack["registry"].client() as c:
            first, first_number = await register(c, "周一", division="340207005")
            second, second_number = await register(c, "吴二", division="340207005")
            lines = [
                {"id_number": first_number, "reference": f"{run}-1"},
                {"id_number": second_number, "reference": f"{run}-boom"},
                {"id_number": second_number, "reference": f"{run}-2", "source": "funeral_home"},
            ]
            body = "\n".join(
                json.dumps({"type": "death", "date_of_death": YESTERDAY, "source": "hospital", **x}) for x in lines
            )
            r = await c.post(
                "/v1/intake/batches",
                content=body.encode(),
                headers={"Content-Type": "application/x-ndjson"},
                params={"include_lines": True},
            )
            assert r.status_code == 201, r.text
            report = r.json()["report"]
            assert [(x["line_no"], x["status"], x["outcome"]) for x in report] == [
                (1, "accepted", "recorded"),
                (2, "rejected", None),
                (3, "accepted", "recorded"),
            ]
            assert report[1]["field"] == "line" and report[1]["reason"].startswith("could not be applied")
            assert (r.json()["accepted"], r.json()["rejected"]) == (2, 1)
        for pid in (first, second):
            assert len(await events(stack, pid, "registry.person.died")) == 1
    finally:
        async with stack["registry"].state.sessionmaker() as s, s.begin():
            await s.execute(text(f"DROP TRIGGER {trigger} ON death_reports"))
            await s.execute(text(f"DROP FUNCTION {function}()"))


async def test_a_batch_leaves_the_long_lived_objects_frozen_at_start_up(stack: Stack) -> None:
    """`minzheng serve` freezes the process's objects at start-up (gc.freeze) for its life: a batch must not
    unfreeze them, or every request and consumer after the first upload pays the collector's full passes again."""
    gc.freeze()
    frozen = gc.get_freeze_count()
    try:
        async with stack["registry"].client() as c:
            ndjson = {"Content-Type": "application/x-ndjson"}
            r = await c.post("/v1/intake/batches", content=b"{not json\n", headers=ndjson)
            assert r.status_code == 201 and r.json()["rejected"] == 1, r.text
        assert gc.get_freeze_count() > frozen // 2  # unfrozen is 0; some frozen objects are freed meanwhile
    finally:
        gc.unfreeze()  # the test process was not frozen before
