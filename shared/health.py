"""/healthz (liveness), /readyz (database, migrations; broker, backlog, lag, waiting consumers reported), /metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from shared import metrics, migrations, outbox, query_names

# The probes take no token, so they check their query here (shared/query_names.py), as every API route does.
router = APIRouter(tags=["operations"], dependencies=[Depends(query_names.refuse_unknown)])


@router.get("/healthz", summary="Liveness: the process answers; no dependency is touched")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: database answers and migrations are current")
async def readyz(request: Request) -> JSONResponse:
    state = request.app.state
    body: dict[str, Any] = {"service": state.settings.service}
    ready = True
    try:
        async with state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            current = await migrations.current(conn)
        expected = state.migration_head
        where = migrations.state(state.migrations_dir, current)
        body["database"] = {"status": "up", "migration": current, "expected": expected, "schema": where}
        if where in ("empty", "pending"):
            ready = False
            body["database"]["status"] = "migrations pending"
    except Exception as exc:
        ready = False
        body["database"] = {"status": "down", "error": type(exc).__name__}
    # Reported, never failing readiness: the outbox absorbs a broker outage.
    relay = state.relay
    body["broker"] = {"status": "up" if relay.broker_up else "unknown_or_down"}
    if body["database"]["status"] != "down":
        try:
            async with state.sessionmaker() as session:
                body["outbox_backlog"] = await outbox.backlog(session)
            metrics.OUTBOX_BACKLOG.labels(state.settings.service).set(body["outbox_backlog"])
        except Exception:
            body["outbox_backlog"] = None
    body["outbox_relay"] = {"leader": relay.is_leader}
    # A consumer waiting for a dependency says so (and on what); it does not by itself take
    # the service out of rotation: when the database is down the check above already does.
    body["consumers"] = {r.spec.name: r.status() for r in state.consumers}
    body["status"] = "ready" if ready else "not ready"
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics", summary="Prometheus metrics")
async def metrics_endpoint() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
