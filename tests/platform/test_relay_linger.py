"""The relay lingers before a round only under steady arrival, never for a lone event."""

from __future__ import annotations

from shared.outbox import OutboxRelay
from shared.settings import Settings


def test_the_relay_lingers_only_while_rows_keep_coming() -> None:
    relay = OutboxRelay(Settings(service="registry"), None, None)  # type: ignore[arg-type]  # never started
    # A lone event now and then: the next one is taken at once.
    assert not relay._steady(1, 100.0)  # noqa: SLF001
    assert not relay._steady(1, 100.3)  # noqa: SLF001
    # Rows at 100 a second or more over half a second: wait for company.
    assert not relay._steady(20, 100.4)  # noqa: SLF001
    assert relay._steady(30, 100.45)  # noqa: SLF001
    assert relay._steady(0, 100.6)  # noqa: SLF001 - an empty round does not end a steady stream
    # Half a second of nothing later: a quiet system again.
    assert not relay._steady(0, 101.0)  # noqa: SLF001
