"""Requests and tokens over the last 60 seconds, counted in one-second buckets."""

from __future__ import annotations

from collections import deque
from datetime import datetime

__all__ = ["MinuteWindow"]

#: The window's length in seconds (per-minute rate limits).
SPAN = 60


class MinuteWindow:
    """A sliding 60-second count of requests and tokens.

    Each second that saw traffic is one bucket; running totals make reads O(1) and
    expiring old buckets is O(1) amortised, so at most 60 buckets are ever kept.
    """

    __slots__ = ("_buckets", "requests", "tokens")

    def __init__(self) -> None:
        # [second, requests, tokens], oldest first.
        self._buckets: deque[list[int]] = deque()
        self.requests = 0
        self.tokens = 0

    def add(self, now: datetime, *, requests: int = 0, tokens: int = 0) -> None:
        """Count ``requests`` and ``tokens`` at ``now``."""
        second = _second(now)
        self._expire(second)
        buckets = self._buckets
        if buckets and buckets[-1][0] >= second:
            bucket = buckets[-1]  # the same second (or a clock that stepped back): no new bucket
        else:
            bucket = [second, 0, 0]
            buckets.append(bucket)
        bucket[1] += requests
        bucket[2] += tokens
        self.requests += requests
        self.tokens += tokens

    def totals(self, now: datetime) -> tuple[int, int]:
        """Requests and tokens counted within the 60 seconds up to ``now``."""
        self._expire(_second(now))
        return self.requests, self.tokens

    def _expire(self, second: int) -> None:
        buckets = self._buckets
        cutoff = second - SPAN
        while buckets and buckets[0][0] <= cutoff:
            _, requests, tokens = buckets.popleft()
            self.requests -= requests
            self.tokens -= tokens


def _second(now: datetime) -> int:
    return int(now.timestamp() // 1)
