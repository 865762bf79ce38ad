"""The cycle collector tuned while a service runs: looking less often, and never at what exists at startup.

A chunk of events or a request makes some hundred thousand short-lived objects
(rows, payloads, events, history), nearly all freed by reference counting.
At CPython's default young threshold (700 net allocations) the cycle collector
ran about 1,800 times per 3,000 deaths in monitoring, 15-20% of its Python time,
finding next to nothing. So while a service runs:

- the young generation is collected every `YOUNG_THRESHOLD` net allocations
  (cyclic garbage is still collected, a little later);
- what exists once the service has started (modules, the app, schemas, the
  engine, the consumers) is frozen: a full collection no longer walks it.

Both are undone when the last running service stops (tests run several
services in one process, their lifespans overlapping).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

YOUNG_THRESHOLD = 20_000

_running = 0
_saved: tuple[int, ...] = ()


@contextlib.contextmanager
def tuned_collector() -> Iterator[None]:
    """While inside: the young threshold at least `YOUNG_THRESHOLD`, startup objects frozen; restored after."""
    global _running, _saved  # noqa: PLW0603 - one collector per process, shared by the services it runs
    if _running == 0:
        _saved = gc.get_threshold()
        gc.set_threshold(max(YOUNG_THRESHOLD, _saved[0]), *_saved[1:])
    _running += 1
    gc.freeze()
    try:
        yield
    finally:
        _running -= 1
        if _running == 0:
            gc.unfreeze()
            gc.set_threshold(*_saved)
