"""Audit log of reads of personal records: who, when, which person, which endpoint."""

from __future__ import annotations

import uuid

from fastapi import Request
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import Principal
from shared.db import audit_log


async def record_read(
    session: AsyncSession,
    principal: Principal,
    request: Request,
    person_ids: list[uuid.UUID] | uuid.UUID | None,
    *,
    subject: str | None = None,
    action: str = "read",
) -> None:
    """Write one audit row per person read; committed with the request."""
    ids = person_ids if isinstance(person_ids, list) else [person_ids]
    rows = [
        {
            "actor": principal.sub,
            "division": principal.division,
            "action": action,
            "endpoint": f"{request.method} {request.url.path}",
            "person_id": pid,
            "subject": subject,
            "request_id": getattr(request.state, "request_id", None),
        }
        for pid in ids
    ]
    if rows:
        await session.execute(insert(audit_log), rows)
