"""Tracing (OpenTelemetry): one trace from an HTTP request through the outbox and Kafka to every consumer.

Each service gets its own SDK `TracerProvider` in its lifespan. Spans are
always made, so the W3C trace context is carried across HTTP and Kafka and
every log line can name its trace; they are exported (OTLP over HTTP) only
when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, otherwise they are dropped.

The path of the context:
- the request middleware opens a server span, continuing an incoming
  `traceparent` header if there is one;
- `publish()` stores the current context (`inject_headers()`) in the outbox
  row's `headers`;
- the relay opens a producer span, child of that stored context, and sends
  its own context in the Kafka message's `traceparent` header;
- the consumer opens a consumer span, child of the message's context, around
  the handler and its database transaction.

A provider belongs to its app (`app.state.tracer_provider`), not to the
process, because the tests run the four services, and sometimes a second
instance of one, in one process; the relay and the consumers are handed its
tracer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from shared.identity import mask_text
from shared.settings import Settings

INSTRUMENTATION = "minzheng"


def configure(settings: Settings, exporter: SpanExporter | None = None) -> TracerProvider:
    """Make the service's tracer provider; export to the OTLP endpoint if one is configured."""
    provider = TracerProvider(
        resource=Resource.create(
            {
                "service.name": settings.otel_service_name,
                "service.namespace": "minzheng",
                "service.version": "1.0.0",
            }
        )
    )
    if exporter is None and settings.otel_exporter_otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=traces_url(settings.otel_exporter_otlp_endpoint))
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def traces_url(endpoint: str) -> str:
    """The OTLP/HTTP traces URL for a base endpoint, as the OTLP exporter spec derives it."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith("/v1/traces") else f"{endpoint}/v1/traces"


def tracer(provider: TracerProvider | None = None) -> trace.Tracer:
    """A tracer from the service's provider; without one, the API's (no-op unless set globally)."""
    return (provider or trace.get_tracer_provider()).get_tracer(INSTRUMENTATION)


# -- carrying the context -------------------------------------------------------


def inject_headers(context: Context | None = None) -> dict[str, str]:
    """The current trace context as W3C headers (`traceparent`, `tracestate`), for an outbox row or a call."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=context)
    return carrier


def extract(headers: Mapping[str, Any] | None) -> Context:
    """The trace context carried by headers (str or bytes values, any case); empty if none."""
    carrier: dict[str, str] = {}
    for k, v in (headers or {}).items():
        if v is None:
            continue
        carrier[k.lower()] = v.decode(errors="replace") if isinstance(v, bytes) else str(v)
    return propagate.extract(carrier)


def trace_id() -> str | None:
    """The current trace id as 32 hex digits, or None outside any span."""
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None


def span_id() -> str | None:
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.span_id, "016x") if ctx.is_valid else None


@contextmanager
def consumer_span(
    tracer: trace.Tracer,
    *,
    topic: str,
    group: str,
    event_id: str,
    event_type: str,
    partition: int,
    offset: int,
    headers: Mapping[str, Any] | None,
) -> Iterator[Span]:
    """A consumer span for one event, child of the producer's context carried in the message."""
    with tracer.start_as_current_span(
        f"{topic} process",
        context=extract(headers),
        kind=SpanKind.CONSUMER,
        attributes={
            "messaging.system": "kafka",
            "messaging.operation.type": "process",
            "messaging.destination.name": topic,
            "messaging.consumer.group.name": group,
            "messaging.message.id": event_id,
            "messaging.destination.partition.id": str(partition),
            "messaging.kafka.offset": offset,
            "cloudevents.event_type": event_type,
        },
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            yield span
        except Exception as exc:
            mark_error(span, exc)
            raise


@asynccontextmanager
async def batch_span(
    tracer: trace.Tracer, *, topic: str, group: str, headers: list[Mapping[str, Any]]
) -> AsyncIterator[Span]:
    """One consumer span for a chunk applied in one call, linked to each event's producer context."""
    links = [
        trace.Link(ctx) for h in headers if (ctx := trace.get_current_span(extract(h)).get_span_context()).is_valid
    ]
    with tracer.start_as_current_span(
        f"{topic} process",
        context=Context(),  # a new trace: the events' own traces are linked, not continued
        kind=SpanKind.CONSUMER,
        links=links,
        attributes={
            "messaging.system": "kafka",
            "messaging.operation.type": "process",
            "messaging.destination.name": topic,
            "messaging.consumer.group.name": group,
            "messaging.batch.message_count": len(headers),
        },
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            yield span
        except Exception as exc:
            mark_error(span, exc)
            raise


def mark_error(span: Span, exc: Exception) -> None:
    """Record a failure on a span with the message masked: spans leave the process like logs do."""
    span.add_event(
        "exception",
        {"exception.type": type(exc).__qualname__, "exception.message": mask_text(str(exc))[:500]},
    )
    span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
