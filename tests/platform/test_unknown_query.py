"""A query parameter a route does not document is refused by name, on every service (never silently ignored)."""

from __future__ import annotations

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
