"""create_app(): the FastAPI factory every service calls.

The engine, session factory, outbox relay and consumers are built in the
lifespan, not at import, and shut down in reverse order: consumers finish the
event in hand and commit, the relay flushes, the engine closes.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import Response

from shared import health, metrics, migrations, problems, tracing
from shared.auth import Principal, current_principal
from shared.consumer import Consumer, ConsumerRunner
from shared.db import make_engine, make_sessionmaker
from shared.outbox import OutboxRelay
from shared.settings import Settings

log = structlog.get_logger("app")


class RequestContext(BaseHTTPMiddleware):
    """Request id, trace context, access log and request metrics (labelled by route template)."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        service = request.app.state.settings.service
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        request.state.request_id = request_id
        traceparent = request.headers.get("traceparent") or tracing.new_traceparent()
        tp_token = tracing.current_traceparent.set(traceparent)
        structlog.contextvars.bind_contextvars(request_id=request_id, trace_id=tracing.trace_id(traceparent))
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            response.headers["x-request-id"] = request_id
            return response
        finally:
            elapsed = time.perf_counter() - started
            route = request.scope.get("route")
            template = getattr(route, "path", "unmatched")
            metrics.HTTP_REQUESTS.labels(service, request.method, template, str(status)).inc()
            metrics.HTTP_LATENCY.labels(service, request.method, template).observe(elapsed)
            if template not in ("/healthz", "/metrics", "/readyz"):
                log.info("request", method=request.method, route=template, status=status, ms=round(elapsed * 1000, 1))
            structlog.contextvars.clear_contextvars()
            tracing.current_traceparent.reset(tp_token)


def create_app(
    settings: Settings,
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    consumers: Sequence[Consumer] = (),
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        sessionmaker = make_sessionmaker(engine)
        app.state.engine = engine
        app.state.sessionmaker = sessionmaker
        app.state.migration_head = migrations.head(settings.service)
        app.state.relay = OutboxRelay(settings, engine, sessionmaker)
        app.state.consumers = [ConsumerRunner(settings, sessionmaker, c) for c in consumers]
        app.state.relay.start()
        if settings.consumers_enabled:
            for runner in app.state.consumers:
                runner.start()
        log.info("service started", port=settings.port)
        try:
            yield
        finally:
            for runner in app.state.consumers:
                await runner.stop()
            await app.state.relay.stop()
            await engine.dispose()
            log.info("service stopped")

    app = FastAPI(
        title=title,
        description=description,
        version="1.0.0",
        lifespan=lifespan,
        responses=problems.PROBLEM_RESPONSES,
    )
    app.state.settings = settings
    app.add_middleware(RequestContext)
    problems.install(app)
    app.include_router(health.router)
    for router in routers:
        app.include_router(router)
    return app


async def get_session(
    request: Request, principal: Annotated[Principal, Depends(current_principal)]
) -> AsyncIterator[AsyncSession]:
    """A session scoped to the caller's division; the use case commits it explicitly."""
    async with request.app.state.sessionmaker() as session:
        session.info["division"] = principal.division
        yield session


Session = Annotated[AsyncSession, Depends(get_session)]
