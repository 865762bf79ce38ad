"""create_app(): the FastAPI factory every service calls.

The engine, session factory, outbox relay and consumers are built in the
lifespan, not at import, and shut down in reverse order: consumers finish the
event in hand and commit, the relay flushes, the engine closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from pathlib import Path
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, FastAPI, Request
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import INVALID_SPAN, Span, SpanKind, Status, StatusCode
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import gc_tuning, health, inputs, metrics, migrations, problems, tracing
from shared.auth import Principal, current_principal
from shared.consumer import Consumer, ConsumerRunner
from shared.db import make_engine, make_sessionmaker, new_id
from shared.identity import mask_text
from shared.outbox import OutboxRelay
from shared.settings import Settings

log = structlog.get_logger("app")
_ACCESS_LOGGER = logging.getLogger("app")  # the standard logger behind `log`
OPERATIONS_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
# What a caller's X-Request-ID may be: it is logged, echoed and stored (audit_log.request_id is 64 characters).
_TRACE_HEADERS = frozenset({b"traceparent", b"tracestate", b"baggage"})
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:/+=-]{1,64}")


def request_id(header: str | None) -> str:
    """The caller's X-Request-ID when it is 1-64 visible ASCII characters, else a fresh one.

    An unfit id is replaced, not truncated: a truncated id would no longer be
    the one the caller holds, and two long ids could collapse into one.
    """
    return header if header is not None and _REQUEST_ID.fullmatch(header) else new_id().hex


class RequestContext:
    """ASGI middleware: request id, a server span (continuing an incoming `traceparent`), access log and metrics.

    Plain ASGI, not `BaseHTTPMiddleware`, which runs the app in a task of its
    own and streams every response through a queue between the two: per request
    that cost more than everything this middleware does. Metrics and spans are
    labelled by the route template, never the raw path: paths carry ids, and
    labels must not carry personal data.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._children: dict[tuple[str, str, str, int], tuple[Any, Any]] = {}

    def _series(self, service: str, method: str, template: str, status: int) -> tuple[Any, Any]:
        """The request counter's and latency histogram's series for these labels, looked up once and kept.

        Labels are route templates and status codes, so the set is small and bounded.
        """
        key = (service, method, template, status)
        series = self._children.get(key)
        if series is None:
            series = self._children[key] = (
                metrics.HTTP_REQUESTS.labels(service, method, template, str(status)),
                metrics.HTTP_LATENCY.labels(service, method, template),
            )
        return series

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Read from the scope itself: a Request, its Headers and its URL built per request cost more than the rest.
        method, path = scope["method"], scope["path"]
        service = scope["app"].state.settings.service
        given_id, trace_headers = _request_headers(scope)
        rid = request_id(given_id)
        scope.setdefault("state", {})["request_id"] = rid  # what `request.state.request_id` reads
        structlog.contextvars.bind_contextvars(request_id=rid, service=service)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["x-request-id"] = rid
            await send(message)

        # Probes and scrapes are not traced: they would bury the traces that matter. The span is started and made
        # current by hand, not with `start_as_current_span`, whose context manager generator cost more than the span.
        traced = path not in OPERATIONS_PATHS
        span = self._server_span(scope, method, path, trace_headers) if traced else INVALID_SPAN
        token = otel_context.attach(trace.set_span_in_context(span)) if traced else None
        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            status = 500
            tracing.mark_error(span, exc)
            raise
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            span.update_name(f"{method} {template}")
            span.set_attribute("http.route", template)
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                span.set_status(Status(StatusCode.ERROR))
            counted, timed = self._series(service, method, template, status)
            counted.inc()
            timed.observe(elapsed)
            # Asked of the standard logger first (a cached answer): below INFO, structlog would still merge the
            # context and run its level filter for a line it then drops.
            if template not in OPERATIONS_PATHS and _ACCESS_LOGGER.isEnabledFor(logging.INFO):
                ms = round(elapsed * 1000, 1)
                log.info("request", method=method, route=template, status=status, ms=ms)
            structlog.contextvars.clear_contextvars()
            if token is not None:
                span.end()
                otel_context.detach(token)

    @staticmethod
    def _server_span(scope: Scope, method: str, path: str, trace_headers: dict[str, bytes]) -> Span:
        """The request's server span, continuing an incoming `traceparent`; named by the route once routed."""
        return scope["app"].state.tracer.start_span(
            method,  # renamed to the route template once routing has run
            context=tracing.extract(trace_headers) if trace_headers else Context(),
            kind=SpanKind.SERVER,
            attributes={
                "http.request.method": method,
                "url.path": mask_text(path),
                "url.scheme": scope.get("scheme", "http"),
            },
            record_exception=False,
            set_status_on_exception=False,
        )


