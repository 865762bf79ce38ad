"""Whether messages are arriving steadily: the consumers and the outbox relay wait for company only then.

Under steady arrival every round of a consumer or the relay finds a few
messages, and each round pays the same fixed cost (a chunk's statements, a
locking SELECT, a broker round trip), so a short wait for more is cheaper per
message. A message after a quiet spell must not wait: the rate over a short
window tells the two apart.
"""

from __future__ import annotations

from collections import deque


class RecentArrivals:
    """How many messages arrived when, over a sliding window."""

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: deque[tuple[float, int]] = deque()  # (when, how many), oldest first

    def steady(self, count: int, now: float, *, rate: float, window: float) -> bool:
        """Note `count` messages arrived at `now`; whether over the last `window` seconds they came at `rate` a
        second or more (an empty round notes nothing, so it does not end a steady stream by itself)."""
        seen = self._seen
        if count:
            seen.append((now, count))
        while seen and seen[0][0] < now - window:
            seen.popleft()
        return sum(n for _, n in seen) >= rate * window
