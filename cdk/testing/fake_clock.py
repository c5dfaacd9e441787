"""A clock that moves only when a test says so: sleepers wake when ``advance`` passes them."""

from __future__ import annotations

import heapq
import itertools
from datetime import UTC, datetime, timedelta

import anyio

__all__ = ["FakeClock"]


class FakeClock:
    """A clock that moves only when told to; sleepers wake when ``advance`` passes them.

    ``advance`` is async so that woken tasks get to run before it returns, which keeps
    tests free of wall-clock waits and of ordering races.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)
        if self._now.tzinfo is None:
            raise ValueError("FakeClock start must be timezone-aware")
        self._mono = 0.0
        self._sleepers: list[tuple[float, int, anyio.Event]] = []
        self._seq = itertools.count()

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    @property
    def sleepers(self) -> int:
        """How many tasks are waiting on this clock."""
        return sum(1 for _, _, ev in self._sleepers if not ev.is_set())

    @property
    def next_wakeup(self) -> float | None:
        """The monotonic time the earliest waiting sleeper wakes at, or None when none waits."""
        pending = [when for when, _, ev in self._sleepers if not ev.is_set()]
        return min(pending) if pending else None

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await anyio.lowlevel.checkpoint()
            return
        event = anyio.Event()
        heapq.heappush(self._sleepers, (self._mono + seconds, next(self._seq), event))
        try:
            await event.wait()
        finally:
            event.set()  # a sleeper cancelled early no longer counts as waiting (nor as next to wake)

    def set(self, when: datetime) -> None:
        """Jump to an absolute time without waking anyone (setup only)."""
        self._now = when

    def advance_nowait(self, by: float | timedelta = 0.0) -> None:
        """Move time forward and wake the sleepers it passes, without letting them run yet.

        For a test of what a woken task does when something else happens before it resumes
        (a mesh closing just as a background job wakes up).
        """
        seconds = by.total_seconds() if isinstance(by, timedelta) else float(by)
        if seconds < 0:
            raise ValueError("time only moves forward")
        target = self._mono + seconds
        while self._sleepers and self._sleepers[0][0] <= target:
            heapq.heappop(self._sleepers)[2].set()
        self._now += timedelta(seconds=target - self._mono)
        self._mono = target

    async def advance(self, by: float | timedelta = 0.0) -> None:
        """Move time forward, waking each sleeper whose deadline has come, in order."""
        seconds = by.total_seconds() if isinstance(by, timedelta) else float(by)
        if seconds < 0:
            raise ValueError("time only moves forward")
        target = self._mono + seconds
        while self._sleepers and self._sleepers[0][0] <= target:
            deadline, _, event = heapq.heappop(self._sleepers)
            self._now += timedelta(seconds=deadline - self._mono)
            self._mono = deadline
            event.set()
            await _let_others_run()
        self._now += timedelta(seconds=target - self._mono)
        self._mono = target
        await _let_others_run()


async def _let_others_run() -> None:
    # A few checkpoints let woken tasks run to their next await before we go on.
    for _ in range(5):
        await anyio.lowlevel.checkpoint()
