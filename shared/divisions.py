"""Administrative divisions of the district (鸠江区, Wuhu): the scope of every caller and record.

A division code is the district (6 digits), a town or street (9 digits) or a
community or village (12 digits: the town's code and three more). Reference
data, not policy: the codes come from the national statistical division list
(2022). Community codes are accepted under any known town, since the bureau
assigns them; see POLICY.md.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement

DISTRICT = "340207"

TOWNS: dict[str, str] = {
    "340207001": "四褐山街道",
    "340207002": "裕溪口街道",
    "340207003": "官陡街道",
    "340207004": "湾里街道",
    "340207005": "清水街道",
    "340207101": "沈巷镇",
    "340207102": "二坝镇",
    "340207103": "汤沟镇",
    "340207104": "白茆镇",
    "340207401": "安徽省江北产业集中区",
    "340207402": "安徽芜湖鸠江经济开发区",
    "340207403": "鸠江经济开发区二坝园区",
}


class UnknownDivision(ValueError):
    """Not the district, one of its towns, or a community under one of them."""


def validate(code: str) -> str:
    code = (code or "").strip()
    if code == DISTRICT or code in TOWNS:
        return code
    if len(code) == 12 and code.isdigit() and code[:9] in TOWNS and code[9:] != "000":
        return code
    raise UnknownDivision(f"{code!r} is not a division of district {DISTRICT}")


def is_known(code: str) -> bool:
    try:
        validate(code)
    except UnknownDivision:
        return False
    return True


def covers(scope: str | None, code: str | None) -> bool:
    """The one rule of jurisdiction: a caller of division `scope` may see and change what lies in `code`.

    A division covers itself and everything under it (codes nest by prefix:
    district 340207 ⊃ town 340207001 ⊃ community 340207001002). `scope` None
    is the platform itself (a consumer, the daily run), which acts district-wide;
    a record without a division is covered by no caller.
    """
    if scope is None:
        return True
    return code is not None and code.startswith(scope)


def covers_clause(column: ColumnElement[str], scope: Any) -> ColumnElement[bool]:
    """`covers` as SQL, for queries: rows whose `column` lies inside `scope`.

    The same prefix rule. A text `scope` (a filter a caller typed) has its
    LIKE wildcards escaped; inside the session filter `scope` is a bound
    parameter (SQLAlchemy's lambda caching) holding a validated code of digits.
    """
    return column.startswith(scope, autoescape=isinstance(scope, str))


def name(code: str) -> str:
    if code == DISTRICT:
        return "鸠江区"
    return TOWNS.get(code[:9], code)
