"""Deaths in full, the review queue and partner intake, against real PostgreSQL and the broker."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from tests.registry.helpers import events, register
from tests.support import Stack, eventually, new_id_number, partner_death, produce

YESTERDAY = (date.today() - timedelta(days=1)).isoformat()
LAST_WEEK = (date.today() - timedelta(days=7)).isoformat()


async def test_registrar_confirms_a_single_source_death_and_it_is_published(stack: Stack) -> None:
    async with stack["registry"].client() as c:
        pid, n = await register(c, "赵建国")
        r = await c.post(
            "/v1/deaths", json={"id_number": n, "date_of_death": YESTERDAY, "source": "hospital", "reference": f"H-{n}"}
        )
        assert r.status_code == 201 and r.json()["status"] == "reported", r.text
        death_id = r.json()["death_id"]
        r = await c.post(f"/v1/deaths/{death_id}/confirm", json={"note": "checked the medical certificate"})
        assert r.status_code == 200 and r.json()["status"] == "confirmed" and r.json()["confirmed_by"] == "tester", (
            r.text
        )
        confirmed = await events(stack, pid, "registry.death.confirmed")
        assert len(confirmed) == 1 and confirmed[0]["data"]["confirmed_by"] == "registrar"
        # Confirming again changes nothing and publishes nothing.
        assert (await c.post(f"/v1/deaths/{death_id}/confirm", json={})).status_code == 200
        assert len(await events(stack, pid, "registry.death.confirmed")) == 1


async def test_conflicting_dates_need_the_registrar_to_name_the_date(stack: Stack) -> None:
    async with stack["registry"].client() as c:
        _, n = await register(c, "钱芳")
        death_id = (
            await c.post(
                "/v1/deaths",
                json={"id_number": n, "date_of_death": YESTERDAY, "source": "hospital", "reference": f"H-{n}"},
            )
        ).json()["death_id"]
        r = await c.post(
            "/v1/deaths",
            json={"id_number": n, "date_of_death": LAST_WEEK, "source": "funeral_home", "reference": f"F-{n}"},
        )
        assert r.json()["outcome"] == "conflict" and r.json()["conflicting_dates"] == [LAST_WEEK]
        assert (await c.get("/v1/deaths", params={"status": "conflict", "limit": 500})).json()["total"] >= 1
        r = await c.post(f"/v1/deaths/{death_id}/confirm", json={})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "date_of_death"
        r = await c.post(f"/v1/deaths/{death_id}/confirm", json={"date_of_death": LAST_WEEK})
        assert r.json()["status"] == "confirmed" and r.json()["date_of_death"] == LAST_WEEK
        assert len(r.json()["reports"]) == 2


async def test_revoked_death_restores_the_person_and_downstream_resumes(stack: Stack) -> None:
    n = new_id_number(min_age=82, max_age=88)
    async with stack["registry"].client() as c, stack["eldercare"].client() as e:
        r = await c.post("/v1/persons", json={"id_number": n, "name": "孙桂英", "hukou_division": "340207002"})
        pid = r.json()["person_id"]
        assert (await e.post("/v1/allowances", json={"id_number": n})).status_code == 201
        death_id = (
            await c.post(
                "/v1/deaths",
                json={"id_number": n, "date_of_death": YESTERDAY, "source": "hospital", "reference": f"H-{n}"},
            )
        ).json()["death_id"]

        async def allowance(status: str) -> bool:
            items = (await e.get("/v1/allowances", params={"id_number": n})).json()["items"]
            return bool(items) and items[0]["status"] == status

        await eventually(lambda: allowance("stopped"))
        r = await c.post(
            f"/v1/deaths/{death_id}/revoke", json={"reason": "wrong identity number on the hospital's certificate"}
        )
        assert r.status_code == 200 and r.json()["status"] == "revoked", r.text
        person = (await c.get(f"/v1/persons/{pid}")).json()
        assert person["status"] == "alive" and person["date_of_death"] is None
        revoked = await events(stack, pid, "registry.death.revoked")
        assert len(revoked) == 1 and revoked[0]["data"]["death_id"] == death_id
        await eventually(lambda: allowance("active"))
        history = (await c.get(f"/v1/persons/{pid}/history")).json()["items"]
        assert [h["kind"] for h in history] == ["registered", "death_recorded", "death_revoked"]
        # The same erroneous report again is a duplicate, not a new death.
        r = await c.post(
            "/v1/deaths", json={"id_number": n, "date_of_death": YESTERDAY, "source": "hospital", "reference": f"H-{n}"}
        )
        assert r.json()["outcome"] == "duplicate"
        assert (await c.get(f"/v1/persons/{pid}")).json()["status"] == "alive"


async def test_name_mismatch_lands_in_review_and_a_registrar_matches_it(stack: Stack) -> None:
    async with stack["registry"].client() as c:
        pid, n = await register(c, "周敏", division="340207003001")
        event = partner_death(n, YESTERDAY, "funeral_home")
        event["data"]["name"] = "周明"
        await produce(stack.infra.broker.bootstrap, "partner.deaths.v1", event, key="fh")

        async def in_review() -> list:
            items = (await c.get("/v1/reviews", params={"reason_code": "name_mismatch", "limit": 500})).json()["items"]
            return [i for i in items if i["reference"] == event["data"]["reference"]]

        [item] = await eventually(in_review)
        assert item["candidate_person_id"] == pid and 0 < item["confidence"] < 100 and "周明" in item["reason"]
        assert item["hukou_division"] == "340207003001"
        assert (await c.get(f"/v1/persons/{pid}")).json()["status"] == "alive"  # never applied silently
        # Staff of another town do not see it.
        from tests.support import token

        other = {"Authorization": f"Bearer {token(division='340207101')}"}
        assert (await c.get(f"/v1/reviews/{item['review_id']}", headers=other)).status_code == 404
        r = await c.post(
            f"/v1/reviews/{item['review_id']}/resolve",
            json={"action": "match", "person_id": pid, "note": "same person; name mistyped"},
        )
        assert r.status_code == 200 and r.json()["status"] == "matched", r.text
        assert (await c.get(f"/v1/persons/{pid}")).json()["status"] == "deceased"
        assert len(await events(stack, pid, "registry.person.died")) == 1
        r = await c.post(f"/v1/reviews/{item['review_id']}/resolve", json={"action": "reject"})
        assert r.status_code == 409


async def test_unverified_single_report_waits_and_corroboration_applies(stack: Stack) -> None:
    async with stack["registry"].client() as c:
        pid, n = await register(c, "吴刚")
        r = await c.post(
            "/v1/deaths",
            json={"id_number": n, "date_of_death": YESTERDAY, "source": "civil_affairs", "reference": f"CA-{n}"},
        )
        assert r.status_code == 202 and r.json()["outcome"] == "review" and r.json()["review_id"], r.text
        review = (await c.get(f"/v1/reviews/{r.json()['review_id']}")).json()
        assert review["reason_code"] == "policy" and "review_first" in review["reason"]
        assert (await c.get(f"/v1/persons/{pid}")).json()["status"] == "alive"
        r = await c.post(
            f"/v1/reviews/{review['review_id']}/resolve",
            json={"action": "reject", "note": "the village committee withdrew it"},
        )
        assert r.json()["status"] == "rejected"
        # After a trusted source reports, a civil-affairs report corroborates at once.
        await c.post(
            "/v1/deaths",
            json={"id_number": n, "date_of_death": YESTERDAY, "source": "funeral_home", "reference": f"F-{n}"},
        )
        r = await c.post(
            "/v1/deaths",
            json={"id_number": n, "date_of_death": YESTERDAY, "source": "civil_affairs", "reference": f"CA2-{n}"},
        )
        assert r.json()["outcome"] == "confirmed", r.text


async def test_hukou_change_for_an_unknown_person_waits_and_applies_on_registration(stack: Stack) -> None:
    n = new_id_number()
    async with stack["registry"].client() as c:
        r = await c.post(
            "/v1/hukou-changes",
            json={
                "id_number": n,
                "kind": "move_in",
                "from_division": "340202",
                "to_division": "340207004001",
                "effective_date": LAST_WEEK,
                "reference": f"PS-{n}",
            },
        )
        assert r.status_code == 202 and r.json()["outcome"] == "pending", r.text
        review = (await c.get(f"/v1/reviews/{r.json()['review_id']}")).json()
        assert (
            review["reason_code"] == "unknown_person"
            and review["confidence"] == 0
            and review["hukou_division"] == "340207004001"
        )
        pid, _ = await register(c, "郑丽", division="340207001", id_number=n)
        person = (await c.get(f"/v1/persons/{pid}")).json()
        assert person["hukou_division"] == "340207004001"
        assert (await c.get(f"/v1/reviews/{review['review_id']}")).json()["status"] == "applied"
        assert len(await events(stack, pid, "registry.hukou.moved-in")) == 1


async def test_out_of_order_hukou_through_the_partner_topic_resolves_by_effective_date(stack: Stack) -> None:
    async with stack["registry"].client() as c:
        pid, n = await register(c, "冯军", division="340207001")

        def hukou_event(kind: str, frm: str | None, to: str | None, eff: str, ref: str) -> dict:
            return {
                "specversion": "1.0",
                "id": str(uuid.uuid4()),
                "source": "/partners/public_security",
                "type": "partner.hukou.changed",
                "datacontenttype": "application/json",
                "data": {
                    "id_number": n,
                    "kind": kind,
                    "from_division": frm,
                    "to_division": to,
                    "effective_date": eff,
                    "reference": ref,
                },
            }

        # The move-out (effective later) arrives before the transfer it follows, and the transfer twice.
        out = hukou_event("move_out", "340207002", "340202", (date.today() - timedelta(days=2)).isoformat(), f"OUT-{n}")
        transfer = hukou_event(
            "transfer", "340207001", "340207002", (date.today() - timedelta(days=30)).isoformat(), f"TR-{n}"
        )
        for ev in (out, transfer, transfer):
            await produce(stack.infra.broker.bootstrap, "partner.hukou.v1", ev, key=n[-4:])

        async def settled() -> bool:
            return len(await events(stack, pid)) >= 3

        await eventually(settled)
        person = (await c.get(f"/v1/persons/{pid}")).json()
        assert person["in_district"] is False and person["hukou_division"] == "340207002"
        assert len(await events(stack, pid, "registry.hukou.transferred")) == 1
        # Through the API too: a move-in dated before the move-out does not bring the person back.
        r = await c.post(
            "/v1/hukou-changes",
            json={
                "id_number": n,
                "kind": "move_in",
                "from_division": "340202",
                "to_division": "340207003",
                "effective_date": (date.today() - timedelta(days=10)).isoformat(),
                "reference": f"IN-{n}",
            },
        )
        assert r.status_code == 201 and r.json()["in_district"] is False
        r = await c.post(
            "/v1/hukou-changes",
            json={
                "id_number": n,
                "kind": "move_in",
                "from_division": "340202",
                "to_division": "340207003",
                "effective_date": (date.today() - timedelta(days=10)).isoformat(),
                "reference": f"IN-{n}",
            },
        )
        assert r.status_code == 200 and r.json()["outcome"] == "duplicate"
