"""Households in full, marriages, divorces, reissues, adoptions and milestones through the API."""

from __future__ import annotations

from datetime import date, timedelta

from tests.registry.helpers import born, events, register
from tests.support import Stack

TODAY = date.today()


async def _household(c, head: str, *others: tuple[str, str]) -> str:  # noqa: ANN001
    r = await c.post(
        "/v1/households",
        json={
            "hukou_division": "340207001001",
            "members": [
                {"id_number": head, "relation": "head"},
                *({"id_number": n, "relation": rel} for n, rel in others),
            ],
        },
    )
    assert r.status_code == 201, r.text
    return r.json()["household_id"]


async def test_members_join_leave_split_and_merge_each_publishing_before_and_after(stack: Stack) -> None:
    async with stack["registry"].client() as c:
        head_id, head = await register(c, "刘洋")
        spouse_id, spouse = await register(c, "何静")
        b = TODAY - timedelta(days=30)
        baby_id, baby = await register(c, "刘小宝", id_number=born(b.year, b.month, b.day))
        son_id, son = await register(c, "刘成")
        hh = await _household(c, head, (spouse, "spouse"), (son, "child"))
        r = await c.post(
            f"/v1/households/{hh}/members", json={"id_number": baby, "relation": "child", "reason": "birth"}
        )
        assert r.status_code == 200 and len(r.json()["members"]) == 4, r.text
        changed = await events(stack, hh, "registry.household.changed")
        assert (
            changed[-1]["data"]["reason"] == "joined: birth"
            and len(changed[-1]["data"]["members_before"]) == 3
            and len(changed[-1]["data"]["members_after"]) == 4
        )

        # 分户: the son forms his own household.
        r = await c.post(
            f"/v1/households/{hh}/split",
            json={"members": [{"person_id": son_id, "relation": "head"}], "address": "清水街道 2 号"},
        )
        assert r.status_code == 201, r.text
        new_hh = r.json()["new_household"]["household_id"]
        assert {m["person_id"] for m in r.json()["household"]["members"]} == {head_id, spouse_id, baby_id}
        assert (await events(stack, new_hh, "registry.household.changed"))[0]["data"]["members_after"] == [
            {"person_id": son_id, "relation": "head"}
        ]
        # The head cannot leave without naming a successor.
        r = await c.post(f"/v1/households/{hh}/members/{head_id}/leave", json={"reason": "move_out"})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "new_head_person_id"
        # 合户: the son's household merges back; it is dissolved.
        r = await c.post(
            f"/v1/households/{hh}/merge",
            json={"from_household_id": new_hh, "relations": [{"person_id": son_id, "relation": "child"}]},
        )
        assert r.status_code == 200 and len(r.json()["members"]) == 4, r.text
        gone = (await c.get(f"/v1/households/{new_hh}")).json()
        assert gone["status"] == "dissolved" and gone["members"] == []
        assert (await events(stack, new_hh, "registry.household.changed"))[-1]["data"]["members_after"] == []
        # Search by household, and the person's history shows the moves.
        found = (await c.get("/v1/persons", params={"household_id": hh})).json()
        assert found["total"] == 4
        kinds = [h["kind"] for h in (await c.get(f"/v1/persons/{son_id}/history")).json()["items"]]
        assert kinds == ["registered", "household_joined", "household_split", "household_merged"]
        # A death: the member leaves for that reason only once the death is recorded.
        r = await c.post(f"/v1/households/{hh}/members/{spouse_id}/leave", json={"reason": "death"})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason"


async def test_marriage_rules_refuse_with_the_reason_and_field(stack: Stack) -> None:
    async with stack["registry"].client() as c:
        _, man = await register(c, "马超", id_number=born(TODAY.year - 30, sex="M"))
        _, woman = await register(c, "宋佳", id_number=born(TODAY.year - 28, sex="F"))
        _, young_man = await register(c, "马小", id_number=born(TODAY.year - 21, sex="M"))
        _, young_woman = await register(c, "宋小", id_number=born(TODAY.year - 19, sex="F"))
        _, other_man = await register(c, "马六", id_number=born(TODAY.year - 40, sex="M"))
        on = TODAY.isoformat()

        async def marry(a: str, b: str, cert: str, division: str = "340207") -> object:
            return await c.post(
                "/v1/marriages",
                json={
                    "party_a": a,
                    "party_b": b,
                    "registered_on": on,
                    "registration_division": division,
                    "certificate_no": cert,
                },
            )

        for a, b, field, words in [
            (young_man, woman, "party_a", "at least 22"),
            (man, young_woman, "party_b", "at least 20"),
            (man, other_man, "party_b", "a man and a woman"),
            (man, woman, "registration_division", "not a registration office"),
        ]:
            r = await marry(a, b, f"X-{a}-{b}", "320102" if field == "registration_division" else "340207")
            assert r.status_code == 422 and r.json()["errors"][0]["field"] == field and words in r.json()["detail"], (
                r.text
            )
        r = await marry(man, woman, f"J-{man}", "340202")  # another district of the city registers it
        assert r.status_code == 201, r.text
        marriage = r.json()
        assert (await marry(man, woman, f"J-{man}", "340202")).status_code == 200  # the same certificate again
        r = await marry(other_man, woman, f"J2-{woman}")
        assert (
            r.status_code == 422
            and r.json()["errors"][0]["field"] == "party_b"
            and "already married" in r.json()["detail"]
        )
        assert len(await events(stack, marriage["marriage_id"], "registry.marriage.registered")) == 1

        r = await c.post(
            "/v1/divorces",
            json={
                "marriage_id": marriage["marriage_id"],
                "divorced_on": (TODAY - timedelta(days=400)).isoformat(),
                "certificate_no": f"L-{man}",
            },
        )
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "divorced_on"
        r = await c.post(
            "/v1/divorces",
            json={"marriage_id": marriage["marriage_id"], "divorced_on": on, "certificate_no": f"L-{man}"},
        )
        assert r.status_code == 201 and r.json()["status"] == "divorced", r.text
        r = await c.post(
            "/v1/divorces",
            json={"marriage_id": marriage["marriage_id"], "divorced_on": on, "certificate_no": f"L2-{man}"},
        )
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "marriage_id"
        assert len(await events(stack, marriage["marriage_id"], "registry.divorce.registered")) == 1

        r = await c.post(
            f"/v1/marriages/{marriage['marriage_id']}/reissues",
            json={
                "kind": "marriage",
                "applicant_id_number": man,
                "reason": "lost",
                "certificate_no": f"R-{man}",
                "issued_on": on,
            },
        )
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "kind"
        r = await c.post(
            f"/v1/marriages/{marriage['marriage_id']}/reissues",
            json={
                "kind": "divorce",
                "applicant_id_number": woman,
                "reason": "lost",
                "certificate_no": f"R-{man}",
                "issued_on": on,
            },
        )
        assert r.status_code == 201, r.text
        assert len(await events(stack, marriage["marriage_id"], "registry.certificate.reissued")) == 1
        # Divorced, both may marry again.
        assert (await marry(other_man, woman, f"J3-{woman}")).status_code == 201


