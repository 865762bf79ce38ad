"""Trace context across HTTP and Kafka (W3C traceparent).

OpenTelemetry export is switched on by `OTEL_EXPORTER_OTLP_ENDPOINT`; without
it nothing is exported and these helpers carry no context.
"""

from __future__ import annotations

from contextvars import ContextVar

current_traceparent: ContextVar[str | None] = ContextVar("current_traceparent", default=None)


def inject_headers() -> dict[str, str]:
    tp = current_traceparent.get()
    return {"traceparent": tp} if tp else {}


def new_traceparent() -> str:
    import secrets

    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def trace_id(traceparent: str | None) -> str | None:
    if not traceparent:
        return None
    parts = traceparent.split("-")
    return parts[1] if len(parts) >= 3 else None
