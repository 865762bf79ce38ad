"""A query parameter a route does not document is refused by name, on every service (never silently ignored)."""

from __future__ import annotations

import re

import httpx

from tests.support import Stack, token


async def test_a_misspelt_filter_is_refused_naming_it_instead_of_answering_the_unfiltered_list(stack: Stack) -> None:
    headers = {"Authorization": f"Bearer {token()}"}
    for service, path, known in (
        ("registry", "/v1/persons", {"limit": "1"}),
        ("assistance", "/v1/cases", {"limit": "1"}),
        ("eldercare", "/v1/allowances", {"limit": "1"}),
        ("monitoring", "/v1/records", {"limit": "1"}),
    ):
        async with httpx.AsyncClient(base_url=stack[service].url, headers=headers) as client:
            refused = await client.get(path, params={**known, "id_numbr": "340207194005011238"})
            assert refused.status_code == 422, (service, refused.text)
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert [e["field"] for e in refused.json()["errors"]] == ["id_numbr"], refused.text
            assert "limit" in refused.json()["errors"][0]["message"]  # the names the route takes
            assert (await client.get(path, params=known)).status_code == 200, service


async def test_every_route_refuses_a_query_parameter_it_does_not_document(stack: Stack) -> None:
    """Every operation of every service, read from its OpenAPI document: a route added later is checked too.

    The check rides on the bearer dependency of every API route (and the probes' router), not on an app-wide
    dependency; a route that took neither would answer this request instead of refusing it.
    """
    headers = {"Authorization": f"Bearer {token()}"}
    for service in ("registry", "assistance", "eldercare", "monitoring"):
        operations = [
            (method, re.sub(r"\{[^}]+\}", "00000000-0000-4000-8000-000000000000", path))
            for path, item in stack[service].app.openapi()["paths"].items()
            for method in item
            if method in ("get", "post", "put", "patch", "delete")
        ]
        assert len(operations) > 10, service
        async with httpx.AsyncClient(base_url=stack[service].url, headers=headers) as client:
            for method, path in operations:
                refused = await client.request(method.upper(), path, params={"no_such_parameter": "1"})
                assert refused.status_code == 422, (service, method, path, refused.text)
                assert [e["field"] for e in refused.json()["errors"]] == ["no_such_parameter"], (service, path)
