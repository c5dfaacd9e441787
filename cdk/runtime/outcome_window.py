"""Requests and failures over a sliding time window, counted in one-second buckets."""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta

__all__ = ["OutcomeWindow"]


class OutcomeWindow:
    """The windowed error rate's counts.

    Outcomes are folded into one bucket per second with running totals, so memory is
    bounded by the window's length in seconds (not by the request rate) and reading the
    counts is O(1) amortised — a busy model does not make every selection slower.
    """

    __slots__ = ("_buckets", "failures", "requests")

    def __init__(self) -> None:
        # [second, requests, failures], oldest first.
        self._buckets: deque[list[int]] = deque()
        self.requests = 0
        self.failures = 0

    def record(self, now: datetime, ok: bool) -> None:
        """Count one outcome at ``now``."""
        second = int(now.timestamp() // 1)
        buckets = self._buckets
        if buckets and buckets[-1][0] >= second:
            bucket = buckets[-1]  # the same second (or a clock that stepped back)
        else:
            bucket = [second, 0, 0]
            buckets.append(bucket)
        bucket[1] += 1
        self.requests += 1
        if not ok:
            bucket[2] += 1
            self.failures += 1

    def counts(self, now: datetime, span: timedelta) -> tuple[int, int]:
        """Requests and failures within ``span`` before ``now``."""
        cutoff = (now - span).timestamp()
        buckets = self._buckets
        # A bucket covers [second, second + 1); drop it once all of it is older than the cutoff.
        while buckets and buckets[0][0] + 1 <= cutoff:
            _, requests, failures = buckets.popleft()
            self.requests -= requests
            self.failures -= failures
        return self.requests, self.failures

    def clear(self) -> None:
        """Forget every outcome (a model that comes back starts a new window)."""
        self._buckets.clear()
        self.requests = 0
        self.failures = 0

    def __len__(self) -> int:
        return self.requests
