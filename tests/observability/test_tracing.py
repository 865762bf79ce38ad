"""One trace from an HTTP request at the registry, through its outbox and Kafka, to the other services' handlers."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from shared import tracing
from shared.settings import Settings
from tests.support import Stack, eventually, new_id_number


@pytest.fixture
def spans(stack: Stack) -> Iterator[InMemorySpanExporter]:
    """Every span the four running services finish during the test."""
    exporter = InMemorySpanExporter()
    for svc in stack.services.values():
        svc.state.tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()  # the processors stay attached but export nothing more


def _hex(n: int, width: int) -> str:
    return format(n, f"0{width}x")


async def test_trace_continues_from_registry_request_to_consumers_in_other_services(
    stack: Stack, spans: InMemorySpanExporter
) -> None:
    trace_id, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    headers = {"traceparent": f"00-{trace_id}-{caller_span}-01"}
    async with stack["registry"].client() as registry:
        r = await registry.post(
            "/v1/persons",
            json={"id_number": new_id_number(), "name": "李建国", "hukou_division": "340207003001"},
            headers=headers,
        )
    assert r.status_code == 201, r.text

    def of_trace() -> list[ReadableSpan]:
        return [s for s in spans.get_finished_spans() if _hex(s.context.trace_id, 32) == trace_id]

    def consumers() -> dict[str, ReadableSpan]:
        return {
            s.resource.attributes["service.name"]: s
            for s in of_trace()
            if s.kind == SpanKind.CONSUMER and s.attributes["cloudevents.event_type"] == "registry.person.registered"
        }

    async def every_service_consumed() -> bool:
        return {"minzheng-assistance", "minzheng-eldercare", "minzheng-monitoring"} <= set(consumers())

    await eventually(every_service_consumed, timeout=5)

    by_kind = {s.kind: s for s in of_trace() if s.resource.attributes["service.name"] == "minzheng-registry"}
    server, producer = by_kind[SpanKind.SERVER], by_kind[SpanKind.PRODUCER]
    # The registry's request continued the caller's trace...
    assert server.name == "POST /v1/persons"
    assert server.parent is not None and _hex(server.parent.span_id, 16) == caller_span
    assert server.attributes["http.response.status_code"] == 201
    # ...the relay's publish is a child of the request that wrote the outbox row...
    assert producer.parent is not None and producer.parent.span_id == server.context.span_id
    assert producer.attributes["messaging.destination.name"] == "registry.events.v1"
    event_id = producer.attributes["messaging.message.id"]
    # ...and each consumer, in another service, is a child of that publish.
    for consumer in consumers().values():
        assert consumer.parent is not None and consumer.parent.span_id == producer.context.span_id
        assert consumer.parent.is_remote
        assert consumer.attributes["messaging.message.id"] == event_id
        assert consumer.name == "registry.events.v1 process"


async def test_request_without_traceparent_starts_a_trace_and_probes_are_not_traced(
    stack: Stack, spans: InMemorySpanExporter
) -> None:
    async with stack["monitoring"].client() as monitoring:
        assert (await monitoring.get("/healthz")).status_code == 200
        assert (await monitoring.get("/v1/records", params={"status": "active"})).status_code == 200
    finished = [
        s
        for s in spans.get_finished_spans()
        if s.kind == SpanKind.SERVER and s.resource.attributes["service.name"] == "minzheng-monitoring"
    ]
    assert [s.name for s in finished] == ["GET /v1/records"]
    assert finished[0].parent is None and finished[0].context.trace_id != 0


def test_spans_are_exported_only_when_an_otlp_endpoint_is_configured() -> None:
    off = tracing.configure(Settings(service="registry", jwt_secret="x"))
    on = tracing.configure(
        Settings(service="registry", jwt_secret="x", otel_exporter_otlp_endpoint="http://collector:4318")
    )
    try:
        # No exporter: spans are made (their context is carried) but dropped at the end.
        assert off._active_span_processor._span_processors == ()  # noqa: SLF001
        (processor,) = on._active_span_processor._span_processors  # noqa: SLF001
        assert processor.__class__.__name__ == "BatchSpanProcessor"
        assert on.resource.attributes["service.name"] == "minzheng-registry"
    finally:
        off.shutdown()
        on.shutdown()
    assert tracing.traces_url("http://collector:4318") == "http://collector:4318/v1/traces"
    assert tracing.traces_url("http://collector:4318/v1/traces/") == "http://collector:4318/v1/traces"


def test_trace_headers_round_trip_through_bytes_headers() -> None:
    tp = f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"
    ctx = tracing.extract({"TraceParent": tp.encode()})
    assert tracing.inject_headers(ctx)["traceparent"] == tp
    assert tracing.inject_headers() == {}  # outside any span there is nothing to carry
