"""The published event contract, generated from the catalogue: docs/asyncapi.yaml and docs/events/<type>.json.

`shared.event_types.CATALOGUE` is the one source: every event type with its
topic, key and payload model. From it this module builds an AsyncAPI 2.6
document (a channel per topic and per dead-letter topic, a message per event
type: the CloudEvents envelope with `type` fixed and `data` the payload
schema, the Kafka key and headers) and one JSON Schema per payload.
`minzheng contracts` writes them; a test regenerates them in memory and fails
if the checked-in files differ.

Which services consume a topic is read from the consumers the caller passes
in (each service's own registrations), so the document says what the code
does; this module knows no service.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from shared.consumer import Consumer
from shared.event_types import CATALOGUE, EventSpec
from shared.events import STRUCTURED_CONTENT_TYPE
from shared.kafka import TOPICS, dlq
from shared.settings import PROJECT_DIR

ASYNCAPI_PATH = Path("docs/asyncapi.yaml")
EVENTS_DIR = Path("docs/events")
SCHEMA_BASE = "https://minzheng.example/events"
KAFKA_BINDING = "0.4.0"

PRODUCERS = {
    "partner.deaths.v1": "partners: health commission, public security, funeral homes",
    "partner.hukou.v1": "partner: public security",
    "partner.medical-expenses.v1": "partner: medical insurance bureau",
    "partner.income.v1": "partners: human resources and tax",
}
TOPIC_DESCRIPTIONS = {
    "partner.deaths.v1": (
        "Deaths reported by partners. The registry records each death once; a second source confirms it."
    ),
    "partner.hukou.v1": "Household-registration changes (move in, move out, transfer) from public security.",
    "partner.medical-expenses.v1": "Out-of-pocket medical expenses after insurance, for the low-income monitoring.",
    "partner.income.v1": "Monthly incomes reported by human resources and tax, for the low-income monitoring.",
    "registry.events.v1": (
        "What changed in the resident master index: persons, deaths, household registration, households, "
        "marriages, divorces, adoptions."
    ),
    "assistance.events.v1": "Social-assistance applications, cases, payments and overpayments.",
    "eldercare.events.v1": (
        "Old-age allowances, capacity assessments, institution admissions and discharges, home-care services, payments."
    ),
    "monitoring.low-income.v1": (
        "Changes to the low-income population database, for partners (rural revitalisation, medical insurance)."
    ),
    "monitoring.alerts.v1": "Early warnings raised and resolved by the monitoring service.",
}
ENVELOPE_DESCRIPTION = (
    "Every message is a CloudEvent 1.0. Minzheng publishes structured mode (the value is the JSON "
    "envelope, header `content-type: application/cloudevents+json`) and accepts binary mode "
    "(`ce_*` headers, the value is `data`) as well. Delivery is at least once: consumers drop "
    "repeats by `id`. An event that cannot be processed goes, after bounded retries, to "
    "`<topic>.dlq` with the error in its headers."
)


def _producer(topic: str) -> str:
    return PRODUCERS.get(topic) or f"minzheng {topic.split('.', 1)[0]} service"


ServiceConsumers = Mapping[str, Sequence[Consumer]]
"""Each service's name and the consumers it registers, as the caller knows them."""


def consumers_by_topic(services: ServiceConsumers) -> dict[str, list[str]]:
    """Which services consume each topic, from the consumers each service registers."""
    found: dict[str, list[str]] = {}
    for service, consumers in services.items():
        for consumer in consumers:
            for topic in consumer.topics:
                found.setdefault(topic, [])
                if service not in found[topic]:
                    found[topic].append(service)
    return found


def payload_schemas(specs: Iterable[EventSpec]) -> dict[str, Any]:
    """Every payload model's JSON Schema, keyed by model name, with references between them as components."""
    models: list[type[BaseModel]] = list(dict.fromkeys(s.model for s in specs))
    _, top = models_json_schema([(m, "validation") for m in models], ref_template="#/components/schemas/{model}")
    return dict(sorted(top.get("$defs", {}).items()))


