"""Every request field is bounded in the OpenAPI document, so no value can outgrow its column.

A string without a bound reaches a `String(n)` column and fails there (a 500
before these bounds); an integer without a maximum overflows a bigint. This
test reads each service's OpenAPI document and fails on any JSON body field,
or any query or path parameter, that is a string without `maxLength` (or an
enum, a date, a uuid, a fully anchored pattern of bounded repetition), a list
without `maxItems`, or a number without `maximum`; a field added later
without its bound fails the suite. Query strings are only compared, never
stored, so a query string may go without `maxLength`.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

import pytest

from shared import settings
from tests.support import JWT_SECRET

SERVICES = ("registry", "assistance", "eldercare", "monitoring")
BOUNDED_FORMATS = frozenset({"date", "date-time", "uuid"})
UNBOUNDED_REPEAT = re.compile(r"[*+]|\{\d+,\}")


def _openapi(service: str) -> dict[str, Any]:
    app = importlib.import_module(f"services.{service}.app").create(settings.load(service, jwt_secret=JWT_SECRET))
    return app.openapi()


def _resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _bounded_string(schema: dict[str, Any]) -> bool:
    if {"maxLength", "enum", "const"} & set(schema) or schema.get("format") in BOUNDED_FORMATS:
        return True
    pattern = schema.get("pattern", "")
    return pattern.startswith("^") and pattern.endswith("$") and not UNBOUNDED_REPEAT.search(pattern)


def unbounded(schema: dict[str, Any], spec: dict[str, Any], where: str, *, strings: bool = True) -> list[str]:
    """The places under `schema` that accept a value of any size."""
    schema = _resolve(schema, spec)
    found = [
        p
        for key in ("anyOf", "oneOf", "allOf")
        for sub in schema.get(key, [])
        for p in unbounded(sub, spec, where, strings=strings)
    ]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        for name, sub in schema.get("properties", {}).items():
            found += unbounded(sub, spec, f"{where}.{name}", strings=strings)
    elif kind == "array":
        found += [] if "maxItems" in schema else [f"{where}: a list without maxItems"]
        found += unbounded(schema.get("items", {}), spec, f"{where}[]", strings=strings)
    elif kind == "string" and strings and not _bounded_string(schema):
        found.append(f"{where}: a string without maxLength")
    elif kind in ("integer", "number") and not {"maximum", "exclusiveMaximum"} & set(schema):
        found.append(f"{where}: a number without maximum")
    return found


def _request_fields(spec: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            for media_type, content in operation.get("requestBody", {}).get("content", {}).items():
                if media_type.endswith("json") and "ndjson" not in media_type:
                    found += unbounded(content.get("schema", {}), spec, f"{where} body")
            for p in operation.get("parameters", []):
                found += unbounded(
                    p.get("schema", {}), spec, f"{where} {p['in']} {p['name']}", strings=p["in"] != "query"
                )
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_every_request_field_has_a_bound(service: str) -> None:
    assert _request_fields(_openapi(service)) == []


def test_the_check_finds_an_unbounded_field() -> None:
    spec = {"paths": {}, "components": {"schemas": {}}}
    schema = {
        "type": "object",
        "properties": {
            "note": {"type": "string"},
            "n": {"type": "integer"},
            "xs": {"type": "array", "items": {"type": "string", "maxLength": 3}},
        },
    }
    assert unbounded(schema, spec, "body") == [
        "body.note: a string without maxLength",
        "body.n: a number without maximum",
        "body.xs: a list without maxItems",
    ]
    assert unbounded({"type": "string", "pattern": "^[0-9]{1,10}$"}, spec, "q") == []
    assert unbounded({"type": "string", "pattern": "^[0-9]+$"}, spec, "q") == ["q: a string without maxLength"]
