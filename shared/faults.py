"""Which failures are the world's (wait and try again) and which are the event's (dead-letter it).

A consumer that dead-letters an event because the database was restarting
stops someone's benefit from being suspended: valid events must never be
dead-lettered for a transient cause. Conversely, an event a rule refuses
will fail the same way forever, and retrying it for ever would stall its
partition. `is_transient` draws that line in one place.
"""

from __future__ import annotations

from collections.abc import Iterator

import asyncpg
import httpx
from aiokafka.errors import KafkaError
from sqlalchemy import exc as sa

# SQLSTATEs that say "try the same thing again": serialization failure, deadlock,
# the server shutting down or starting up, too many connections, lock not available.
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "57P01", "57P02", "57P03", "53300", "55P03"})
CONNECTION_SQLSTATE_CLASS = "08"  # connection exception
# Of those, the ones where the database is up and the work met other work: serialization failure, deadlock,
# lock not available.
CONCURRENCY_SQLSTATES = frozenset({"40001", "40P01", "55P03"})


def is_transient(exc: BaseException) -> bool:
    """True when `exc` (or what caused it) is a dependency being unavailable, not the event's fault."""
    return any(_transient_itself(e) for e in _causes(exc))


def met_concurrent_work(exc: BaseException) -> bool:
    """True when a transient failure is a conflict with concurrent work (the database is there), not an outage."""
    return any(
        (getattr(e, "sqlstate", None) or getattr(e, "pgcode", None)) in CONCURRENCY_SQLSTATES for e in _causes(exc)
    )


def dependency_of(exc: BaseException) -> str:
    """What a transient failure is waiting on, for readiness and the waiting metric."""
    causes = list(_causes(exc))
    if any(isinstance(e, KafkaError) for e in causes):
        return "broker"
    if any(isinstance(e, httpx.TransportError) for e in causes):
        return "http"
    return "database"


def _transient_itself(exc: BaseException) -> bool:
    if isinstance(exc, sa.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, sa.OperationalError | sa.InterfaceError | sa.TimeoutError | sa.DisconnectionError):
        return True
    # ConnectionError and TimeoutError are OSErrors: a refused or reset socket, a timed-out connect.
    if isinstance(exc, OSError | KafkaError | httpx.TransportError):
        return True
    code = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    if isinstance(code, str) and (code in TRANSIENT_SQLSTATES or code.startswith(CONNECTION_SQLSTATE_CLASS)):
        return True
    # asyncpg's own error for a lost or refused connection (ConnectionDoesNotExistError, …).
    return isinstance(exc, asyncpg.PostgresConnectionError)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc`, then what it wraps: the DBAPI error SQLAlchemy carries, and explicit `raise … from` causes.

    Implicit context (an exception raised while handling another) is not
    followed: a handler that turns a lost connection into its own error
    has decided what it means.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(seen) < 10:
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else current.__cause__