def _envelope_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "CloudEvents 1.0 envelope in structured JSON mode.",
        "required": ["specversion", "id", "source", "type", "data"],
        "properties": {
            "specversion": {"type": "string", "const": "1.0"},
            "id": {
                "type": "string",
                "description": "unique per event (a UUID when Minzheng publishes); repeats are the same event",
            },
            "source": {
                "type": "string",
                "description": "`/minzheng/<service>` when Minzheng publishes; the partner's own URI otherwise",
            },
            "type": {"type": "string", "description": "the event type, one of the messages of this document"},
            "subject": {"type": "string", "description": "the person id, or the case, household, marriage or alert id"},
            "time": {"type": "string", "format": "date-time"},
            "datacontenttype": {"type": "string", "const": "application/json"},
            "data": {"type": "object"},
        },
    }


def _headers_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "content-type": {"type": "string", "const": STRUCTURED_CONTENT_TYPE},
            "traceparent": {"type": "string", "description": "W3C trace context of the producer, when it has one"},
            "tracestate": {"type": "string"},
        },
    }


def _key_schema(spec: EventSpec) -> dict[str, Any]:
    if spec.topic.startswith("partner."):
        return {"type": "string", "description": "as the partner chooses (never an identity number)"}
    return {
        "type": "string",
        "format": "uuid",
        "description": f"the {spec.key} (a pseudonymous UUID, never an identity number)",
    }


def _message(spec: EventSpec) -> dict[str, Any]:
    model_name = spec.model.__name__
    return {
        "messageId": spec.type,
        "name": spec.type,
        "title": spec.type,
        "summary": spec.summary,
        "contentType": STRUCTURED_CONTENT_TYPE,
        "headers": {"$ref": "#/components/schemas/KafkaHeaders"},
        "payload": {
            "allOf": [
                {"$ref": "#/components/schemas/CloudEvent"},
                {
                    "type": "object",
                    "required": ["type", "data"],
                    "properties": {
                        "type": {"type": "string", "const": spec.type},
                        "data": {"$ref": f"#/components/schemas/{model_name}"},
                    },
                },
            ]
        },
        "bindings": {"kafka": {"key": _key_schema(spec), "bindingVersion": KAFKA_BINDING}},
        "x-topic": spec.topic,
        "x-key": spec.key,
        "x-payload-schema": f"events/{spec.type}.json",
    }


def _dead_letter_message() -> dict[str, Any]:
    return {
        "messageId": "dead-letter",
        "name": "dead-letter",
        "title": "A message that could not be processed",
        "summary": "The original message, value, key and headers unchanged, with the reason in dlq-* headers.",
        "headers": {
            "type": "object",
            "properties": {
                "dlq-error": {"type": "string", "description": "the error, identity numbers masked"},
                "dlq-consumer": {"type": "string"},
                "dlq-original-topic": {"type": "string"},
                "dlq-original-partition": {"type": "string"},
                "dlq-original-offset": {"type": "string"},
                "dlq-attempts": {"type": "string"},
            },
        },
        "payload": {"description": "the original message's value, as received"},
    }


