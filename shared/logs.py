"""Structured JSON logs (structlog) with identity numbers masked in every field.

Everything goes through one processor chain, the standard library's records
(uvicorn, aiokafka, SQLAlchemy) included, so no line leaves the process with
an unmasked identity number.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

from shared import tracing
from shared.identity import mask_text


def _mask(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: _mask(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask(v) for v in value]
    return value


def mask_identity_numbers(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    return {k: _mask(v) for k, v in event_dict.items()}


def correlation(service: str) -> Any:
    """Every line names its service, request and trace, so a line can be followed across services.

    `service` and `request_id` come from the context (bound by the lifespan and
    the request middleware; the tests run four services in one process), the
    trace from the current OpenTelemetry span. Keys are always present (null
    where there is no request or trace) so the log schema is fixed.
    """

    def add(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        trace_id, span_id = tracing.trace_id(), tracing.span_id()
        head = {
            "service": event_dict.pop("service", None) or service,
            "request_id": event_dict.pop("request_id", None),
            "trace_id": event_dict.pop("trace_id", None) or trace_id,
        }
        if span_id and "span_id" not in event_dict:
            event_dict["span_id"] = span_id
        return {**head, **event_dict}

    return add


def configure(service: str, level: str = "INFO", fmt: str = "json", stream: Any = None) -> None:
    shared_processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        correlation(service),
        mask_identity_numbers,  # last before rendering: masks exceptions' text too
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            *shared_processors[:1],
            structlog.stdlib.filter_by_level,
            *shared_processors[1:],
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared_processors,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    # alembic.runtime.migration: /readyz reads the migration state, and alembic says so at INFO each time.
    for noisy in ("aiokafka", "kafka", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
