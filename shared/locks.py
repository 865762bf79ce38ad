"""Serialize use cases on a natural key, so a check-then-insert holds under concurrency.

"Is this person already registered? If not, insert" answers wrongly when
two identical requests run at once: both see nothing and both insert (and
one fails on a unique constraint, or, where no constraint exists, both
succeed). Taking a transaction-level advisory lock on the natural key first
makes the second request wait until the first commits, and then see its row
and answer as the sequential path does (the idempotent 200 or a 409).

The lock is released at commit or rollback; keys are hashed to PostgreSQL's
64-bit advisory lock space (a collision only makes two unrelated requests wait
for each other).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_SEPARATOR = "\x1f"  # the unit separator: cannot occur in a validated key part


async def hold(session: AsyncSession, kind: str, *key: object) -> None:
    """Wait for, then hold until the transaction ends, the lock on (`kind`, `key`...)."""
    name = key_name(kind, *key)
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"), {"name": name})


def key_name(kind: str, *key: object) -> str:
    """The text a lock on (`kind`, `key`...) is hashed from, for a statement that takes the lock itself."""
    return _SEPARATOR.join([kind, *(str(k) for k in key)])
