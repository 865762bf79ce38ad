"""Published contracts: the checked-in AsyncAPI document and event schemas match the catalogue and are valid;
OpenAPI documents the problem responses."""

from __future__ import annotations

import json
import uuid
from datetime import date
from pathlib import Path

import jsonschema
import pytest
import yaml

from services import MODULES, SERVICES, consumers_by_service
from shared import asyncapi
from shared.event_types import CATALOGUE
from shared.events import envelope
from shared.kafka import ALL_TOPICS
from shared.problems import PROBLEM_JSON
from shared.settings import PROJECT_DIR, Settings

ASYNCAPI_SCHEMA = Path(__file__).parent / "schemas" / "asyncapi-2.6.0.json"


def test_checked_in_contract_files_match_the_catalogue() -> None:
    expected = asyncapi.render(consumers_by_service())
    stale = []
    for path, text in expected.items():
        on_disk = PROJECT_DIR / path
        if not on_disk.exists() or on_disk.read_text(encoding="utf-8") != text:
            stale.append(str(path))
    extra = sorted(
        str(p.relative_to(PROJECT_DIR))
        for p in (PROJECT_DIR / asyncapi.EVENTS_DIR).glob("*.json")
        if p.relative_to(PROJECT_DIR) not in expected
    )
    assert not stale and not extra, (
        f"out of date: {stale}, no longer in the catalogue: {extra}; run `minzheng contracts`"
    )


def test_asyncapi_document_is_valid_and_covers_every_topic_and_event_type() -> None:
    document = yaml.safe_load((PROJECT_DIR / asyncapi.ASYNCAPI_PATH).read_text(encoding="utf-8"))
    schema = json.loads(ASYNCAPI_SCHEMA.read_text())
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])

    assert set(document["channels"]) == set(ALL_TOPICS)
    messages = document["components"]["messages"]
    assert set(CATALOGUE) <= set(messages)
    for spec in CATALOGUE.values():
        channel = document["channels"][spec.topic]
        operation = channel.get("publish") or channel["subscribe"]
        refs = [m["$ref"] for m in operation["message"].get("oneOf", [operation["message"]])]
        assert f"#/components/messages/{spec.type}" in refs, spec.type
    # Every reference resolves inside the document.
    text = json.dumps(document)
    for ref in {part.split('"')[0] for part in text.split('"$ref": "')[1:]}:
        node = document
        for key in ref.removeprefix("#/").split("/"):
            node = node[key]


def test_a_published_envelope_satisfies_its_message_schema() -> None:
    """The message schemas describe what the code sends: a real envelope validates, a wrong type does not."""
    document = yaml.safe_load((PROJECT_DIR / asyncapi.ASYNCAPI_PATH).read_text(encoding="utf-8"))
    data = {
        "person_id": str(uuid.uuid4()),
        "id_number": "340207196108143355",
        "hukou_division": "340207003001",
        "name": "王秀英",
        "sex": "F",
        "birth_date": date(1961, 8, 14).isoformat(),
    }
    event = envelope(service="registry", type="registry.person.registered", subject=data["person_id"], data=data)
    payload = document["components"]["messages"]["registry.person.registered"]["payload"]
    # Validate against the message payload with the document's components reachable.
    validator = jsonschema.Draft7Validator({**payload, "components": document["components"]})
    assert not list(validator.iter_errors(event))
    assert list(validator.iter_errors({**event, "type": "registry.person.died"}))
    assert list(validator.iter_errors({**event, "data": {**data, "birth_date": 19610814}}))


@pytest.mark.parametrize("event_type", sorted(CATALOGUE))
def test_event_schema_files_are_valid_json_schemas(event_type: str) -> None:
    schema = json.loads((PROJECT_DIR / asyncapi.EVENTS_DIR / f"{event_type}.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["title"] == event_type and schema["$id"].endswith(f"/{event_type}.json")


@pytest.mark.parametrize("service", SERVICES)
def test_openapi_documents_problem_responses_on_every_v1_route(service: str) -> None:
    app = MODULES[service].create_app()(Settings(service=service, jwt_secret="x" * 32))
    spec = app.openapi()
    operations = [
        (path, method, op)
        for path, ops in spec["paths"].items()
        if path.startswith("/v1/")
        for method, op in ops.items()
    ]
    assert operations
    for path, method, op in operations:
        for code in ("401", "403", "422"):
            response = op["responses"].get(code)
            assert response, f"{method.upper()} {path} does not document {code}"
            content = response.get("content", {})
            assert list(content) == [PROBLEM_JSON], f"{method.upper()} {path} {code}: {list(content)}"
            assert content[PROBLEM_JSON]["schema"] == {"$ref": "#/components/schemas/Problem"}
    problem = spec["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "errors"} <= set(problem["properties"])
    for path in ("/healthz", "/readyz", "/metrics"):
        assert not {"401", "403"} & set(spec["paths"][path]["get"]["responses"]), f"{path} needs no token"