def _request_headers(scope: Scope) -> tuple[str | None, dict[str, bytes]]:
    """The caller's X-Request-ID and the W3C trace headers, in one pass over the raw header list."""
    given: str | None = None
    trace_headers: dict[str, bytes] = {}
    for name, value in scope["headers"]:
        if name == b"x-request-id" and given is None:  # the first, as `Headers.get` answers
            given = value.decode("latin-1")
        elif name in _TRACE_HEADERS:
            trace_headers[name.decode("latin-1")] = value
    return given, trace_headers


def background_task(
    name: str, work: Callable[[FastAPI], Awaitable[None]], *, enabled: Callable[[Settings], bool] = lambda _: True
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """A service lifespan running `work(app)` (a daily run, say) as a task while the service runs, when `enabled`.

    The task is cancelled when the service stops, before the consumers and the relay.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not enabled(app.state.settings):
            yield
            return
        task = asyncio.create_task(work(app), name=name)
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return lifespan


def create_app(
    settings: Settings,
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    migrations_dir: Path,
    consumers: Sequence[Consumer] = (),
    service_lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Bound here, the service name reaches every log line of the relay and consumer tasks.
        structlog.contextvars.bind_contextvars(service=settings.service)
        tracer_provider = app.state.tracer_provider = tracing.configure(settings)
        tracer = app.state.tracer = tracing.tracer(tracer_provider)
        engine = make_engine(settings.database_url)
        sessionmaker = make_sessionmaker(engine)
        app.state.engine = engine
        app.state.sessionmaker = sessionmaker
        app.state.migrations_dir = migrations_dir
        app.state.migration_head = migrations.head(migrations_dir)
        app.state.relay = OutboxRelay(settings, engine, sessionmaker, tracer=tracer)
        app.state.consumers = [ConsumerRunner(settings, sessionmaker, c, tracer=tracer) for c in consumers]
        app.state.relay.start()
        if settings.consumers_enabled:
            for runner in app.state.consumers:
                runner.start()
        log.info("service started", port=settings.port)
        try:
            # The service's own background work runs inside the platform's, with the database and relay up;
            # the cyclic collector is tuned while the service runs (shared/gc_tuning.py).
            with gc_tuning.tuned_collector():
                async with service_lifespan(app) if service_lifespan else nullcontext():
                    yield
        finally:
            # uvicorn has stopped taking requests and finished those in flight.
            # Consumers stop side by side (each finishes its transaction in hand and
            # commits offsets), then the relay flushes what they and the requests wrote.
            # Both share one grace period, so the process exits within it.
            loop = asyncio.get_running_loop()
            deadline = loop.time() + settings.shutdown_grace_seconds
            await asyncio.gather(*(runner.stop(timeout=deadline - loop.time()) for runner in app.state.consumers))
            await app.state.relay.stop(timeout=deadline - loop.time())
            await engine.dispose()
            log.info("service stopped")
            tracer_provider.shutdown()  # exports what is still buffered

    app = FastAPI(
        # FastAPI's own OpenTelemetry instrumentation off: RequestContext makes the service's spans on its own
        # provider, and FastAPI's looked up the global providers on every request to find it had none (~3% of a read).
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
        title=title,
        description=description,
        version="1.0.0",
        lifespan=lifespan,
        responses=problems.PROBLEM_RESPONSES,
        # No app-wide dependency: each costs a resolution on every request. The check that a query names only
        # documented parameters is made by the bearer dependency of every API route and by the probes' router.
    )
    app.state.settings = settings
    # Added first, so it runs inside RequestContext: refused requests are logged and counted too.
    app.add_middleware(inputs.RefuseUnstorableText, problem=problems.unstorable_text_problem)
    app.add_middleware(RequestContext)
    problems.install(app)
    app.include_router(health.router)
    for router in routers:
        app.include_router(router)
    _document_problems(app)
    return app


def _document_problems(app: FastAPI) -> None:
    """Make OpenAPI say what is sent: problem responses as `application/problem+json`, none on the probes.

    FastAPI puts a response model's schema under `application/json`; errors
    are served as `application/problem+json` (RFC 9457), so the schema moves
    there. The probes and /metrics take no token and no input.
    """
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        for path, operations in schema.get("paths", {}).items():
            for operation in operations.values():
                responses = operation.get("responses", {})
                for code in [c for c in responses if c.isdigit() and int(c) in problems.PROBLEM_RESPONSES]:
                    if path in OPERATIONS_PATHS:
                        del responses[code]
                        continue
                    content = responses[code].get("content", {})
                    if "application/json" in content:
                        content[problems.PROBLEM_JSON] = content.pop("application/json")
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


async def get_session(
    request: Request, principal: Annotated[Principal, Depends(current_principal)]
) -> AsyncIterator[AsyncSession]:
    """A session scoped to the caller's division; the use case commits it explicitly."""
    async with request.app.state.sessionmaker() as session:
        session.info["division"] = principal.division
        yield session


Session = Annotated[AsyncSession, Depends(get_session)]
