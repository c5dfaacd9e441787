"""Two counts over a sliding time window, kept in one-second buckets.

One class serves both windows a model keeps: its outcomes (requests and failures, for the
windowed error rate) and its last minute (requests and tokens, for per-minute rate limits).
"""

from __future__ import annotations

from collections import deque

__all__ = ["SlidingWindow"]


class SlidingWindow:
    """``requests`` and one more quantity (``amount``: failures, tokens) over the last ``span`` seconds.

    Each second that saw traffic is one bucket with running totals, so memory is bounded by
    the span in seconds (not by the request rate), reads are O(1) and expiring old buckets is
    O(1) amortised. A bucket leaves the window once its second is ``span`` seconds old: the
    window holds the current second and the ``span - 1`` before it.
    """

    __slots__ = ("_buckets", "_span", "amount", "requests")

    def __init__(self) -> None:
        # [second, requests, amount], oldest first.
        self._buckets: deque[list[int]] = deque()
        self._span: float | None = None  # the span last read with, so adding expires too
        self.requests = 0
        self.amount = 0

    def add(self, stamp: float, *, requests: int = 0, amount: int = 0) -> None:
        """Count ``requests`` and ``amount`` at ``stamp`` (POSIX seconds)."""
        second = int(stamp // 1)
        buckets = self._buckets
        span = self._span
        if span is not None and buckets and buckets[0][0] <= int((stamp - span) // 1):
            self._expire(stamp - span)  # only when the oldest bucket has left: most adds need not look
        if buckets and buckets[-1][0] >= second:
            bucket = buckets[-1]  # the same second (or a clock that stepped back): no new bucket
        else:
            bucket = [second, 0, 0]
            buckets.append(bucket)
        bucket[1] += requests
        bucket[2] += amount
        self.requests += requests
        self.amount += amount

    def totals(self, stamp: float, span: float) -> tuple[int, int]:
        """Requests and amount counted within the ``span`` seconds up to ``stamp`` (POSIX seconds)."""
        self._span = span
        self._expire(stamp - span)
        return self.requests, self.amount

    def clear(self) -> None:
        """Forget everything (a model that comes back starts a new window)."""
        self._buckets.clear()
        self.requests = 0
        self.amount = 0

    def _expire(self, start: float) -> None:
        buckets = self._buckets
        cutoff = int(start // 1)
        while buckets and buckets[0][0] <= cutoff:
            _, requests, amount = buckets.popleft()
            self.requests -= requests
            self.amount -= amount

    def __len__(self) -> int:
        return self.requests