async def test_marriage_joins_the_household_and_adoption_brings_the_child_in(stack: Stack) -> None:
    async with stack["registry"].client() as c:
        husband_id, husband = await register(c, "高远", id_number=born(TODAY.year - 38, sex="M"))
        wife_id, wife = await register(c, "韩梅", id_number=born(TODAY.year - 36, sex="F"))
        child_id, child = await register(c, "小雨", id_number=born(TODAY.year - 5, sex="F"))
        hh = await _household(c, husband)
        r = await c.post(
            "/v1/marriages",
            json={
                "party_a": husband,
                "party_b": wife,
                "registered_on": TODAY.isoformat(),
                "registration_division": "340207",
                "certificate_no": f"J-{husband}",
                "household": {"household_id": hh, "joining": "party_b"},
            },
        )
        assert r.status_code == 201, r.text
        members = {m["person_id"]: m["relation"] for m in (await c.get(f"/v1/households/{hh}")).json()["members"]}
        assert members == {husband_id: "head", wife_id: "spouse"}
        r = await c.post(
            "/v1/adoptions",
            json={
                "child_id_number": child,
                "adopters": [husband, wife],
                "registered_on": TODAY.isoformat(),
                "certificate_no": f"S-{child}",
            },
        )
        assert r.status_code == 201 and r.json()["household_id"] == hh, r.text
        members = {m["person_id"]: m["relation"] for m in (await c.get(f"/v1/households/{hh}")).json()["members"]}
        assert members[child_id] == "child"
        adopted = await events(stack, child_id, "registry.adoption.registered")
        assert len(adopted) == 1 and set(adopted[0]["data"]["adopter_person_ids"]) == {husband_id, wife_id}
        assert (await events(stack, hh, "registry.household.changed"))[-1]["data"]["reason"] == "joined: adoption"
        # A second adoption of an adult is refused naming the child.
        r = await c.post(
            "/v1/adoptions",
            json={
                "child_id_number": husband,
                "adopters": [wife],
                "registered_on": TODAY.isoformat(),
                "certificate_no": f"S2-{child}",
            },
        )
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "child_id_number"


async def test_milestone_is_published_once_even_when_the_run_repeats(stack: Stack) -> None:
    async with stack["registry"].client() as c:
        eighty = (
            TODAY.replace(year=TODAY.year - 80)
            if not (TODAY.month == 2 and TODAY.day == 29)
            else date(TODAY.year - 80, 2, 28)
        )
        pid, _ = await register(c, "老寿星", id_number=born(eighty.year, eighty.month, eighty.day, sex="F"))
        for _ in range(2):
            r = await c.post("/v1/milestones/run", json={"as_of": TODAY.isoformat()})
            assert r.status_code == 200, r.text
        published = await events(stack, pid, "registry.person.milestone")
        assert len(published) == 1 and published[0]["data"]["age"] == 80
        r = await c.post("/v1/milestones/run", json={"as_of": (TODAY + timedelta(days=1)).isoformat()})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "as_of"


async def test_a_29_february_birth_reaches_its_age_on_1_march_of_a_common_year(stack: Stack) -> None:
    """The run's SQL filter agrees with the rule: not due on 28 February, due on 1 March (and then once)."""
    async with stack["registry"].client() as c:
        pid, _ = await register(c, "闰日生", id_number=born(1936, 2, 29, sex="F"))  # 90 in 2026, a common year
        for as_of, expected in (("2026-02-28", 80), ("2026-03-01", 90), ("2026-03-02", 90)):
            r = await c.post("/v1/milestones/run", json={"as_of": as_of})
            assert r.status_code == 200, r.text
            published = await events(stack, pid, "registry.person.milestone")
            assert max(e["data"]["age"] for e in published) == expected, (as_of, published)
        assert sorted(e["data"]["age"] for e in published) == [80, 90]  # each once, the highest of a backlog only