def build(services: ServiceConsumers) -> dict[str, Any]:
    """The AsyncAPI 2.6 document as a dict; `services` says who consumes what."""
    specs = list(CATALOGUE.values())
    consumers = consumers_by_topic(services)
    channels: dict[str, Any] = {}
    for topic in TOPICS:
        types = [s for s in specs if s.topic == topic]
        messages = [{"$ref": f"#/components/messages/{s.type}"} for s in types]
        # AsyncAPI 2 speaks from the system's side: `publish` is what others send to
        # Minzheng (the partner topics), `subscribe` is what Minzheng sends.
        incoming = topic.startswith("partner.")
        operation = {
            "operationId": ("receive-" if incoming else "send-") + topic,
            "summary": f"{'Partners publish' if incoming else 'Minzheng publishes'} {', '.join(s.type for s in types)}",
            "message": messages[0] if len(messages) == 1 else {"oneOf": messages},
        }
        channels[topic] = {
            "description": TOPIC_DESCRIPTIONS.get(topic, topic),
            "publish" if incoming else "subscribe": operation,
            "bindings": {"kafka": {"topic": topic, "bindingVersion": KAFKA_BINDING}},
            "x-producer": _producer(topic),
            "x-consumers": [*consumers.get(topic, []), *(["partners"] if topic.startswith("monitoring.") else [])],
        }
    for topic in TOPICS:
        channels[dlq(topic)] = {
            "description": (
                f"Dead-letter topic of {topic}: what its consumers could not process, after bounded retries."
            ),
            "subscribe": {
                "operationId": f"send-{dlq(topic)}",
                "summary": "Minzheng's consumers publish what they could not process",
                "message": {"$ref": "#/components/messages/dead-letter"},
            },
            "bindings": {"kafka": {"topic": dlq(topic), "bindingVersion": KAFKA_BINDING}},
        }
    return {
        "asyncapi": "2.6.0",
        "id": "urn:minzheng:events",
        "info": {
            "title": "Minzheng events",
            "version": "1.0.0",
            "description": (
                "Events between the district civil-affairs bureau's services (registry, assistance, "
                "eldercare, monitoring) and its partners, on Kafka.\n\n" + ENVELOPE_DESCRIPTION + "\n\n"
                "Generated from `shared/event_types.py` by `minzheng contracts`; do not edit by hand."
            ),
        },
        "servers": {
            "local": {
                "url": "127.0.0.1:9092",
                "protocol": "kafka",
                "description": "`make run`: the local broker (memory storage)",
            },
            "production": {
                "url": "{bootstrap}",
                "protocol": "kafka",
                "description": "Apache Kafka (KRaft); the address is the services' KAFKA_BOOTSTRAP_SERVERS",
                "variables": {"bootstrap": {"default": "kafka:9092"}},
            },
        },
        "defaultContentType": STRUCTURED_CONTENT_TYPE,
        "channels": channels,
        "components": {
            "schemas": {"CloudEvent": _envelope_schema(), "KafkaHeaders": _headers_schema(), **payload_schemas(specs)},
            "messages": {**{s.type: _message(s) for s in specs}, "dead-letter": _dead_letter_message()},
        },
    }


def event_schema(spec: EventSpec) -> dict[str, Any]:
    """The JSON Schema (2020-12) of one event type's `data`."""
    schema = spec.model.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{SCHEMA_BASE}/{spec.type}.json",
        "$comment": (
            f"`data` of the CloudEvent of type {spec.type} on topic {spec.topic}, keyed by {spec.key}. "
            "Generated by `minzheng contracts`."
        ),
        **schema,
        "title": spec.type,
        "description": spec.summary,
    }


def render_yaml(document: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


def render(services: ServiceConsumers) -> dict[Path, str]:
    """Every contract file, path (relative to the project) → text."""
    files = {ASYNCAPI_PATH: render_yaml(build(services))}
    for spec in CATALOGUE.values():
        files[EVENTS_DIR / f"{spec.type}.json"] = json.dumps(event_schema(spec), ensure_ascii=False, indent=2) + "\n"
    return files


def write(services: ServiceConsumers, root: Path = PROJECT_DIR) -> list[Path]:
    """Write the contract files under `root`, removing schemas of event types no longer in the catalogue."""
    files = render(services)
    (root / EVENTS_DIR).mkdir(parents=True, exist_ok=True)
    for stale in (root / EVENTS_DIR).glob("*.json"):
        if stale.relative_to(root) not in files:
            stale.unlink()
    for path, text in files.items():
        (root / path).write_text(text, encoding="utf-8")
    return list(files)
