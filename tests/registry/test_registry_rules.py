"""Pure registry rules: name matching, marriage, adoption, households, milestones, intake lines."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from services.registry.domain import adoption, households, marriage, matching, milestones
from services.registry.domain import intake as rules

TODAY = date(2026, 6, 1)


def test_name_match_is_full_confidence_and_a_mismatch_is_not_applied() -> None:
    assert matching.name_confidence("王秀英", "王秀英") == matching.Match(100, True, "identity number and name match")
    m = matching.name_confidence("王秀兰", "王秀英")
    assert not m.matches and 20 <= m.confidence < 100 and "same surname" in m.reason
    other = matching.name_confidence("李强", "王秀英")
    assert other.confidence < m.confidence and "different surname" in other.reason
    assert matching.name_confidence(None, "王秀英").matches


def _party(field: str, sex: str, born: date, status: str = "unmarried", alive: bool = True) -> marriage.Party:
    return marriage.Party(field, sex, born, alive, status)


@pytest.mark.parametrize(
    ("a", "b", "field", "words"),
    [
        (_party("party_a", "M", date(2005, 1, 1)), _party("party_b", "F", date(2000, 1, 1)), "party_a", "at least 22"),
        (_party("party_a", "M", date(2000, 1, 1)), _party("party_b", "F", date(2007, 1, 1)), "party_b", "at least 20"),
        (
            _party("party_a", "M", date(1990, 1, 1), "married"),
            _party("party_b", "F", date(1990, 1, 1)),
            "party_a",
            "already married",
        ),
        (
            _party("party_a", "M", date(1990, 1, 1)),
            _party("party_b", "F", date(1990, 1, 1), alive=False),
            "party_b",
            "deceased",
        ),
        (
            _party("party_a", "M", date(1990, 1, 1)),
            _party("party_b", "M", date(1990, 1, 1)),
            "party_b",
            "a man and a woman",
        ),
    ],
)
def test_marriage_refusals_name_the_party(a: marriage.Party, b: marriage.Party, field: str, words: str) -> None:
    refusal = marriage.check_marriage(a, b, TODAY, "340207", TODAY)
    assert refusal is not None and refusal.field == field and words in refusal.reason


def test_legal_age_is_counted_to_the_day_and_offices_of_the_city_may_register() -> None:
    man = _party("party_a", "M", date(2004, 6, 1))
    woman = _party("party_b", "F", date(2006, 6, 2))
    assert marriage.check_marriage(man, woman, TODAY, "340202", TODAY).field == "party_b"  # turns 20 tomorrow
    assert marriage.check_marriage(man, _party("party_b", "F", date(2006, 6, 1)), TODAY, "340202", TODAY) is None
    assert (
        marriage.check_marriage(man, _party("party_b", "F", date(2000, 1, 1)), TODAY, "320102", TODAY).field
        == "registration_division"
    )


def test_divorce_only_of_a_marriage_in_force() -> None:
    assert marriage.check_divorce("divorced", date(2020, 1, 1), TODAY, TODAY).field == "marriage_id"
    assert marriage.check_divorce("married", date(2020, 1, 1), date(2019, 1, 1), TODAY).field == "divorced_on"
    assert marriage.check_divorce("married", date(2020, 1, 1), TODAY, TODAY) is None
    assert marriage.check_reissue("divorce", "married").field == "kind"


def test_adoption_rules() -> None:
    child = adoption.Person("child_id_number", "F", date(2020, 1, 1), True)
    young = adoption.Person("adopters.0", "F", date(2000, 1, 1), True)
    assert adoption.check_adoption(child, [young], False, TODAY, TODAY).field == "adopters.0"
    a, b = (
        adoption.Person("adopters.0", "M", date(1980, 1, 1), True),
        adoption.Person("adopters.1", "F", date(1982, 1, 1), True),
    )
    assert adoption.check_adoption(child, [a, b], False, TODAY, TODAY).field == "adopters"
    assert adoption.check_adoption(child, [a, b], True, TODAY, TODAY) is None
    assert adoption.check_adoption(child, [a], False, TODAY, TODAY) is None  # 40 years older: allowed
    near = adoption.Person("adopters.0", "M", date(1985, 1, 1), True)
    assert "40 years" in adoption.check_adoption(child, [near], False, TODAY, TODAY).reason
    adult = adoption.Person("child_id_number", "F", date(2000, 1, 1), True)
    assert adoption.check_adoption(adult, [a, b], True, TODAY, TODAY).field == "child_id_number"


def test_household_rules() -> None:
    head, spouse, child = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    members = {head: "head", spouse: "spouse", child: "child"}
    assert households.check_leave(members, head, None).field == "new_head_person_id"
    assert households.check_leave(members, head, spouse) is None
    assert households.check_split(members, {child: "head"}, None) is None
    assert households.check_split(members, {head: "head", spouse: "spouse", child: "child"}, None).field == "members"
    assert households.check_split(members, {head: "head"}, None).field == "new_head_person_id"
    assert households.check_merge(uuid.uuid4(), uuid.uuid4(), {child}, {child: "head"}).field == "relations"


def test_milestones_each_age_once_and_only_the_highest_published() -> None:
    due = milestones.due(date(1946, 3, 10), date(2026, 3, 10), set())
    assert [a for a, _ in due.reached] == [16, 18, 60, 70, 80] and due.publish == (80, date(2026, 3, 10))
    assert milestones.due(date(1946, 3, 10), date(2026, 3, 10), {16, 18, 60, 70, 80}).reached == []
    assert milestones.due(date(1946, 3, 11), date(2026, 3, 10), {16, 18, 60, 70}).publish is None
    assert milestones.birthday(date(2008, 2, 29), 18) == date(2026, 3, 1)


def test_intake_lines_parse_or_name_the_field() -> None:
    from shared import identity

    n = identity.make("340207", date(1950, 1, 1), 11)
    d = rules.parse(
        {"type": "death", "id_number": n, "date_of_death": "2026-01-02", "source": "hospital", "reference": "H1"},
        today=TODAY,
    )
    assert isinstance(d, rules.DeathRecord) and d.date_of_death == date(2026, 1, 2)
    envelope = {
        "specversion": "1.0",
        "type": "partner.hukou.changed",
        "data": {
            "id_number": n,
            "kind": "move_in",
            "to_division": "340207001",
            "effective_date": "2026-01-01",
            "reference": "P1",
        },
    }
    h = rules.parse(envelope, today=TODAY)
    assert isinstance(h, rules.HukouRecord) and h.source == "public_security"
    for bad, field in [
        (
            {
                "type": "death",
                "id_number": n[:-1] + ("0" if n[-1] != "0" else "1"),
                "date_of_death": "2026-01-02",
                "source": "hospital",
                "reference": "X",
            },
            "id_number",
        ),
        (
            {"type": "death", "id_number": n, "date_of_death": "2027-01-02", "source": "hospital", "reference": "X"},
            "date_of_death",
        ),
        (
            {"type": "death", "id_number": n, "date_of_death": "2026-01-02", "source": "rumour", "reference": "X"},
            "source",
        ),
        (
            {
                "type": "hukou",
                "id_number": n,
                "kind": "move_in",
                "to_division": "110101",
                "effective_date": "2026-01-01",
                "reference": "X",
            },
            "to_division",
        ),
        ({"type": "marriage", "id_number": n}, "type"),
        ({"type": "death", "id_number": n, "date_of_death": "2026-01-02", "source": "hospital"}, "reference"),
    ]:
        with pytest.raises(rules.LineError) as err:
            rules.parse(bad, today=TODAY)
        assert err.value.field == field


def test_policy_routes_unverified_first_reports_to_review() -> None:
    assert not rules.needs_review("apply", False)
    assert rules.needs_review("review_first", False) and not rules.needs_review("review_first", True)
    assert rules.needs_review(None, True)
